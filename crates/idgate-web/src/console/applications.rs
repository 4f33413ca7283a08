//! "Applications": list, create (client id and secret shown once), redirect URIs, the
//! login flow editor (step 1 / step 2 and the enrolment policy), and the integration
//! snippet an RP needs (issuer, discovery URL, client id).

use std::collections::HashMap;

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idgate_core::application::{Application, FirstFactor, LoginFlow, MissingMobile, SecondFactor};
use idgate_core::store::Page;

use crate::api::applications::{
    CONSOLE_CLIENT_ID, CreateApplication, UpdateApplication, create_application,
    delete_application, new_secret, update_application,
};
use crate::console::session::ConsoleSession;
use crate::console::views::{Cell, Field, Form as FormView, Panel, Table, html};
use crate::console::{checked, field_error, guard, guard_post, page, raw, see_other, val};
use crate::state::AppState;

fn flow_text(f: &LoginFlow) -> String {
    let first = match f.first {
        FirstFactor::Password => "Password",
        FirstFactor::SmsOtp => "SMS OTP",
    };
    let second: Vec<&str> = f
        .second
        .iter()
        .map(|s| match s {
            SecondFactor::SmsOtp => "SMS OTP",
            SecondFactor::WhatsappOtp => "WhatsApp OTP",
        })
        .collect();
    if second.is_empty() {
        first.to_string()
    } else {
        format!("{first} → {}", second.join(" or "))
    }
}

/// The login-flow fields (shared by create and edit).
fn flow_fields(f: &LoginFlow) -> Vec<Field> {
    vec![
        Field::new("first", "Step 1", "select")
            .value(match f.first {
                FirstFactor::Password => "password",
                FirstFactor::SmsOtp => "sms-otp",
            })
            .options(&[
                ("password", "Username & Password"),
                ("sms-otp", "SMS OTP (passwordless)"),
            ]),
        Field::new("second_sms", "Step 2: SMS OTP", "checkbox")
            .checked(f.second.contains(&SecondFactor::SmsOtp)),
        Field::new("second_whatsapp", "Step 2: WhatsApp OTP", "checkbox")
            .checked(f.second.contains(&SecondFactor::WhatsappOtp)),
        Field::new("missing_mobile", "A user without a mobile number", "select")
            .value(match f.missing_mobile {
                MissingMobile::Enrol => "enrol",
                MissingMobile::Refuse => "refuse",
            })
            .options(&[
                ("enrol", "enrols one (verified by a code)"),
                ("refuse", "is refused"),
            ]),
        Field::new(
            "allow_unverified_mobile",
            "Send codes to numbers not yet verified",
            "checkbox",
        )
        .checked(f.allow_unverified_mobile),
    ]
}

