//! "Notification channels": the SMS provider (tabs Custom | D7 | Twilio | Vonage | Dev
//! outbox) and the WhatsApp provider (D7 WhatsApp | Custom), with the seed guide's
//! fields, write-only secrets, provider order for failover and a test-send box.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idgate_core::otp::Channel;
use idgate_core::provider_config::{ProviderKind, ProviderRecord};
use serde_json::{Map, Value, json};

use crate::api::providers::{
    ProviderBody, Saved, SecretInput, create_provider, delete_provider, report_url,
    update_provider, view,
};
use crate::console::views::{Cell, Field, Form as FormView, Panel, Table, html};
use crate::console::{checked, field_error, guard, guard_post, page, raw, see_other, val};
use crate::error::ApiError;
use crate::state::AppState;

fn channel_of(s: &str) -> Option<Channel> {
    Channel::parse(s)
}

/// The tabs of a channel: (tab key, label, kind).
fn tabs(channel: Channel) -> &'static [(&'static str, &'static str, ProviderKind)] {
    match channel {
        Channel::Sms => &[
            ("custom", "Custom", ProviderKind::Custom),
            ("d7", "D7", ProviderKind::D7Sms),
            ("twilio", "Twilio", ProviderKind::Twilio),
            ("vonage", "Vonage", ProviderKind::Vonage),
            ("dev-outbox", "Dev outbox", ProviderKind::DevOutbox),
        ],
        Channel::Whatsapp => &[
            ("d7", "D7 WhatsApp", ProviderKind::D7Whatsapp),
            ("custom", "Custom", ProviderKind::Custom),
        ],
    }
}

