//! The message-template renderer (WSO2 placeholders): any text parsed, and accepted
//! templates rendered (and redacted) with any values.
#![no_main]

use idgate_notify::message_template::{MessageContext, MessageTemplate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.split('\0');
    let template = parts.next().unwrap_or_default();
    let code = parts.next().unwrap_or("123456");
    let app = parts.next().unwrap_or("Shop");
    let user = parts.next().unwrap_or("alice");
    let Ok(t) = MessageTemplate::parse(template) else {
        return;
    };
    let ctx = MessageContext {
        code,
        expiry_minutes: u32::from(data.first().copied().unwrap_or(5)),
        application_name: app,
        user_name: user,
        organization_name: "Org",
        current_year: 2026,
    };
    let _ = t.render(&ctx);
    let _ = t.render_redacted(&ctx);
    let _ = t.is_code_only();
});
