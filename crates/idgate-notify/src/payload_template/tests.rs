use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

/// The D7 guide's SMS template, byte for byte (trailing spaces included).
const SEED_SMS: &str = include_str!("../../fixtures/seed-d7-sms.json.tmpl");
/// The D7 guide's WhatsApp template, byte for byte.
const SEED_WHATSAPP: &str = include_str!("../../fixtures/seed-d7-whatsapp.json.tmpl");

const SIMPLE: &str =
    r#"{"to": {{mobile}}, "text": {{body}}, "code": {{otp}}, "ref": {{message-id}}}"#;

fn values<'a>(mobile: &'a str, body: &'a str) -> PayloadValues<'a> {
    PayloadValues {
        mobile,
        body,
        otp: "482913",
        message_id: "msg-1",
    }
}

fn json_of(template: &PayloadTemplate, v: &PayloadValues<'_>) -> Value {
    let rendered = template.render(v);
    serde_json::from_str(&rendered).unwrap_or_else(|e| panic!("{e}: {rendered}"))
}

fn invalid_json(text: &str) -> (usize, usize, String, String, Option<String>) {
    match PayloadTemplate::parse(text, ContentType::Json) {
        Err(PayloadError::InvalidJson {
            line,
            column,
            message,
            snippet,
            hint,
        }) => (line, column, message, snippet, hint),
        other => panic!("expected InvalidJson, got {other:?}"),
    }
}

#[test]
fn fixtures_are_the_seed_guide_verbatim() {
    assert!(SEED_SMS.contains("\"content\": \"Your OTP code for login is: \\{{body}},         \n"));
    assert!(SEED_SMS.contains("\"recipients\": [{{mobile}}],         \n"));
    assert!(SEED_SMS.starts_with("{   \n"));
    assert!(SEED_WHATSAPP.contains("\"action_payload\": {{body}}\n"));
    assert!(SEED_WHATSAPP.contains("\"recipient\": {{mobile}}\n"));
}

#[test]
fn seed_sms_template_works_pasted_verbatim() {
    let t = PayloadTemplate::parse(SEED_SMS, ContentType::Json).unwrap();
    assert_eq!(t.as_str(), SEED_SMS);
    let body = "Your code is 123456. \"Quoted\", back\\slash,\nnew line, ünïcödé ✓ 😀";
    let v = json_of(&t, &values("+94771234567", body));
    assert_eq!(
        v,
        json!({"messages": [{
            "originator": "WSO2",
            "recipients": ["+94771234567"],
            "content": format!("Your OTP code for login is: \"{body}"),
            "client_ref": "WSO2",
        }]})
    );
    // The rendered text around the body, as WSO2 would produce it for a plain body.
    let rendered = t.render(&values("+94771234567", "Code 123456"));
    assert!(rendered.contains("\"recipients\": [\"+94771234567\"],"));
    assert!(rendered.contains("\"content\": \"Your OTP code for login is: \\\"Code 123456\","));
}

#[test]
fn seed_whatsapp_template_works_pasted_verbatim() {
    let t = PayloadTemplate::parse(SEED_WHATSAPP, ContentType::Json).unwrap();
    let v = json_of(&t, &values("+94771234567", "482913"));
    let message = &v["messages"][0];
    assert_eq!(
        message["content"]["template"]["buttons"]["actions"][0]["action_payload"],
        "482913"
    );
    assert_eq!(message["recipients"][0]["recipient"], "+94771234567");
    assert_eq!(message["originator"], "+91 90615 255xx");
    assert_eq!(message["client_ref"], "WSO2-WA");
}

