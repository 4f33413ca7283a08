//! Phone-number parsing: any input, with or without a default region. An accepted
//! number is E.164, parses back to itself, and its masked forms hide it.
#![no_main]

use idgate_core::phone::PhoneNumber;
use libfuzzer_sys::fuzz_target;

const REGIONS: [Option<&str>; 5] = [None, Some("US"), Some("LK"), Some("GB"), Some("IN")];

fuzz_target!(|data: &[u8]| {
    let Some((&r, rest)) = data.split_first() else {
        return;
    };
    let Ok(input) = std::str::from_utf8(rest) else {
        return;
    };
    let region = REGIONS[usize::from(r) % REGIONS.len()];
    let Ok(n) = PhoneNumber::parse(input, region) else {
        return;
    };
    let e164 = n.as_str();
    assert!(e164.starts_with('+'), "{e164}");
    assert!(e164[1..].chars().all(|c| c.is_ascii_digit()), "{e164}");
    let again = PhoneNumber::parse(e164, None).expect("an E.164 number parses again");
    assert_eq!(again.as_str(), e164);
    assert!(
        !n.masked().contains(&e164[1..]),
        "masked form shows the number"
    );
    assert!(!n.masked_last4().contains(&e164[1..]));
    let _ = idgate_core::limits::prefix_of(&n, 7);
});
