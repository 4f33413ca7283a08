//! The provider payload-template renderer: any template text, JSON or FORM, parsed and
//! (when accepted) rendered with any values. No mobile number, message body or code can
//! make an accepted JSON template render invalid JSON.
#![no_main]

use idgate_notify::payload_template::{ContentType, PayloadTemplate, PayloadValues};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    // template \0 mobile \0 body \0 otp \0 message id
    let mut parts = text.split('\0');
    let template = parts.next().unwrap_or_default();
    let mobile = parts.next().unwrap_or("+14155550100");
    let body = parts.next().unwrap_or("Your code is 123456");
    let otp = parts.next().unwrap_or("123456");
    let message_id = parts.next().unwrap_or("m-1");
    let content_type = if mode % 2 == 0 {
        ContentType::Json
    } else {
        ContentType::Form
    };
    let Ok(t) = PayloadTemplate::parse(template, content_type) else {
        return;
    };
    let out = t.render(&PayloadValues {
        mobile,
        body,
        otp,
        message_id,
    });
    // The values must never break the JSON: if the template renders valid JSON with
    // plain values (serde_json also refuses numbers out of f64 range the template may
    // hold literally), it renders valid JSON with any values.
    if content_type == ContentType::Json {
        let plain = t.render(&PayloadValues {
            mobile: "+14155550100",
            body: "text",
            otp: "123456",
            message_id: "m",
        });
        if serde_json::from_str::<serde_json::Value>(&plain).is_ok() {
            assert!(
                serde_json::from_str::<serde_json::Value>(&out).is_ok(),
                "values broke an accepted JSON template: {out:?}"
            );
        }
    }
});