fn s(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// The form of a kind, filled from a stored provider's settings (or defaults), and
/// whether each secret is set.
fn provider_form(
    channel: Channel,
    kind: ProviderKind,
    csrf: &str,
    existing: Option<&(ProviderRecord, Value)>,
) -> FormView {
    let settings = existing
        .map(|(p, _)| p.settings.clone())
        .unwrap_or(Value::Null);
    let set = |name: &str| {
        existing.is_some_and(|(_, v)| v["secrets"][format!("{name}_set")] == json!(true))
    };
    let name = existing
        .map(|(p, _)| p.name.clone())
        .unwrap_or_else(|| kind.as_str().to_string());
    let enabled = existing.is_none_or(|(p, _)| p.enabled);
    let mut fields = vec![Field::new("name", "Name", "text").value(name)];
    match kind {
        ProviderKind::Custom => {
            fields.push(
                Field::new("url", "SMS Provider URL", "url")
                    .value(s(&settings, "url"))
                    .hint("http(s); e.g. https://api.d7networks.com/messages/v1/send"),
            );
            let ct = match s(&settings, "content_type").as_str() {
                "form" => "form",
                _ => "json",
            };
            fields.push(
                Field::new("content_type", "Content Type", "select")
                    .value(ct)
                    .options(&[("json", "JSON"), ("form", "FORM")]),
            );
            let m = s(&settings, "method");
            fields.push(
                Field::new("method", "HTTP Method", "select")
                    .value(if m.is_empty() { "POST".into() } else { m })
                    .options(&[("POST", "POST"), ("PUT", "PUT"), ("GET", "GET")]),
            );
            fields.push(
                Field::new("headers", "Headers", "password")
                    .secret(set("headers"))
                    .hint("Comma separated, e.g. Authorization: Bearer YOUR_API_TOKEN, Accept: application/json. Write-only."),
            );
            fields.push(
                Field::new("payload_template", "Payload Template", "textarea")
                    .value(s(&settings, "payload_template"))
                    .validate("payload")
                    .rows(14)
                    .hint("Placeholders {{mobile}} and {{body}} (inserted as JSON strings for JSON, URL-encoded for FORM)."),
            );
            fields.push(
                Field::new(
                    "message_id_pointer",
                    "Message id (JSON pointer, optional)",
                    "text",
                )
                .value(s(&settings, "message_id_pointer"))
                .hint("e.g. /request_id"),
            );
            fields.push(
                Field::new(
                    "sign_requests",
                    "Sign requests (Standard Webhooks)",
                    "checkbox",
                )
                .checked(settings["sign_requests"] == json!(true)),
            );
            fields.push(
                Field::new("signing_secret", "Signing secret (optional)", "password")
                    .secret(set("signing_secret"))
                    .hint("whsec_… Leave empty to have one generated (shown once after saving). Write-only."),
            );
        }
        ProviderKind::D7Sms | ProviderKind::D7Whatsapp => {
            fields.push(
                Field::new(
                    "originator",
                    "Originator (sender id or WhatsApp number)",
                    "text",
                )
                .value(s(&settings, "originator")),
            );
            if kind == ProviderKind::D7Whatsapp {
                fields.push(
                    Field::new("template_id", "Template id", "text")
                        .value(s(&settings, "template_id")),
                );
                let lang = s(&settings, "language");
                fields.push(
                    Field::new("language", "Language", "text").value(if lang.is_empty() {
                        "en".into()
                    } else {
                        lang
                    }),
                );
            } else {
                let dc = s(&settings, "data_coding");
                fields.push(
                    Field::new("data_coding", "Data coding", "select")
                        .value(if dc.is_empty() { "auto".into() } else { dc })
                        .options(&[("auto", "auto"), ("text", "text"), ("unicode", "unicode")]),
                );
            }
            fields.push(
                Field::new("api_token", "API token", "password")
                    .secret(set("api_token"))
                    .hint("From the D7 dashboard (API tokens). Write-only."),
            );
        }
        ProviderKind::Twilio => {
            fields.push(
                Field::new("account_sid", "Account SID", "text").value(s(&settings, "account_sid")),
            );
            fields
                .push(Field::new("auth_token", "Auth token", "password").secret(set("auth_token")));
            fields.push(
                Field::new("from", "From (sender number)", "text").value(s(&settings, "from")),
            );
            fields.push(
                Field::new(
                    "messaging_service_sid",
                    "Messaging service SID (instead of From)",
                    "text",
                )
                .value(s(&settings, "messaging_service_sid")),
            );
        }
        ProviderKind::Vonage => {
            fields.push(Field::new("api_key", "API key", "text").value(s(&settings, "api_key")));
            fields
                .push(Field::new("api_secret", "API secret", "password").secret(set("api_secret")));
            fields.push(Field::new("from", "From (sender)", "text").value(s(&settings, "from")));
            fields.push(
                Field::new("signature_secret", "Signature secret (optional)", "password")
                    .secret(set("signature_secret"))
                    .hint("Vonage's signature secret (dashboard settings): delivery receipts must then carry Vonage's signed JWT. Write-only."),
            );
        }
        ProviderKind::DevOutbox => {}
    }
    if !matches!(kind, ProviderKind::Custom | ProviderKind::DevOutbox) {
        fields.push(
            Field::new("base_url", "API base URL (optional)", "url")
                .value(s(&settings, "base_url"))
                .hint("Leave empty for the provider's public API."),
        );
    }
    if kind != ProviderKind::DevOutbox {
        fields.push(
            Field::new("timeout_ms", "Timeout (ms, optional)", "number")
                .value(s(&settings, "timeout_ms")),
        );
    }
    fields.push(Field::new("enabled", "Enabled", "checkbox").checked(enabled));
    let mut hidden = vec![("kind".to_string(), kind.as_str().to_string())];
    if let Some((p, _)) = existing {
        hidden.push(("id".into(), p.id.clone()));
    }
    FormView {
        id: "provider".into(),
        title: match existing {
            Some((p, _)) => format!("Edit {}", p.name),
            None => format!("Add a {} provider", kind.as_str()),
        },
        note: None,
        action: format!("/console/channels/{}/providers", channel.as_str()),
        csrf: csrf.to_string(),
        hidden,
        fields,
        submit: "Save provider".into(),
        danger: false,
    }
}

/// Fills a form with what the user submitted (secrets are never echoed back).
fn refill(mut f: FormView, form: &HashMap<String, String>) -> FormView {
    for field in &mut f.fields {
        match field.kind {
            "password" => {}
            "checkbox" => field.checked = checked(form, field.name),
            _ => field.value = raw(form, field.name),
        }
    }
    f
}

struct Ctx {
    notice: Option<(&'static str, String)>,
    form: Option<FormView>,
    test: Option<String>,
    test_form: Option<FormView>,
}

async fn render(
    state: &AppState,
    s: &crate::console::session::ConsoleSession,
    channel: Channel,
    tab: &str,
    edit: Option<&str>,
    status: StatusCode,
    ctx: Ctx,
) -> Response {
    let providers = match state.store.list_providers(Some(channel)).await {
        Ok(p) => p,
        Err(e) => {
            let e: ApiError = e.into();
            return page(
                state,
                s,
                StatusCode::INTERNAL_SERVER_ERROR,
                channel.as_str(),
                "Providers",
                Some(("error", e.detail.clone())),
                vec![],
            );
        }
    };
    let tabs = tabs(channel);
    let editing = edit.and_then(|id| providers.iter().find(|p| p.id == id));
    let (tab_key, kind) = match editing {
        Some(p) => tabs
            .iter()
            .find(|t| t.2 == p.kind)
            .map(|t| (t.0, t.2))
            .unwrap_or((tabs[0].0, tabs[0].2)),
        None => tabs
            .iter()
            .find(|t| t.0 == tab)
            .map(|t| (t.0, t.2))
            .unwrap_or((tabs[0].0, tabs[0].2)),
    };
    let base = format!("/console/channels/{}", channel.as_str());
    let mut sections = Vec::new();
    let rows: Vec<Vec<Cell>> = providers
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let v = view(state, p);
            let secret_text = v["secrets"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            format!(
                                "{}: {}",
                                k.trim_end_matches("_set"),
                                if v == &json!(true) { "set" } else { "not set" }
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            let tab_of = tabs
                .iter()
                .find(|t| t.2 == p.kind)
                .map(|t| t.0)
                .unwrap_or("custom");
            vec![
                Cell::text((i + 1).to_string()),
                Cell::link(p.name.clone(), format!("{base}?tab={tab_of}&edit={}", p.id)),
                Cell::text(p.kind.as_str()),
                if p.enabled {
                    Cell::class("enabled", "ok")
                } else {
                    Cell::class("disabled", "bad")
                },
                Cell::text(secret_text),
                if i > 0 {
                    Cell::button_with(
                        format!("{base}/order"),
                        "Move up",
                        &s.csrf,
                        vec![("id".into(), p.id.clone())],
                    )
                } else {
                    Cell::text("")
                },
                Cell::button(
                    format!("{base}/providers/{}/delete", p.id),
                    "Delete",
                    &s.csrf,
                ),
            ]
        })
        .collect();
    sections.push(html(&Table {
        title: "Providers, in failover order".into(),
        headers: vec!["#", "Name", "Kind", "State", "Secrets", "", ""],
        rows,
        empty: "No provider yet: codes on this channel cannot be sent. Add one below.".into(),
        more: None,
    }));
    sections.push(html(&Panel {
        title: String::new(),
        links: tabs
            .iter()
            .map(|t| (format!("{base}?tab={}", t.0), t.1.to_string()))
            .collect(),
        current: format!("{base}?tab={tab_key}"),
        ..Default::default()
    }));
    let existing = editing.map(|p| (p.clone(), view(state, p)));
    let form = ctx
        .form
        .unwrap_or_else(|| provider_form(channel, kind, &s.csrf, existing.as_ref()));
    sections.push(html(&form));
    if let Some(t) = ctx.test {
        sections.push(t);
    }
    let mut options = vec![("".to_string(), "All, in order (with failover)".to_string())];
    options.extend(providers.iter().map(|p| (p.id.clone(), p.name.clone())));
    let test_form = ctx.test_form.unwrap_or_else(|| FormView {
        id: "test".into(),
        title: "Send test message".into(),
        note: Some(
            "Sends a sample code through this channel's providers and shows the provider's answer."
                .into(),
        ),
        action: format!("{base}/test"),
        csrf: s.csrf.clone(),
        hidden: vec![],
        fields: vec![
            Field::new("to", "To (mobile number)", "tel"),
            Field {
                options,
                ..Field::new("provider", "Provider", "select")
            },
        ],
        submit: "Send test message".into(),
        danger: false,
    });
    sections.push(html(&test_form));
    let title = match channel {
        Channel::Sms => "Notification channels › SMS provider",
        Channel::Whatsapp => "Notification channels › WhatsApp provider",
    };
    page(
        state,
        s,
        status,
        channel.as_str(),
        title,
        ctx.notice,
        sections,
    )
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(channel): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = match guard(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(channel) = channel_of(&channel) else {
        return see_other("/console");
    };
    let notice = q.get("saved").map(|_| ("info", "Saved.".to_string()));
    render(
        &state,
        &s,
        channel,
        q.get("tab").map(String::as_str).unwrap_or(""),
        q.get("edit").map(String::as_str),
        StatusCode::OK,
        Ctx {
            notice,
            form: None,
            test: None,
            test_form: None,
        },
    )
    .await
}

/// The provider body a form describes.
fn body_of(kind: ProviderKind, form: &HashMap<String, String>) -> Result<ProviderBody, ApiError> {
    let mut settings = Map::new();
    let mut put = |k: &str, v: String| {
        if !v.is_empty() {
            settings.insert(k.to_string(), Value::String(v));
        }
    };
    let mut secrets: BTreeMap<String, Option<SecretInput>> = BTreeMap::new();
    let mut secret = |k: &str| {
        let v = raw(form, k);
        if !v.trim().is_empty() {
            secrets.insert(k.to_string(), Some(SecretInput::Text(v.trim().to_string())));
        }
    };
    match kind {
        ProviderKind::Custom => {
            put("url", val(form, "url"));
            put("content_type", val(form, "content_type"));
            put("method", val(form, "method"));
            put("payload_template", raw(form, "payload_template"));
            put("message_id_pointer", val(form, "message_id_pointer"));
            secret("headers");
            secret("signing_secret");
        }
        ProviderKind::D7Sms => {
            put("originator", val(form, "originator"));
            put("data_coding", val(form, "data_coding"));
            put("base_url", val(form, "base_url"));
            secret("api_token");
        }
        ProviderKind::D7Whatsapp => {
            put("originator", val(form, "originator"));
            put("template_id", val(form, "template_id"));
            put("language", val(form, "language"));
            put("base_url", val(form, "base_url"));
            secret("api_token");
        }
        ProviderKind::Twilio => {
            put("account_sid", val(form, "account_sid"));
            put("from", val(form, "from"));
            put("messaging_service_sid", val(form, "messaging_service_sid"));
            put("base_url", val(form, "base_url"));
            secret("auth_token");
        }
        ProviderKind::Vonage => {
            put("api_key", val(form, "api_key"));
            put("from", val(form, "from"));
            put("base_url", val(form, "base_url"));
            secret("api_secret");
            secret("signature_secret");
        }
        ProviderKind::DevOutbox => {}
    }
    if kind == ProviderKind::Custom && checked(form, "sign_requests") {
        settings.insert("sign_requests".into(), json!(true));
    }
    let t = val(form, "timeout_ms");
    if !t.is_empty() {
        let n: u64 = t.parse().map_err(|_| {
            ApiError::invalid_field(
                "timeout_ms",
                "the timeout must be a whole number of milliseconds",
            )
        })?;
        settings.insert("timeout_ms".into(), json!(n));
    }
    Ok(ProviderBody {
        name: Some(val(form, "name")),
        kind: Some(kind.as_str().to_string()),
        enabled: Some(checked(form, "enabled")),
        position: None,
        settings: Some(Value::Object(settings)),
        secrets,
    })
}

pub async fn save(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(channel): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(channel) = channel_of(&channel) else {
        return see_other("/console");
    };
    let Some(kind) = ProviderKind::parse(&val(&form, "kind"))
        .filter(|k| tabs(channel).iter().any(|t| t.2 == *k))
    else {
        return see_other(&format!("/console/channels/{}", channel.as_str()));
    };
    let tab = tabs(channel)
        .iter()
        .find(|t| t.2 == kind)
        .map(|t| t.0)
        .unwrap_or("custom");
    let admin = s.admin();
    let id = val(&form, "id");
    let existing = if id.is_empty() {
        None
    } else {
        match state.store.get_provider(&id).await {
            Ok(Some(p)) if p.channel == channel => Some(p),
            _ => return see_other(&format!("/console/channels/{}", channel.as_str())),
        }
    };
    let result = match body_of(kind, &form) {
        Err(e) => Err(e),
        Ok(body) => match &existing {
            Some(p) => update_provider(&state, &admin, p.clone(), body)
                .await
                .map(|saved| (saved.record.id.clone(), shown_once(&state, &saved, false))),
            None => create_provider(&state, &admin, channel, body)
                .await
                .map(|saved| (saved.record.id.clone(), shown_once(&state, &saved, true))),
        },
    };
    match result {
        Ok((id, Some(text))) => {
            render(
                &state,
                &s,
                channel,
                tab,
                Some(&id),
                StatusCode::OK,
                Ctx {
                    notice: Some(("info", text)),
                    form: None,
                    test: None,
                    test_form: None,
                },
            )
            .await
        }
        Ok((id, None)) => see_other(&format!(
            "/console/channels/{}?tab={tab}&edit={id}&saved=1",
            channel.as_str()
        )),
        Err(e) => {
            let (field, text) = field_error(&e);
            let field = field
                .trim_start_matches("settings.")
                .trim_start_matches("secrets.")
                .to_string();
            let existing = existing.map(|p| {
                let v = view(&state, &p);
                (p, v)
            });
            let f = refill(
                provider_form(channel, kind, &s.csrf, existing.as_ref()),
                &form,
            )
            .with_error(&field, text.clone());
            render(
                &state,
                &s,
                channel,
                tab,
                existing.as_ref().map(|(p, _)| p.id.as_str()),
                StatusCode::UNPROCESSABLE_ENTITY,
                Ctx {
                    notice: Some((
                        "error",
                        "The provider was not saved: fix the field marked below.".into(),
                    )),
                    form: Some(f),
                    test: None,
                    test_form: None,
                },
            )
            .await
        }
    }
}

/// The save notice for what is shown only once: a new custom provider's report URL (it
/// holds the webhook secret; D7, Twilio and Vonage providers pass it with every message
/// themselves) and a signing secret idgate generated in this save.
fn shown_once(state: &AppState, saved: &Saved, created: bool) -> Option<String> {
    let url = (created && saved.record.kind == ProviderKind::Custom)
        .then(|| report_url(state, &saved.record, &saved.secrets))
        .flatten();
    let mut parts = Vec::new();
    if let Some(url) = url {
        parts.push(format!(
            "If your gateway can post D7-style delivery reports, give it this URL: {url}"
        ));
    }
    if let Some(secret) = &saved.generated_signing_secret {
        parts.push(format!(
            "Requests are signed (Standard Webhooks); give your gateway this signing secret: {secret}"
        ));
    }
    (!parts.is_empty()).then(|| {
        format!(
            "Saved. {} — shown only now: idgate never shows it again.",
            parts.join(". ")
        )
    })
}

pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((channel, id)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Ok(Some(p)) = state.store.get_provider(&id).await
        && p.channel.as_str() == channel
    {
        let _ = delete_provider(&state, &s.admin(), &p).await;
    }
    see_other(&format!("/console/channels/{channel}"))
}

pub async fn order(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(channel): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(ch) = channel_of(&channel) else {
        return see_other("/console");
    };
    let id = val(&form, "id");
    if let Ok(list) = state.store.list_providers(Some(ch)).await {
        let mut ids: Vec<String> = list.iter().map(|p| p.id.clone()).collect();
        if let Some(i) = ids.iter().position(|x| *x == id)
            && i > 0
        {
            ids.swap(i, i - 1);
            let before: Vec<String> = list.iter().map(|p| p.name.clone()).collect();
            if state
                .store
                .reorder_providers(ch, &ids, state.now())
                .await
                .is_ok()
            {
                state.dispatcher.registry().invalidate();
                let after: Vec<String> = ids
                    .iter()
                    .filter_map(|i| list.iter().find(|p| p.id == *i).map(|p| p.name.clone()))
                    .collect();
                crate::audit::audit(
                    &state,
                    &s.admin(),
                    "provider.reordered",
                    Some(ch.as_str().to_string()),
                    json!({"before": before, "after": after}),
                )
                .await;
            }
        }
    }
    see_other(&format!("/console/channels/{channel}"))
}

pub async fn test(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(channel): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(ch) = channel_of(&channel) else {
        return see_other("/console");
    };
    let to = val(&form, "to");
    let provider = Some(val(&form, "provider")).filter(|p| !p.is_empty());
    let parsed = crate::api::users::parse_mobile(&state, "to", &to);
    let (status, notice, test_html, test_form) = match parsed {
        Err(e) => {
            let providers = state
                .store
                .list_providers(Some(ch))
                .await
                .unwrap_or_default();
            let mut options = vec![("".to_string(), "All, in order (with failover)".to_string())];
            options.extend(providers.iter().map(|p| (p.id.clone(), p.name.clone())));
            let f = FormView {
                id: "test".into(),
                title: "Send test message".into(),
                note: None,
                action: format!("/console/channels/{channel}/test"),
                csrf: s.csrf.clone(),
                hidden: vec![],
                fields: vec![
                    Field::new("to", "To (mobile number)", "tel").value(to.clone()),
                    Field {
                        options,
                        value: provider.clone().unwrap_or_default(),
                        ..Field::new("provider", "Provider", "select")
                    },
                ],
                submit: "Send test message".into(),
                danger: false,
            }
            .with_error("to", e.detail.clone());
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(("error", "The test message was not sent.".to_string())),
                None,
                Some(f),
            )
        }
        Ok(number) => match state
            .dispatcher
            .send_test(ch, &number, provider.as_deref())
            .await
        {
            Err(e) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(("error", e.to_string())),
                None,
                None,
            ),
            Ok(report) => {
                crate::audit::audit(
                    &state,
                    &s.admin(),
                    "provider.tested",
                    Some(report.message_id.clone()),
                    json!({"channel": ch.as_str(), "to": number.masked(), "sent": report.sent}),
                )
                .await;
                let mut items = vec![
                    (
                        "Result".to_string(),
                        if report.sent {
                            "sent".to_string()
                        } else {
                            "failed".to_string()
                        },
                    ),
                    (
                        "Provider".to_string(),
                        report.provider.clone().unwrap_or_else(|| "-".into()),
                    ),
                    (
                        "Provider message id".to_string(),
                        report
                            .provider_message_id
                            .clone()
                            .unwrap_or_else(|| "-".into()),
                    ),
                    ("Message".to_string(), report.message_id.clone()),
                ];
                if let Some(r) = &report.reason {
                    items.push(("Reason".into(), r.clone()));
                }
                for a in &report.attempts {
                    items.push((
                        format!("Attempt {} ({})", a.seq, a.provider),
                        format!(
                            "HTTP {} · {} ms{}",
                            a.http_status
                                .map(|s| s.to_string())
                                .unwrap_or_else(|| "-".into()),
                            a.latency_ms,
                            a.error
                                .as_ref()
                                .map(|e| format!(" · {e}"))
                                .unwrap_or_default()
                        ),
                    ));
                }
                let panel = html(&Panel {
                    title: "Test message: the provider's answer".into(),
                    items,
                    highlight: true,
                    ..Default::default()
                });
                let notice = if report.sent {
                    (
                        "info",
                        format!("Test message sent to {}.", number.masked_last4()),
                    )
                } else {
                    (
                        "error",
                        "The test message could not be sent; see the provider's answer below."
                            .to_string(),
                    )
                };
                (StatusCode::OK, Some(notice), Some(panel), None)
            }
        },
    };
    // A test of one provider comes back to that provider's form (its tab), so the
    // admin keeps editing what was just tested instead of facing an empty "add" form.
    render(
        &state,
        &s,
        ch,
        "",
        provider.as_deref(),
        status,
        Ctx {
            notice,
            form: None,
            test: test_html,
            test_form,
        },
    )
    .await
}
