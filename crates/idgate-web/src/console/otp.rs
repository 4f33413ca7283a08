//! "Connections › SMS OTP › Settings": the OTP policy (expiry, alphanumeric, length,
//! attempts, resends, cooldown) and the message template per channel with a preview and
//! its SMS segment count. Also the live-validation endpoint console.js calls.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use idgate_core::otp::engine::POLICY_SETTING;
use idgate_core::otp::policy::ResendCode;
use idgate_core::otp::{Channel, OtpPolicy};
use idgate_notify::message_template::{self, MessageContext, MessageTemplate};
use idgate_notify::{ContentType, PayloadTemplate};
use serde_json::{Value, json};

use crate::api::otp_settings::template_key;
use crate::console::session::{self, CSRF_HEADER};
use crate::console::views::{Field, Form as FormView, Panel, html};
use crate::console::{checked, guard, guard_post, page, raw, see_other, val};
use crate::state::AppState;

fn policy_form(csrf: &str, p: &OtpPolicy) -> FormView {
    FormView {
        id: "policy".into(),
        title: "Settings".into(),
        note: Some("Applies to every application without its own OTP policy.".into()),
        action: "/console/otp/policy".into(),
        csrf: csrf.into(),
        hidden: vec![],
        fields: vec![
            Field::new("expiry_minutes", "OTP expiry time (minutes)", "number")
                .value(p.expiry.div_ceil(60).to_string())
                .hint("1–1440"),
            Field::new(
                "alphanumeric",
                "Use alphanumeric characters (A–Z, 0–9)",
                "checkbox",
            )
            .checked(p.alphanumeric),
            Field::new("length", "OTP length", "number")
                .value(p.length.to_string())
                .hint("4–10"),
            Field::new("max_attempts", "Wrong attempts per code", "number")
                .value(p.max_attempts.to_string())
                .hint("1–20"),
            Field::new("max_resends", "Allowed resend attempts", "number")
                .value(p.max_resends.to_string())
                .hint("0–10"),
            Field::new("resend_cooldown", "Resend cooldown (seconds)", "number")
                .value(p.resend_cooldown.to_string())
                .hint("0–3600"),
            Field::new("resend_code", "A resend sends", "select")
                .value(match p.resend_code {
                    ResendCode::New => "new",
                    ResendCode::Same => "same",
                })
                .options(&[
                    ("new", "a new code (recommended)"),
                    ("same", "the same code"),
                ]),
        ],
        submit: "Save settings".into(),
        danger: false,
    }
}

fn preview_text(text: &str) -> (Option<String>, String) {
    match MessageTemplate::parse(text) {
        Ok(t) => {
            let p = message_template::preview(&t, &MessageContext::sample());
            let enc = match p.segments.encoding {
                message_template::Encoding::Gsm7 => "GSM-7",
                message_template::Encoding::Ucs2 => "UCS-2",
            };
            (
                Some(p.text),
                format!(
                    "{} characters ({enc}), {} SMS segment{}",
                    p.segments.characters,
                    p.segments.segments,
                    if p.segments.segments == 1 { "" } else { "s" }
                ),
            )
        }
        Err(e) => (None, e.to_string()),
    }
}

fn template_form(csrf: &str, channel: Channel, text: &str) -> FormView {
    let (_, info) = preview_text(text);
    FormView {
        id: format!("template-{}", channel.as_str()),
        title: match channel {
            Channel::Sms => "SMS message template".into(),
            Channel::Whatsapp => "WhatsApp message template".into(),
        },
        note: Some("Placeholders: {{application-name}}, {{confirmation-code}}, {{otp-expiry-time}}, {{user-name}}, {{organization-name}}, {{current-year}}.".into()),
        action: format!("/console/otp/template/{}", channel.as_str()),
        csrf: csrf.into(),
        hidden: vec![("locale".into(), "en".into())],
        fields: vec![Field::new("text", "Template (en)", "textarea")
            .value(text)
            .rows(4)
            .validate("message")
            .hint(info)],
        submit: "Save template".into(),
        danger: false,
    }
}

async fn template_text(state: &AppState, channel: Channel) -> String {
    match state.store.get_setting(&template_key(channel, "en")).await {
        Ok(Some(Value::String(s))) => s,
        _ => message_template::default_template(channel)
            .as_str()
            .to_string(),
    }
}

