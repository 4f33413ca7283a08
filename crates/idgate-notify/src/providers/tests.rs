//! The kinds' validation, and the requests the seed guide's templates produce.

use idgate_core::otp::Channel;
use idgate_core::phone::PhoneNumber;
use serde_json::{Value, json};

use super::*;

const SEED_SMS: &str = include_str!("../../fixtures/seed-d7-sms.json.tmpl");
const SEED_WHATSAPP: &str = include_str!("../../fixtures/seed-d7-whatsapp.json.tmpl");

fn secrets(pairs: &[(&str, &str)]) -> ProviderSecrets {
    let mut s = ProviderSecrets::default();
    for (k, v) in pairs {
        s.set(k, v.to_string());
    }
    s
}

fn message(text: &str, code: &str) -> crate::provider::OutgoingMessage {
    crate::provider::OutgoingMessage::new(
        "msg-1",
        Channel::Sms,
        PhoneNumber::parse("+94771234567", None).unwrap(),
        text,
        code,
    )
}

fn custom(settings: Value, headers: &str) -> CustomProvider {
    let sec = secrets(&[("headers", headers)]);
    let (spec, _) =
        ProviderSpec::validate(ProviderKind::Custom, Channel::Sms, &settings, &sec).unwrap();
    let ProviderSpec::Custom(s) = spec else {
        panic!()
    };
    CustomProvider::new("c", s, &sec, reqwest::Client::new()).unwrap()
}

fn body_json(req: &crate::http_client::HttpRequest) -> Value {
    match &req.body {
        crate::http_client::Body::Json(b) => serde_json::from_str(b).unwrap(),
        _ => panic!("not JSON"),
    }
}

#[test]
fn seed_sms_template_verbatim() {
    let p = custom(
        json!({"url": "https://api.d7networks.com/messages/v1/send", "content_type": "JSON", "method": "POST", "payload_template": SEED_SMS}),
        "Authorization: Bearer tok",
    );
    let req = p.request(&message("Your code is 123456.", "123456"));
    let b = body_json(&req);
    assert_eq!(b["messages"][0]["recipients"], json!(["+94771234567"]));
    assert_eq!(
        b["messages"][0]["content"],
        "Your OTP code for login is: \"Your code is 123456."
    );
    assert_eq!(
        req.headers,
        vec![("Authorization".to_string(), "Bearer tok".to_string())]
    );
}

#[test]
fn seed_whatsapp_template_verbatim() {
    let p = custom(
        json!({"url": "https://api.d7networks.com/whatsapp/v2/send", "content_type": "json", "payload_template": SEED_WHATSAPP}),
        "Authorization: Bearer tok",
    );
    let b = body_json(&p.request(&message("482913", "482913")));
    let m = &b["messages"][0];
    assert_eq!(
        m["content"]["template"]["buttons"]["actions"][0]["action_payload"],
        "482913"
    );
    assert_eq!(m["recipients"][0]["recipient"], "+94771234567");
}

#[test]
fn tricky_text_stays_valid_json_and_form_encodes_plus() {
    let p = custom(
        json!({"url": "https://gw.example/send", "payload_template": "{\"to\": {{mobile}}, \"text\": {{body}}}"}),
        "",
    );
    let text = "Code \"1\\2\"\nnext line 123456";
    let b = body_json(&p.request(&message(text, "123456")));
    assert_eq!(b["text"], text);
    let f = custom(
        json!({"url": "https://gw.example/send", "content_type": "FORM", "payload_template": "to={{mobile}}&text={{body}}"}),
        "",
    );
    match f.request(&message("a b", "1")).body {
        crate::http_client::Body::Form(s) => assert_eq!(s, "to=%2B94771234567&text=a+b"),
        _ => panic!(),
    }
    let g = custom(
        json!({"url": "https://gw.example/send?to={{mobile}}&text={{body}}", "method": "GET"}),
        "",
    );
    let r = g.request(&message("a b", "1"));
    assert_eq!(
        r.url,
        "https://gw.example/send?to=%2B94771234567&text=a%20b"
    );
    assert!(matches!(r.body, crate::http_client::Body::None));
}

