use idgate_core::otp::{Channel, OtpPolicy};

use super::*;

fn ctx() -> MessageContext<'static> {
    MessageContext {
        code: "482913",
        expiry_minutes: OtpPolicy {
            expiry: 90,
            ..Default::default()
        }
        .expiry_minutes(),
        application_name: "Acme Portal",
        user_name: "bob",
        organization_name: "Acme",
        current_year: 2026,
    }
}

#[test]
fn default_sms_text_is_wso2s_word_for_word() {
    let t = default_template(Channel::Sms);
    assert_eq!(
        t.as_str(),
        "Your one-time password for the {{application-name}} is {{confirmation-code}}. This expires in {{otp-expiry-time}} minutes."
    );
    assert_eq!(
        t.render(&ctx()),
        "Your one-time password for the Acme Portal is 482913. This expires in 2 minutes."
    );
    assert_eq!(
        t.render_redacted(&ctx()),
        "Your one-time password for the Acme Portal is ••••••. This expires in 2 minutes."
    );
}

#[test]
fn default_whatsapp_text_is_the_code_alone() {
    let t = default_template(Channel::Whatsapp);
    assert_eq!(t.as_str(), "{{confirmation-code}}");
    assert!(t.is_code_only());
    assert_eq!(t.render(&ctx()), "482913");
    assert_eq!(MessageTemplate::parse("{{confirmation-code}}").unwrap(), t);
    assert!(!default_template(Channel::Sms).is_code_only());
}

#[test]
fn renders_every_placeholder() {
    let t = MessageTemplate::parse(
        "{{user-name}}@{{organization-name}} ({{current-year}}): {{confirmation-code}} for {{application-name}}, {{otp-expiry-time}} min. {{confirmation-code}}",
    )
    .unwrap();
    assert_eq!(
        t.render(&ctx()),
        "bob@Acme (2026): 482913 for Acme Portal, 2 min. 482913"
    );
    let redacted = t.render_redacted(&ctx());
    assert!(!redacted.contains("482913"));
    assert_eq!(redacted.matches(REDACTED_CODE).count(), 2);
    for p in MessagePlaceholder::ALL {
        assert!(t.uses(p), "{p:?}");
    }
}

#[test]
fn values_are_not_rescanned() {
    let t = MessageTemplate::parse("{{application-name}}: {{confirmation-code}}").unwrap();
    let c = MessageContext {
        application_name: "{{confirmation-code}}",
        ..ctx()
    };
    assert_eq!(t.render(&c), "{{confirmation-code}}: 482913");
}

#[test]
fn refuses_bad_texts() {
    assert_eq!(MessageTemplate::parse(""), Err(TemplateError::Empty));
    assert_eq!(MessageTemplate::parse(" \n\t"), Err(TemplateError::Empty));
    assert_eq!(
        MessageTemplate::parse("Your code expires in {{otp-expiry-time}} minutes"),
        Err(TemplateError::MissingCode)
    );
    let long = format!("{{{{confirmation-code}}}}{}", "x".repeat(1600));
    assert_eq!(
        MessageTemplate::parse(&long),
        Err(TemplateError::TooLong {
            chars: 1621,
            max: 1600
        })
    );
    let just_fits = format!("{{{{confirmation-code}}}}{}", "é".repeat(1579));
    assert!(MessageTemplate::parse(&just_fits).is_ok());
}

#[test]
fn unknown_placeholders_are_named_with_the_known_ones() {
    let err = MessageTemplate::parse("Code {{code}}").unwrap_err();
    assert_eq!(
        err,
        TemplateError::UnknownPlaceholder {
            name: "code".into(),
            suggestion: Some("confirmation-code")
        }
    );
    assert_eq!(
        err.to_string(),
        "unknown placeholder {{code}} (did you mean {{confirmation-code}}?); known placeholders: \
         {{confirmation-code}}, {{otp-expiry-time}}, {{application-name}}, {{user-name}}, \
         {{organization-name}}, {{current-year}}"
    );
    let err = MessageTemplate::parse("{{confirmation-code}} {{Foo.bar}}").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("unknown placeholder {{Foo.bar}}; known")
    );
    // Case matters, as in WSO2.
    assert!(matches!(
        MessageTemplate::parse("{{Confirmation-Code}}"),
        Err(TemplateError::UnknownPlaceholder {
            suggestion: Some("confirmation-code"),
            ..
        })
    ));
}

#[test]
fn malformed_placeholders_are_refused_with_a_hint() {
    let err = MessageTemplate::parse("Code: {{ confirmation-code }}").unwrap_err();
    assert_eq!(
        err,
        TemplateError::MalformedPlaceholder {
            found: "{{ confirmation-code }}".into(),
            suggestion: Some("confirmation-code")
        }
    );
    assert!(
        err.to_string()
            .contains("did you mean {{confirmation-code}}?")
    );
    assert!(matches!(
        MessageTemplate::parse("{{confirmation-code}} for {{user_name}}"),
        Err(TemplateError::MalformedPlaceholder {
            suggestion: Some("user-name"),
            ..
        })
    ));
    // Braces that do not look like a placeholder are text.
    let t = MessageTemplate::parse("{ {{confirmation-code}} } {{{confirmation-code}}}").unwrap();
    assert_eq!(t.render(&ctx()), "{ 482913 } {482913}");
}

#[test]
fn serde_is_the_text_and_validates() {
    let t = default_template(Channel::Sms);
    let json = serde_json::to_string(&t).unwrap();
    assert_eq!(json, serde_json::to_string(DEFAULT_SMS_TEXT).unwrap());
    let back: MessageTemplate = serde_json::from_str(&json).unwrap();
    assert_eq!(back, t);
    assert!(serde_json::from_str::<MessageTemplate>("\"no code\"").is_err());
}

#[test]
fn debug_hides_the_code() {
    let shown = format!("{:?}", ctx());
    assert!(!shown.contains("482913"), "{shown}");
}

#[test]
fn preview_renders_a_sample() {
    let p = preview(&default_template(Channel::Sms), &MessageContext::sample());
    assert_eq!(
        p.text,
        "Your one-time password for the Example App is 123456. This expires in 5 minutes."
    );
    assert_eq!(
        p.segments,
        SegmentInfo {
            encoding: Encoding::Gsm7,
            characters: 80,
            segments: 1
        }
    );
    let t = MessageTemplate::parse("Ваш код {{confirmation-code}}").unwrap();
    assert_eq!(
        preview(&t, &MessageContext::sample()).segments.encoding,
        Encoding::Ucs2
    );
}
