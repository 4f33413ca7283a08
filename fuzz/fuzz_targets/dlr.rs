//! Delivery-report parsing: any body, as D7 (JSON or form) and as Twilio (form).
#![no_main]

use idgate_notify::dlr::{map_d7_status, map_twilio_status, parse_d7, parse_twilio};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_d7(data);
    let _ = parse_twilio(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = map_d7_status(s);
        let _ = map_twilio_status(s);
    }
});