#[test]
fn invalid_settings_name_the_field() {
    let v = |kind, ch, s: Value, sec: &[(&str, &str)]| {
        ProviderSpec::validate(kind, ch, &s, &secrets(sec))
            .map(|_| ())
            .unwrap_err()
    };
    let e = v(
        ProviderKind::Custom,
        Channel::Sms,
        json!({"url": "https://x.example", "payload_template": "{\"a\": {{body}} {{mobile}}}"}),
        &[],
    );
    assert_eq!(e.field, "settings.payload_template");
    assert!(e.detail.contains("line 1, column"), "{}", e.detail);
    let e = v(
        ProviderKind::Custom,
        Channel::Sms,
        json!({"url": "ftp://x.example", "payload_template": "{}"}),
        &[],
    );
    assert_eq!(e.field, "settings.url");
    let e = v(
        ProviderKind::Custom,
        Channel::Sms,
        json!({"url": "https://x.example", "payload_template": "{\"to\": {{mobile}}, \"t\": {{body}}}"}),
        &[("headers", "Authorization Bearer x")],
    );
    assert_eq!(e.field, "secrets.headers");
    let e = v(
        ProviderKind::D7Sms,
        Channel::Sms,
        json!({"originator": "SignOTP"}),
        &[],
    );
    assert_eq!(e.field, "secrets.api_token");
    let e = v(
        ProviderKind::D7Sms,
        Channel::Sms,
        json!({"originator": "TooLongSenderId"}),
        &[("api_token", "t")],
    );
    assert_eq!(e.field, "settings.originator");
    let e = v(
        ProviderKind::D7Sms,
        Channel::Sms,
        json!({"originator": "X", "colour": 1}),
        &[("api_token", "t")],
    );
    assert_eq!(e.field, "settings.colour");
    let e = v(
        ProviderKind::D7Sms,
        Channel::Whatsapp,
        json!({"originator": "X"}),
        &[("api_token", "t")],
    );
    assert_eq!(e.field, "kind");
    let e = v(
        ProviderKind::Twilio,
        Channel::Sms,
        json!({"account_sid": "AC1"}),
        &[("auth_token", "t")],
    );
    assert_eq!(e.field, "settings.from");
    let e = v(
        ProviderKind::Vonage,
        Channel::Sms,
        json!({"api_key": "k", "from": "X"}),
        &[("api_secret", "s"), ("api_token", "x")],
    );
    assert_eq!(e.field, "secrets.api_token");
}

#[test]
fn d7_presets_build_documented_bodies() {
    let sec = secrets(&[("api_token", "tok")]);
    let (spec, norm) = ProviderSpec::validate(
        ProviderKind::D7Sms,
        Channel::Sms,
        &json!({"originator": "SignOTP"}),
        &sec,
    )
    .unwrap();
    assert_eq!(norm["base_url"], D7_BASE_URL);
    assert_eq!(norm["data_coding"], "auto");
    let ProviderSpec::D7Sms(s) = spec else {
        panic!()
    };
    let p = D7SmsProvider::new(
        "d7",
        s,
        "tok".into(),
        Some("https://id.example/hooks/d7/p/s".into()),
        reqwest::Client::new(),
    );
    let b = p.body(&message("Your code is 123456", "123456"));
    let m = &b["messages"][0];
    assert_eq!(
        (m["channel"].as_str(), m["originator"].as_str()),
        (Some("sms"), Some("SignOTP"))
    );
    assert_eq!(m["recipients"], json!(["+94771234567"]));
    assert_eq!(m["report_url"], "https://id.example/hooks/d7/p/s");

    let (spec, _) = ProviderSpec::validate(
        ProviderKind::D7Whatsapp,
        Channel::Whatsapp,
        &json!({"originator": "+971501234567", "template_id": "otp_test"}),
        &sec,
    )
    .unwrap();
    let ProviderSpec::D7Whatsapp(s) = spec else {
        panic!()
    };
    let p = D7WhatsappProvider::new("wa", s, "tok".into(), None, reqwest::Client::new());
    let b = p.body(&message("482913", "482913"));
    assert_eq!(
        b["messages"][0]["content"]["template"]["buttons"]["actions"][0]["action_payload"],
        "482913"
    );
    assert_eq!(b["messages"][0]["content"]["template"]["language"], "en");
}