fn flow_from(form: &HashMap<String, String>) -> LoginFlow {
    let mut second = Vec::new();
    if checked(form, "second_sms") {
        second.push(SecondFactor::SmsOtp);
    }
    if checked(form, "second_whatsapp") {
        second.push(SecondFactor::WhatsappOtp);
    }
    LoginFlow {
        first: if val(form, "first") == "sms-otp" {
            FirstFactor::SmsOtp
        } else {
            FirstFactor::Password
        },
        second,
        missing_mobile: if val(form, "missing_mobile") == "refuse" {
            MissingMobile::Refuse
        } else {
            MissingMobile::Enrol
        },
        allow_unverified_mobile: checked(form, "allow_unverified_mobile"),
    }
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn create_form(csrf: &str) -> FormView {
    let mut fields = vec![
        Field::new("name", "Name", "text"),
        Field::new("redirect_uris", "Redirect URIs (one per line)", "textarea").rows(3),
        Field::new(
            "post_logout_redirect_uris",
            "Post-logout redirect URIs (optional, one per line)",
            "textarea",
        )
        .rows(2),
        Field::new(
            "public",
            "Public client (SPA or mobile app: no secret, PKCE)",
            "checkbox",
        ),
    ];
    fields.extend(flow_fields(&LoginFlow::default()));
    FormView {
        id: "create-app".into(),
        title: "Create an application".into(),
        note: None,
        action: "/console/applications".into(),
        csrf: csrf.into(),
        hidden: vec![],
        fields,
        submit: "Create application".into(),
        danger: false,
    }
}

fn refill(mut f: FormView, form: &HashMap<String, String>) -> FormView {
    for field in &mut f.fields {
        if field.kind == "checkbox" {
            field.checked = checked(form, field.name);
        } else {
            field.value = raw(form, field.name);
        }
    }
    f
}

fn map_field(field: &str) -> String {
    if field.starts_with("redirect_uris") {
        "redirect_uris".into()
    } else if field.starts_with("post_logout_redirect_uris") {
        "post_logout_redirect_uris".into()
    } else if field.starts_with("login_flow") {
        "second_sms".into()
    } else {
        field.to_string()
    }
}

async fn render_list(
    state: &AppState,
    s: &ConsoleSession,
    status: StatusCode,
    notice: Option<(&'static str, String)>,
    form: Option<FormView>,
    extra: Vec<String>,
) -> Response {
    let apps = state
        .store
        .list_applications(&Page {
            limit: 500,
            after: None,
        })
        .await
        .unwrap_or_default();
    let rows = apps
        .iter()
        .map(|a| {
            vec![
                Cell::link(
                    a.name.clone(),
                    format!("/console/applications/{}", a.client_id),
                ),
                Cell::text(a.client_id.clone()),
                Cell::text(if a.is_public() {
                    "public"
                } else {
                    "confidential"
                }),
                Cell::text(flow_text(&a.login_flow)),
            ]
        })
        .collect();
    let mut sections = extra;
    sections.push(html(&Table {
        title: "Applications".into(),
        headers: vec!["Name", "Client id", "Type", "Login flow"],
        rows,
        empty: "No application yet.".into(),
        more: None,
    }));
    sections.push(html(&form.unwrap_or_else(|| create_form(&s.csrf))));
    page(
        state,
        s,
        status,
        "applications",
        "Applications",
        notice,
        sections,
    )
}

pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let s = match guard(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    render_list(&state, &s, StatusCode::OK, None, None, vec![]).await
}

fn snippet(state: &AppState, a: &Application, secret: Option<&str>) -> String {
    let mut items = vec![
        ("Issuer".to_string(), state.settings.issuer.clone()),
        (
            "Discovery URL".to_string(),
            format!("{}/.well-known/openid-configuration", state.settings.issuer),
        ),
        ("Client id".to_string(), a.client_id.clone()),
    ];
    if let Some(sec) = secret {
        items.push((
            "Client secret (shown only now)".to_string(),
            sec.to_string(),
        ));
    }
    html(&Panel {
        title: if secret.is_some() { "Integration — copy the secret now".into() } else { "Integration".into() },
        note: secret.map(|_| "idgate keeps only a hash of the client secret: it cannot be shown again. Regenerate it if it is lost.".to_string()),
        items,
        code: Some(format!(
            "OIDC_ISSUER={}\nOIDC_CLIENT_ID={}\nOIDC_REDIRECT_URI={}\nOIDC_SCOPES=openid profile phone",
            state.settings.issuer,
            a.client_id,
            a.redirect_uris.first().cloned().unwrap_or_default()
        )),
        highlight: secret.is_some(),
        ..Default::default()
    })
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = CreateApplication {
        name: val(&form, "name"),
        redirect_uris: lines(&raw(&form, "redirect_uris")),
        post_logout_redirect_uris: lines(&raw(&form, "post_logout_redirect_uris")),
        public: checked(&form, "public"),
        login_flow: Some(flow_from(&form)),
        otp_policy: None,
        signing_alg: None,
    };
    match create_application(&state, &s.admin(), body).await {
        Ok((app, secret, _)) => {
            let extra = vec![snippet(&state, &app, secret.as_deref())];
            render_list(
                &state,
                &s,
                StatusCode::CREATED,
                Some(("info", format!("Application \"{}\" created.", app.name))),
                None,
                extra,
            )
            .await
        }
        Err(e) => {
            let (field, text) = field_error(&e);
            let f = refill(create_form(&s.csrf), &form).with_error(&map_field(&field), text);
            render_list(
                &state,
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some((
                    "error",
                    "The application was not created: fix the field marked below.".into(),
                )),
                Some(f),
                vec![],
            )
            .await
        }
    }
}

fn edit_form(csrf: &str, a: &Application) -> FormView {
    let mut fields = vec![
        Field::new("name", "Name", "text").value(a.name.clone()),
        Field::new("redirect_uris", "Redirect URIs (one per line)", "textarea")
            .rows(3)
            .value(a.redirect_uris.join("\n")),
        Field::new(
            "post_logout_redirect_uris",
            "Post-logout redirect URIs (one per line)",
            "textarea",
        )
        .rows(2)
        .value(a.post_logout_redirect_uris.join("\n")),
    ];
    fields.extend(flow_fields(&a.login_flow));
    FormView {
        id: "edit-app".into(),
        title: "Settings and login flow".into(),
        note: None,
        action: format!("/console/applications/{}", a.client_id),
        csrf: csrf.into(),
        hidden: vec![],
        fields,
        submit: "Save application".into(),
        danger: false,
    }
}

async fn render_one(
    state: &AppState,
    s: &ConsoleSession,
    a: &Application,
    status: StatusCode,
    notice: Option<(&'static str, String)>,
    form: Option<FormView>,
    secret: Option<&str>,
) -> Response {
    let mut sections = vec![snippet(state, a, secret)];
    sections.push(html(&form.unwrap_or_else(|| edit_form(&s.csrf, a))));
    if !a.is_public() {
        sections.push(html(&FormView {
            id: "secret".into(),
            title: "Client secret".into(),
            note: Some("A new secret replaces the current one at once.".into()),
            action: format!("/console/applications/{}/secret", a.client_id),
            csrf: s.csrf.clone(),
            submit: "Regenerate secret".into(),
            ..Default::default()
        }));
    }
    if a.client_id != CONSOLE_CLIENT_ID {
        sections.push(html(&FormView {
            id: "delete".into(),
            title: "Delete".into(),
            action: format!("/console/applications/{}/delete", a.client_id),
            csrf: s.csrf.clone(),
            submit: "Delete application".into(),
            danger: true,
            ..Default::default()
        }));
    }
    page(
        state,
        s,
        status,
        "applications",
        &format!("Applications › {}", a.name),
        notice,
        sections,
    )
}

async fn load(state: &AppState, client_id: &str) -> Option<Application> {
    state.store.get_application(client_id).await.ok().flatten()
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Response {
    let s = match guard(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match load(&state, &client_id).await {
        Some(a) => render_one(&state, &s, &a, StatusCode::OK, None, None, None).await,
        None => see_other("/console/applications"),
    }
}

pub async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(before) = load(&state, &client_id).await else {
        return see_other("/console/applications");
    };
    let body = UpdateApplication {
        name: Some(val(&form, "name")),
        redirect_uris: Some(lines(&raw(&form, "redirect_uris"))),
        post_logout_redirect_uris: Some(lines(&raw(&form, "post_logout_redirect_uris"))),
        login_flow: Some(flow_from(&form)),
        ..Default::default()
    };
    match update_application(&state, &s.admin(), &client_id, body).await {
        Ok((a, _)) => {
            render_one(
                &state,
                &s,
                &a,
                StatusCode::OK,
                Some(("info", "Saved.".into())),
                None,
                None,
            )
            .await
        }
        Err(e) => {
            let (field, text) = field_error(&e);
            let f = refill(edit_form(&s.csrf, &before), &form).with_error(&map_field(&field), text);
            render_one(
                &state,
                &s,
                &before,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(("error", "Not saved: fix the field marked below.".into())),
                Some(f),
                None,
            )
            .await
        }
    }
}

pub async fn secret(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match new_secret(&state, &s.admin(), &client_id).await {
        Ok((a, sec)) => {
            render_one(
                &state,
                &s,
                &a,
                StatusCode::OK,
                Some(("info", "A new client secret was generated.".into())),
                None,
                Some(&sec),
            )
            .await
        }
        Err(_) => see_other(&format!("/console/applications/{client_id}")),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match delete_application(&state, &s.admin(), &client_id).await {
        Ok(()) => {
            render_list(
                &state,
                &s,
                StatusCode::OK,
                Some(("info", "Application deleted.".into())),
                None,
                vec![],
            )
            .await
        }
        Err(e) => {
            render_list(
                &state,
                &s,
                StatusCode::CONFLICT,
                Some(("error", e.detail.clone())),
                None,
                vec![],
            )
            .await
        }
    }
}
