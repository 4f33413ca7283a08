//! The seed guide's setup end to end: its SMS and WhatsApp payload templates, verbatim,
//! on `custom` providers pointed at the fake D7 gateway, drive complete sign-ins.

use idgate_core::application::{LoginFlow, SecondFactor};
use serde_json::{Value, json};

use crate::fake_d7::{self, FakeGateway};
use crate::harness::{TestServer, code_in};
use crate::oidc::{Browser, REDIRECT, app_with, authorize_url, query_param, server, user};
use crate::oidc_flows::{PASSWORD, exchange, jwt_claims, outbox_count};

const SEED_SMS: &str = include_str!("../../../idgate-notify/fixtures/seed-d7-sms.json.tmpl");
const SEED_WA: &str = include_str!("../../../idgate-notify/fixtures/seed-d7-whatsapp.json.tmpl");

async fn provider(s: &TestServer, token: &str, channel: &str, body: Value) {
    let r = s
        .http
        .post(s.url(&format!("/api/v1/channels/{channel}/providers")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_guide_templates_on_custom_providers_drive_full_sign_ins() {
    let s = server().await;
    let g = FakeGateway::start().await;
    let admin = s.admin_token().await;
    provider(
        &s,
        &admin,
        "sms",
        json!({"name": "wso2-guide-sms", "kind": "custom", "settings": {
            "url": format!("{}/messages/v1/send", g.base), "content_type": "JSON", "method": "POST",
            "payload_template": SEED_SMS},
            "secrets": {"headers": format!("Authorization: Bearer {}", fake_d7::TOKEN)}}),
    )
    .await;
    provider(
        &s,
        &admin,
        "whatsapp",
        json!({"name": "wso2-guide-wa", "kind": "custom", "settings": {
            "url": format!("{}/whatsapp/v2/send", g.base), "content_type": "JSON",
            "payload_template": SEED_WA},
            "secrets": {"headers": format!("Authorization: Bearer {}", fake_d7::TOKEN)}}),
    )
    .await;
    let mobile = "+14155550150";
    user(&s, "mia", PASSWORD, Some(mobile)).await;
    let flow = LoginFlow {
        second: vec![SecondFactor::SmsOtp, SecondFactor::WhatsappOtp],
        ..LoginFlow::default()
    };
    let client = app_with(&s, flow, false).await;
    let before_outbox = outbox_count(&s).await;

    // SMS: password, then the code D7 received in the guide's SMS body.
    let mut b = Browser::new();
    b.get(&authorize_url(&s, &client.0, &[])).await;
    let page = b.get(&s.url("/login")).await;
    let code_page = b
        .post(
            &s.url("/login/password"),
            &[
                ("csrf", &page.csrf()),
                ("username", "mia"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(code_page.status, 200, "{}", code_page.body);
    assert!(code_page.body.contains("••••••0150"), "{}", code_page.body);
    let got = g.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/messages/v1/send");
    assert_eq!(got[0].status, 200, "D7 accepted it: {}", got[0].body);
    let body = got[0].json();
    assert_eq!(body["messages"][0]["recipients"], json!([mobile]));
    assert_eq!(body["messages"][0]["originator"], "WSO2");
    let content = body["messages"][0]["content"].as_str().unwrap();
    assert!(
        content.starts_with("Your OTP code for login is: "),
        "{content}"
    );
    let code = code_in(content, 6);
    let done = b
        .post(
            &s.url("/login/code"),
            &[("csrf", &code_page.csrf()), ("code", &code)],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let loc = done.location.unwrap();
    assert!(loc.starts_with(REDIRECT));
    let t = exchange(&s, &client, &query_param(&loc, "code").unwrap()).await;
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(
        jwt_claims(t.body["id_token"].as_str().unwrap())["amr"],
        json!(["pwd", "sms", "mfa"])
    );

    // WhatsApp: the user switches; the code is the template button's payload.
    let mut b = Browser::new();
    b.get(&authorize_url(&s, &client.0, &[])).await;
    let page = b.get(&s.url("/login")).await;
    let code_page = b
        .post(
            &s.url("/login/password"),
            &[
                ("csrf", &page.csrf()),
                ("username", "mia"),
                ("password", PASSWORD),
            ],
        )
        .await;
    // The SMS code's resend cooldown applies to a switch too.
    s.clock.advance(31);
    let wa_page = b
        .post(
            &s.url("/login/switch"),
            &[("csrf", &code_page.csrf()), ("factor", "whatsapp-otp")],
        )
        .await;
    assert_eq!(wa_page.status, 200, "{}", wa_page.body);
    assert!(wa_page.body.contains("by WhatsApp"), "{}", wa_page.body);
    let last = g.received().pop().unwrap();
    assert_eq!(last.path, "/whatsapp/v2/send");
    assert_eq!(last.status, 200, "D7 accepted it: {}", last.body);
    let j = last.json();
    assert_eq!(
        j["messages"][0]["recipients"][0]["recipient"],
        json!(mobile)
    );
    let code = j["messages"][0]["content"]["template"]["buttons"]["actions"][0]["action_payload"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(code.len(), 6);
    let done = b
        .post(
            &s.url("/login/code"),
            &[("csrf", &wa_page.csrf()), ("code", &code)],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let t = exchange(
        &s,
        &client,
        &query_param(&done.location.unwrap(), "code").unwrap(),
    )
    .await;
    assert_eq!(
        jwt_claims(t.body["id_token"].as_str().unwrap())["amr"],
        json!(["pwd", "otp", "mfa"])
    );
    assert_eq!(
        outbox_count(&s).await,
        before_outbox,
        "the providers sent, not the dev outbox"
    );
    s.stop().await;
}
