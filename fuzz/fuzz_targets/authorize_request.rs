//! The authorize-request parser: any query string, validated for a registered client.
#![no_main]

use std::collections::HashMap;

use idgate_core::application::{Application, LoginFlow};
use idgate_oidc::authorize::{client_id, redirect_url, validate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let params: HashMap<String, String> = form_urlencoded::parse(data).into_owned().collect();
    let app = Application {
        id: "a".into(),
        client_id: "shop".into(),
        client_secret_hash: if data.len() % 2 == 0 {
            Some("h".into())
        } else {
            None
        },
        name: "Shop".into(),
        redirect_uris: vec![
            "https://shop.example.com/cb".into(),
            "http://127.0.0.1:9/cb?x=1".into(),
        ],
        post_logout_redirect_uris: vec![],
        login_flow: LoginFlow::default(),
        otp_policy: None,
        created_at: 0,
        updated_at: 0,
    };
    let _ = client_id(&params);
    let _ = validate(&params, Some(&app));
    let _ = validate(&params, None);
    if let Some(uri) = params.get("redirect_uri") {
        let _ = redirect_url(
            uri,
            &[
                ("code", "c"),
                ("state", params.get("state").map_or("", String::as_str)),
            ],
        );
    }
});