async fn render(
    state: &AppState,
    s: &session::ConsoleSession,
    status: StatusCode,
    notice: Option<(&'static str, String)>,
    policy: Option<FormView>,
    templates: HashMap<&'static str, FormView>,
) -> Response {
    let mut templates = templates;
    let policy = match policy {
        Some(f) => f,
        None => {
            let p = state.otp.global_policy().await.unwrap_or_default();
            policy_form(&s.csrf, &p)
        }
    };
    let mut sections = vec![html(&policy)];
    for ch in [Channel::Sms, Channel::Whatsapp] {
        let text = template_text(state, ch).await;
        let f = match templates.remove(ch.as_str()) {
            Some(f) => f,
            None => template_form(&s.csrf, ch, &text),
        };
        sections.push(html(&f));
        let (preview, info) = preview_text(&text);
        sections.push(html(&Panel {
            title: format!("Preview ({} template, sample values)", ch.as_str()),
            items: vec![("Segments".into(), info)],
            code: preview,
            ..Default::default()
        }));
    }
    page(
        state,
        s,
        status,
        "otp",
        "Connections › SMS OTP › Settings",
        notice,
        sections,
    )
}

pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let s = match guard(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    render(&state, &s, StatusCode::OK, None, None, HashMap::new()).await
}

fn number(form: &HashMap<String, String>, key: &str, label: &str) -> Result<u32, (String, String)> {
    val(form, key)
        .parse::<u32>()
        .map_err(|_| (key.to_string(), format!("{label} must be a whole number")))
}

pub async fn save_policy(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let parsed = (|| {
        let minutes = number(&form, "expiry_minutes", "OTP expiry time")?;
        if !(1..=1440).contains(&minutes) {
            return Err((
                "expiry_minutes".to_string(),
                format!("OTP expiry time must be between 1 and 1440 minutes (got {minutes})"),
            ));
        }
        let p = OtpPolicy {
            length: number(&form, "length", "OTP length")?,
            alphanumeric: checked(&form, "alphanumeric"),
            expiry: minutes * 60,
            max_attempts: number(&form, "max_attempts", "Wrong attempts")?,
            max_resends: number(&form, "max_resends", "Allowed resend attempts")?,
            resend_cooldown: number(&form, "resend_cooldown", "Resend cooldown")?,
            resend_code: if val(&form, "resend_code") == "same" {
                ResendCode::Same
            } else {
                ResendCode::New
            },
        };
        p.validate()
            .map_err(|e| (e.field.to_string(), e.to_string()))?;
        Ok(p)
    })();
    match parsed {
        Ok(p) => {
            let before = state.otp.global_policy().await.ok();
            let saved = match serde_json::to_value(&p) {
                Ok(v) => state
                    .store
                    .put_setting(POLICY_SETTING, &v, state.now())
                    .await
                    .is_ok(),
                Err(_) => false,
            };
            if !saved {
                return render(
                    &state,
                    &s,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Some((
                        "error",
                        "The settings could not be saved; the server log has the details.".into(),
                    )),
                    None,
                    HashMap::new(),
                )
                .await;
            }
            crate::audit::audit(
                &state,
                &s.admin(),
                "otp_policy.updated",
                None,
                json!({"before": before, "after": p}),
            )
            .await;
            render(
                &state,
                &s,
                StatusCode::OK,
                Some(("info", "Settings saved.".into())),
                None,
                HashMap::new(),
            )
            .await
        }
        Err((field, text)) => {
            let mut f = policy_form(&s.csrf, &OtpPolicy::default());
            for field in &mut f.fields {
                if field.kind == "checkbox" {
                    field.checked = checked(&form, field.name);
                } else {
                    field.value = raw(&form, field.name);
                }
            }
            let field = if field == "expiry" {
                "expiry_minutes".to_string()
            } else {
                field
            };
            let f = f.with_error(&field, text);
            render(
                &state,
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some((
                    "error",
                    "The settings were not saved: fix the field marked below.".into(),
                )),
                Some(f),
                HashMap::new(),
            )
            .await
        }
    }
}

pub async fn save_template(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(channel): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(ch) = Channel::parse(&channel) else {
        return see_other("/console/otp");
    };
    let text = raw(&form, "text");
    match MessageTemplate::parse(&text) {
        Ok(_) => {
            let key = template_key(ch, "en");
            let before = state.store.get_setting(&key).await.ok().flatten();
            if state
                .store
                .put_setting(&key, &Value::String(text.clone()), state.now())
                .await
                .is_err()
            {
                return render(
                    &state,
                    &s,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Some(("error", "The template could not be saved.".into())),
                    None,
                    HashMap::new(),
                )
                .await;
            }
            crate::audit::audit(
                &state,
                &s.admin(),
                "template.updated",
                Some(key),
                json!({"before": before, "after": text}),
            )
            .await;
            render(
                &state,
                &s,
                StatusCode::OK,
                Some(("info", "Template saved.".into())),
                None,
                HashMap::new(),
            )
            .await
        }
        Err(e) => {
            let f = template_form(&s.csrf, ch, &text).with_error("text", e.to_string());
            let mut t = HashMap::new();
            t.insert(ch.as_str(), f);
            render(
                &state,
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(("error", "The template was not saved: fix it below.".into())),
                None,
                t,
            )
            .await
        }
    }
}

/// `POST /console/validate` (console.js): `kind=payload|message`, `text`, and
/// `content_type` for payloads. Answers `{ok, error?, info?}`.
pub async fn validate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let given = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match session::load(&state, &headers).await {
        Ok(Some(s)) if session::csrf_ok(&s, given) => {}
        _ => {
            return (
                StatusCode::FORBIDDEN,
                Json(json!({"ok": false, "error": "sign in to the console again"})),
            )
                .into_response();
        }
    }
    let text = raw(&form, "text");
    let answer = match val(&form, "kind").as_str() {
        "payload" => {
            let ct = ContentType::parse(&val(&form, "content_type")).unwrap_or(ContentType::Json);
            match PayloadTemplate::parse(&text, ct) {
                Ok(_) => json!({"ok": true}),
                Err(e) => json!({"ok": false, "error": e.to_string()}),
            }
        }
        _ => {
            let (preview, info) = preview_text(&text);
            match preview {
                Some(p) => json!({"ok": true, "info": info, "preview": p}),
                None => json!({"ok": false, "error": info}),
            }
        }
    };
    (StatusCode::OK, Json(answer)).into_response()
}
