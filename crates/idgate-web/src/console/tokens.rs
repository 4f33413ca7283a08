//! "Admin tokens": the bearer tokens of the admin API — list (name, state, created,
//! expiry, last use; never the values), create (the value is shown once: idgate keeps
//! only its keyed hash), revoke.

use std::collections::HashMap;

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::api::admin_tokens::{AdminTokenView, CreateAdminToken, create_token, revoke_token};
use crate::console::session::ConsoleSession;
use crate::console::views::{Cell, Field, Form as FormView, Panel, Table, html};
use crate::console::{field_error, guard, guard_post, page, raw, val, when};
use crate::state::AppState;

fn create_form(csrf: &str) -> FormView {
    FormView {
        id: "create-token".into(),
        title: "Create an admin token".into(),
        note: Some(
            "For scripts and CI calling the admin API (`Authorization: Bearer idg_admin_…`). A token can do everything an admin can."
                .into(),
        ),
        action: "/console/admin-tokens".into(),
        csrf: csrf.into(),
        hidden: vec![],
        fields: vec![
            Field::new("name", "Name", "text")
                .hint("1–64 characters; audit events name the token admin-token:<name>."),
            Field::new("expires_in_days", "Expires after (days)", "number")
                .hint("1–3650; empty = never expires."),
        ],
        submit: "Create token".into(),
        danger: false,
    }
}

fn refill(mut f: FormView, form: &HashMap<String, String>) -> FormView {
    for field in &mut f.fields {
        field.value = raw(form, field.name);
    }
    f
}

async fn render(
    state: &AppState,
    s: &ConsoleSession,
    status: StatusCode,
    notice: Option<(&'static str, String)>,
    form: Option<FormView>,
    extra: Vec<String>,
) -> Response {
    let tokens = state.store.list_admin_tokens().await.unwrap_or_default();
    let now = state.now();
    let dash = || "—".to_string();
    let rows = tokens
        .iter()
        .rev()
        .map(|t| {
            let v = AdminTokenView::of(t, now);
            let state_cell = Cell::class(
                v.state.clone(),
                if v.state == "active" { "ok" } else { "bad" },
            );
            vec![
                Cell::text(t.name.clone()),
                state_cell,
                Cell::text(when(t.created_at)),
                Cell::text(t.expires_at.map_or_else(|| "never".to_string(), when)),
                Cell::text(t.last_used_at.map_or_else(dash, when)),
                Cell::text(t.revoked_at.map_or_else(dash, when)),
                if v.state == "active" {
                    Cell::button(
                        format!("/console/admin-tokens/{}/revoke", t.id),
                        "Revoke",
                        &s.csrf,
                    )
                } else {
                    Cell::text("")
                },
            ]
        })
        .collect();
    let mut sections = extra;
    sections.push(html(&Table {
        title: "Admin tokens".into(),
        headers: vec![
            "Name",
            "State",
            "Created (UTC)",
            "Expires (UTC)",
            "Last used (UTC)",
            "Revoked (UTC)",
            "",
        ],
        rows,
        empty: "No admin token yet. The console itself needs none.".into(),
        more: None,
    }));
    sections.push(html(&form.unwrap_or_else(|| create_form(&s.csrf))));
    page(state, s, status, "tokens", "Admin tokens", notice, sections)
}

pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let s = match guard(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    render(&state, &s, StatusCode::OK, None, None, vec![]).await
}

/// The form's expiry: empty = never, else whole days.
fn days(form: &HashMap<String, String>) -> Result<Option<u32>, (String, String)> {
    let v = val(form, "expires_in_days");
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<u32>().map(Some).map_err(|_| {
        (
            "expires_in_days".into(),
            "Expires after must be a whole number of days (1–3650), or empty for never".into(),
        )
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
    let created = match days(&form) {
        Ok(expires_in_days) => create_token(
            &state,
            &s.admin(),
            CreateAdminToken {
                name: val(&form, "name"),
                expires_in_days,
            },
        )
        .await
        .map_err(|e| field_error(&e)),
        Err(e) => Err(e),
    };
    match created {
        Ok((record, token)) => {
            let shown = html(&Panel {
                title: "Copy the token now".into(),
                note: Some(
                    "idgate keeps only a hash of the token: it cannot be shown again. Revoke it and create another if it is lost."
                        .into(),
                ),
                items: vec![
                    ("Name".into(), record.name.clone()),
                    ("Token (shown only now)".into(), token),
                ],
                highlight: true,
                ..Default::default()
            });
            render(
                &state,
                &s,
                StatusCode::CREATED,
                Some(("info", format!("Admin token \"{}\" created.", record.name))),
                None,
                vec![shown],
            )
            .await
        }
        Err((field, text)) => {
            let f = refill(create_form(&s.csrf), &form).with_error(&field, text);
            render(
                &state,
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some((
                    "error",
                    "The token was not created: fix the field marked below.".into(),
                )),
                Some(f),
                vec![],
            )
            .await
        }
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match revoke_token(&state, &s.admin(), &id).await {
        Ok(()) => {
            render(
                &state,
                &s,
                StatusCode::OK,
                Some(("info", "Token revoked: it stops working at once.".into())),
                None,
                vec![],
            )
            .await
        }
        Err(e) => {
            render(
                &state,
                &s,
                e.status,
                Some(("error", e.detail.clone())),
                None,
                vec![],
            )
            .await
        }
    }
}