#[test]
fn json_values_are_escaped() {
    let t = PayloadTemplate::parse(SIMPLE, ContentType::Json).unwrap();
    let body = "a \"b\" \\c\n\td\u{0}\u{1f} é 😀 \u{2028}";
    assert_eq!(
        json_of(&t, &values("+1", body)),
        json!({"to": "+1", "text": body, "code": "482913", "ref": "msg-1"})
    );
    assert_eq!(
        t.render(&values("+1", "x\"y")),
        r#"{"to": "+1", "text": "x\"y", "code": "482913", "ref": "msg-1"}"#
    );
    // Placeholders as object keys work too.
    let t = PayloadTemplate::parse(r#"{ {{mobile}}: {{body}} }"#, ContentType::Json).unwrap();
    assert_eq!(json_of(&t, &values("+1", "hi")), json!({"+1": "hi"}));
}

#[test]
fn values_are_not_rescanned() {
    let t = PayloadTemplate::parse(SIMPLE, ContentType::Json).unwrap();
    let v = json_of(&t, &values("{{otp}}", "{{mobile}}"));
    assert_eq!(v["to"], "{{otp}}");
    assert_eq!(v["text"], "{{mobile}}");
}

#[test]
fn quoted_placeholder_is_refused_with_its_position_and_a_hint() {
    let (line, column, message, snippet, hint) = invalid_json(r#"{"to": "{{mobile}}"}"#);
    assert_eq!((line, column), (1, 9));
    assert!(message.starts_with("expected `,` or `}`"), "{message}");
    assert_eq!(snippet, r#"{"to": "{{mobile}}"}"#);
    assert!(hint.unwrap().starts_with("{{mobile}} stands inside quotes"));

    let err = PayloadTemplate::parse("{\n  \"text\": \"Code: {{otp}}\"\n}", ContentType::Json)
        .unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains("at line 2, column 18"), "{shown}");
    assert!(
        shown.contains("near `\"text\": \"Code: {{otp}}\"`"),
        "{shown}"
    );
    assert!(shown.contains("{{otp}} stands inside quotes"), "{shown}");
    // A missing `:` before a placeholder is not that mistake.
    let (.., hint) = invalid_json(r#"{"a" {{body}}}"#);
    assert_eq!(hint, None);
}

#[test]
fn json_errors_are_reported_in_template_coordinates() {
    // A missing comma after a line whose placeholder is shorter than its value.
    let text = "{\n  \"text\": {{body}},\n  \"to\": {{mobile}}\n  \"x\": 1\n}";
    let (line, column, _, snippet, hint) = invalid_json(text);
    assert_eq!((line, column, snippet.as_str()), (4, 3, "\"x\": 1"));
    assert_eq!(hint, None);
    // Same line, after a placeholder: the rendered column differs, the reported one not.
    let (line, column, ..) = invalid_json(r#"{"a": {{body}} "b": 1}"#);
    assert_eq!((line, column), (1, 16));
    // Non-ASCII before the error: columns count characters.
    let (line, column, ..) = invalid_json(r#"{"ü": {{body}} ]"#);
    assert_eq!((line, column), (1, 16));
    // Trailing characters.
    let (_, column, message, ..) = invalid_json(r#"{"a": {{body}}} x"#);
    assert_eq!(column, 17);
    assert!(message.starts_with("trailing characters"), "{message}");
    // Unterminated: the end of the template.
    let (line, column, message, ..) = invalid_json("{\"a\": {{body}}\n");
    assert!(message.starts_with("EOF while parsing"), "{message}");
    assert_eq!((line, column), (2, 1));
    // Not JSON at all (e.g. a FORM template saved as JSON): `t` could start `true`.
    let (line, column, message, ..) = invalid_json("to={{mobile}}&text={{body}}");
    assert_eq!((line, column, message.as_str()), (1, 2, "expected ident"));
    let (line, column, ..) = invalid_json("<xml>{{body}}</xml>");
    assert_eq!((line, column), (1, 1));
}

#[test]
fn backslash_before_placeholder_only_works_inside_a_string() {
    // Outside a string, `\` is not JSON.
    assert!(PayloadTemplate::parse(r#"{"a": \{{body}}}"#, ContentType::Json).is_err());
    // Two backslashes escape each other, so the inserted quote closes the string.
    assert!(PayloadTemplate::parse(r#"{"a": "x\\{{body}}}"#, ContentType::Json).is_err());
    // Three: like one.
    let t = PayloadTemplate::parse(r#"{"a": "x\\\{{body}}}"#, ContentType::Json).unwrap();
    assert_eq!(json_of(&t, &values("", "q\"")), json!({"a": "x\\\"q\""}));
}

#[test]
fn templates_that_only_work_for_some_values_are_refused() {
    // Valid only if the body happened to be `,1,`.
    assert!(PayloadTemplate::parse(r#"["abc{{body}}"]"#, ContentType::Json).is_err());
}

#[test]
fn placeholders_are_checked() {
    let err = PayloadTemplate::parse(r#"{"to": {{phone}}}"#, ContentType::Json).unwrap_err();
    assert_eq!(
        err,
        PayloadError::UnknownPlaceholder {
            name: "phone".into(),
            suggestion: Some("mobile")
        }
    );
    assert_eq!(
        err.to_string(),
        "unknown placeholder {{phone}} (did you mean {{mobile}}?); known placeholders: \
         {{mobile}}, {{body}}, {{otp}}, {{message-id}}"
    );
    assert!(matches!(
        PayloadTemplate::parse(r#"{"c": {{confirmation-code}}}"#, ContentType::Json),
        Err(PayloadError::UnknownPlaceholder {
            suggestion: Some("otp"),
            ..
        })
    ));
    assert!(matches!(
        PayloadTemplate::parse("to={{ mobile }}", ContentType::Form),
        Err(PayloadError::MalformedPlaceholder {
            suggestion: Some("mobile"),
            ..
        })
    ));
    assert!(matches!(
        PayloadTemplate::parse("to={{x}}", ContentType::Form),
        Err(PayloadError::UnknownPlaceholder { .. })
    ));
    let t = PayloadTemplate::parse(SEED_SMS, ContentType::Json).unwrap();
    assert!(t.uses(PayloadPlaceholder::Mobile) && t.uses(PayloadPlaceholder::Body));
    assert!(!t.uses(PayloadPlaceholder::Otp) && !t.uses(PayloadPlaceholder::MessageId));
}

#[test]
fn empty_and_huge_templates_are_refused() {
    assert_eq!(
        PayloadTemplate::parse(" \n", ContentType::Json),
        Err(PayloadError::Empty)
    );
    assert_eq!(
        PayloadTemplate::parse("", ContentType::Form),
        Err(PayloadError::Empty)
    );
    let huge = format!("[{}1]", "1,".repeat(40_000));
    assert!(matches!(
        PayloadTemplate::parse(&huge, ContentType::Json),
        Err(PayloadError::TooLong { .. })
    ));
}

#[test]
fn form_values_are_form_encoded() {
    let t = PayloadTemplate::parse("to={{mobile}}&text={{body}}\n", ContentType::Form).unwrap();
    assert_eq!(t.as_str(), "to={{mobile}}&text={{body}}");
    assert_eq!(
        t.render(&values("+94771234567", "Code: 12 & more=ü")),
        "to=%2B94771234567&text=Code%3A+12+%26+more%3D%C3%BC"
    );
    assert_eq!(t.content_type().mime(), "application/x-www-form-urlencoded");
}

#[test]
fn content_type_reads_wso2s_spelling() {
    assert_eq!(ContentType::parse("JSON"), Some(ContentType::Json));
    assert_eq!(ContentType::parse(" form "), Some(ContentType::Form));
    assert_eq!(ContentType::parse("xml"), None);
    assert_eq!(
        serde_json::from_str::<ContentType>("\"FORM\"").unwrap(),
        ContentType::Form
    );
    assert_eq!(
        serde_json::to_string(&ContentType::Json).unwrap(),
        "\"json\""
    );
}

#[test]
fn debug_output_hides_code_and_number() {
    let shown = format!("{:?}", values("+94771234567", "Your code is 482913"));
    assert!(
        !shown.contains("482913") && !shown.contains("+94771234567"),
        "{shown}"
    );
}

#[test]
fn url_templates() {
    let t = UrlTemplate::parse(
        " https://gw.example/send?to={{mobile}}&text={{body}}&id={{message-id}} ",
    )
    .unwrap();
    assert_eq!(
        t.render(&values("+94 77", "a/b c&d=é~")),
        "https://gw.example/send?to=%2B94%2077&text=a%2Fb%20c%26d%3D%C3%A9~&id=msg-1"
    );
    assert!(t.uses(PayloadPlaceholder::Body) && !t.uses(PayloadPlaceholder::Otp));
    let plain = UrlTemplate::parse("https://api.d7networks.com/messages/v1/send").unwrap();
    assert_eq!(
        plain.render(&values("+1", "x")),
        "https://api.d7networks.com/messages/v1/send"
    );
    assert!(UrlTemplate::parse("HTTP://localhost:8080/{{mobile}}").is_ok());
    let shown = format!(
        "{:?}",
        UrlTemplate::parse("https://gw.example/s?key=SECRET").unwrap()
    );
    assert!(!shown.contains("SECRET"), "{shown}");
}

#[test]
fn bad_urls_are_refused() {
    assert_eq!(
        UrlTemplate::parse("ftp://gw.example/x"),
        Err(PayloadError::UrlScheme {
            scheme: "ftp".into()
        })
    );
    assert_eq!(
        UrlTemplate::parse("gw.example/send"),
        Err(PayloadError::UrlScheme {
            scheme: String::new()
        })
    );
    assert!(matches!(
        UrlTemplate::parse("javascript:alert(1)"),
        Err(PayloadError::UrlScheme { .. })
    ));
    assert!(matches!(
        UrlTemplate::parse("https://"),
        Err(PayloadError::InvalidUrl { .. })
    ));
    assert!(matches!(
        UrlTemplate::parse("https://gw.example:99999/"),
        Err(PayloadError::InvalidUrl { .. })
    ));
    assert_eq!(
        UrlTemplate::parse("https://{{mobile}}.gw.example/send"),
        Err(PayloadError::PlaceholderInHost {
            name: "mobile".into()
        })
    );
    assert!(matches!(
        UrlTemplate::parse("https://user:{{otp}}@gw.example/"),
        Err(PayloadError::PlaceholderInHost { .. })
    ));
    assert!(matches!(
        UrlTemplate::parse("https://gw.example/?to={{phone}}"),
        Err(PayloadError::UnknownPlaceholder { .. })
    ));
}

proptest! {
    #[test]
    fn json_templates_always_render_valid_json(
        mobile in any::<String>(),
        body in any::<String>(),
        otp in "[A-Z0-9]{0,10}",
        message_id in any::<String>(),
    ) {
        let v = PayloadValues { mobile: &mobile, body: &body, otp: &otp, message_id: &message_id };

        let sms = PayloadTemplate::parse(SEED_SMS, ContentType::Json).unwrap();
        let j: Value = serde_json::from_str(&sms.render(&v)).unwrap();
        prop_assert_eq!(&j["messages"][0]["recipients"][0], &Value::String(mobile.clone()));
        prop_assert_eq!(
            &j["messages"][0]["content"],
            &Value::String(format!("Your OTP code for login is: \"{body}"))
        );

        let wa = PayloadTemplate::parse(SEED_WHATSAPP, ContentType::Json).unwrap();
        let j: Value = serde_json::from_str(&wa.render(&v)).unwrap();
        let m = &j["messages"][0];
        prop_assert_eq!(
            &m["content"]["template"]["buttons"]["actions"][0]["action_payload"],
            &Value::String(body.clone())
        );
        prop_assert_eq!(&m["recipients"][0]["recipient"], &Value::String(mobile.clone()));

        let simple = PayloadTemplate::parse(SIMPLE, ContentType::Json).unwrap();
        let j: Value = serde_json::from_str(&simple.render(&v)).unwrap();
        prop_assert_eq!(
            j,
            json!({"to": mobile, "text": body, "code": otp, "ref": message_id})
        );
    }

    // Mobiles are what the dispatcher passes: E.164. (An arbitrary string such as "." in
    // a URL path would be a dot-segment, which every URL parser normalises away.)
    #[test]
    fn form_and_url_values_round_trip(mobile in "\\+[0-9]{1,15}", body in any::<String>()) {
        let v = PayloadValues { mobile: &mobile, body: &body, otp: "1", message_id: "m" };

        let form = PayloadTemplate::parse("to={{mobile}}&text={{body}}", ContentType::Form).unwrap();
        let rendered = form.render(&v);
        let pairs: Vec<(String, String)> = form_urlencoded::parse(rendered.as_bytes())
            .into_owned()
            .collect();
        prop_assert_eq!(
            pairs,
            vec![("to".to_string(), mobile.clone()), ("text".to_string(), body.clone())]
        );

        let url = UrlTemplate::parse("https://gw.example/send/{{mobile}}?text={{body}}").unwrap();
        let parsed = reqwest::Url::parse(&url.render(&v)).unwrap();
        prop_assert_eq!(parsed.host_str(), Some("gw.example"));
        let text: Vec<String> = parsed.query_pairs().map(|(_, v)| v.into_owned()).collect();
        prop_assert_eq!(text, vec![body.clone()]);
        let segment = parsed.path_segments().and_then(|mut s| s.nth(1)).unwrap_or_default();
        let decoded = percent_encoding::percent_decode_str(segment).decode_utf8().unwrap();
        prop_assert_eq!(decoded.as_ref(), mobile.as_str());
    }
}
