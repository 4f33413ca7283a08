//! Timeouts, retries and their budget.
//!
//! A person is waiting for the code, so every send has an overall deadline per channel
//! (default 10 s). Inside it each attempt has its own timeout (default 5 s). A failure
//! that did not reach the gateway or that the gateway asks us to repeat (connect error,
//! 429, 5xx) is retried on the same provider after a jittered exponential backoff; a
//! refusal (401, 402, 4xx) moves to the next provider at once. A timeout, or a connection
//! broken after the request went out, also moves on at once: the gateway may already
//! hold the message, repeating it there could deliver it twice, and a gateway that hangs
//! would otherwise eat the budget the next provider needs. Every retry and every
//! provider sends the *same* text and code.

use std::time::Duration;

/// The knobs (config `[delivery]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempt_timeout: Duration,
    pub deadline: Duration,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Attempts on one provider before moving to the next.
    pub max_attempts_per_provider: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempt_timeout: Duration::from_secs(5),
            deadline: Duration::from_secs(10),
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
            max_attempts_per_provider: 3,
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `failed + 1` on the same provider: the exponential step,
    /// capped, with "equal jitter" (between half and all of it) so nodes that failed
    /// together do not retry together.
    pub fn backoff(&self, failed: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(failed.saturating_sub(1)));
        let step = exp.min(self.max_backoff);
        let half = step / 2;
        half + half.mul_f64(jitter_fraction())
    }
}

/// A fraction in [0, 1) from the OS random source (0.5 if it fails: jitter is not a
/// security property).
fn jitter_fraction() -> f64 {
    let mut b = [0u8; 4];
    if idgate_core::crypto::fill_random(&mut b).is_err() {
        return 0.5;
    }
    f64::from(u32::from_le_bytes(b)) / (f64::from(u32::MAX) + 1.0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = RetryPolicy::default();
        for failed in 1..10 {
            let step = p
                .initial_backoff
                .saturating_mul(2u32.pow(failed - 1))
                .min(p.max_backoff);
            let b = p.backoff(failed);
            assert!(b >= step / 2 && b <= step, "{failed}: {b:?} vs {step:?}");
        }
        assert!(p.backoff(30) <= p.max_backoff);
    }
}
