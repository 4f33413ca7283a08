//! Code generation: OS CSPRNG, one unbiased pick per character.

use crate::crypto::{CryptoError, fill_random};

const DIGITS: &[u8] = b"0123456789";
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A new code of `length` characters. Each character is drawn by rejection sampling
/// from random bytes, so every symbol is exactly equally likely (no modulo bias).
pub fn generate_code(length: u32, alphanumeric: bool) -> Result<String, CryptoError> {
    let alphabet = if alphanumeric { ALPHANUMERIC } else { DIGITS };
    let n = alphabet.len();
    // Largest multiple of n that fits in a byte: bytes at or above it are rejected.
    let limit = 256 - (256 % n);
    let mut out = String::with_capacity(length as usize);
    let mut buf = [0u8; 32];
    while out.len() < length as usize {
        fill_random(&mut buf)?;
        for &b in &buf {
            if (b as usize) < limit {
                out.push(alphabet[b as usize % n] as char);
                if out.len() == length as usize {
                    break;
                }
            }
        }
    }
    Ok(out)
}

/// What a person typed, made comparable: spaces and dashes dropped, letters uppercased
/// (alphanumeric codes are accepted case-insensitively).
pub fn normalise_input(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn codes_have_the_configured_length_and_alphabet(length in 4u32..=10, alnum: bool) {
            let code = generate_code(length, alnum).unwrap_or_default();
            prop_assert_eq!(code.len(), length as usize);
            if alnum {
                prop_assert!(code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
            } else {
                prop_assert!(code.chars().all(|c| c.is_ascii_digit()));
            }
        }
    }

    #[test]
    fn every_symbol_appears() {
        // 36 symbols over 36k draws: each expected ~1000 times; a missing symbol means a bug.
        let mut seen = std::collections::HashMap::new();
        for _ in 0..1000 {
            for c in generate_code(36, true).unwrap_or_default().chars() {
                *seen.entry(c).or_insert(0u32) += 1;
            }
        }
        assert_eq!(seen.len(), 36);
        assert!(seen.values().all(|&v| v > 700), "{seen:?}");
    }

    #[test]
    fn input_normalised() {
        assert_eq!(normalise_input(" ab-12 c3 "), "AB12C3");
    }
}
