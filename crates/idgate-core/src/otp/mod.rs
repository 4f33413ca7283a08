//! One-time codes: the policy that shapes them, their generation, and a verification's life.

pub mod code;
pub mod engine;
pub mod policy;
pub mod test_numbers;
pub mod verification;

pub use code::{generate_code, normalise_input};
pub use engine::{CheckOutcome, Issue, Issued, OtpEngine, OtpError, PendingSend};
pub use policy::{OtpPolicy, PolicyError, ResendCode};
pub use verification::{Channel, Purpose, Verification, VerificationStatus};
