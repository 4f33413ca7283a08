//! "Test numbers": numbers with a fixed code that never reach a provider (app-store
//! review, staging) — list (number, applications, source, state; never the code), add
//! or replace (the code is write-only), delete. Entries of the config file are listed
//! but changed only there. The page always carries a warning: a test number's code
//! signs in to the applications it names.

use std::collections::HashMap;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idgate_core::otp::test_numbers::Source;

use crate::api::test_numbers::{TestNumberBody, list, remove, save};
use crate::console::session::ConsoleSession;
use crate::console::views::{Cell, Field, Form as FormView, Panel, Table, html};
use crate::console::{checked, field_error, guard, guard_post, page, raw, val, when};
use crate::state::AppState;

fn create_form(csrf: &str) -> FormView {
    let fields = vec![
        Field::new("number", "Number", "tel")
            .hint("International form, e.g. +14155550100. Codes to it are never sent."),
        Field::new("code", "Fixed code", "password")
            .hint("4–10 digits; write-only: it is never shown again."),
        Field::new("applications", "Applications (client ids)", "text").hint(
            "Comma-separated client ids; empty = every application. Others get a normal send.",
        ),
        Field::new(
            "allow_in_production",
            "Allow in production (required in production mode)",
            "checkbox",
        ),
    ];
    FormView {
        id: "create-test-number".into(),
        title: "Add or replace a test number".into(),
        note: None,
        action: "/console/test-numbers".into(),
        csrf: csrf.into(),
        hidden: vec![],
        fields,
        submit: "Save test number".into(),
        danger: false,
    }
}

async fn render(
    state: &AppState,
    s: &ConsoleSession,
    status: StatusCode,
    notice: Option<(&'static str, String)>,
    form: Option<FormView>,
) -> Response {
    let production = state.otp.production();
    let entries = list(state).await.unwrap_or_default();
    let rows = entries
        .iter()
        .map(|t| {
            let apps = if t.applications.is_empty() {
                "every application".to_string()
            } else {
                t.applications.join(", ")
            };
            let (state_text, class) = match (t.active(production), production) {
                (true, true) => ("active in production", "bad"),
                (true, false) => ("active", "ok"),
                (false, _) => ("inactive: not allowed in production", "bad"),
            };
            vec![
                Cell::text(t.number.as_str()),
                Cell::text(apps),
                Cell::class(state_text, class),
                Cell::text(match t.source {
                    Source::Config => "config file".to_string(),
                    Source::Admin => t.created_at.map_or_else(String::new, when),
                }),
                match t.source {
                    Source::Admin => Cell::button_with(
                        "/console/test-numbers/delete",
                        "Delete",
                        &s.csrf,
                        vec![("number".into(), t.number.as_str().to_string())],
                    ),
                    Source::Config => Cell::text("change it in the config file"),
                },
            ]
        })
        .collect();
    let sections = vec![
        html(&Panel {
            title: "Warning: a test number signs in with a fixed code".into(),
            note: Some(format!(
                "Anyone who knows a test number and its code passes the SMS or WhatsApp step of the applications it names. Keep them for app-store review and staging only, and delete them when the review is over. Sends to them are audited (otp.test_number_used) and count against the send limits.{}",
                if production {
                    " This server runs in production mode: only entries with allow_in_production are in force."
                } else {
                    ""
                }
            )),
            highlight: true,
            ..Default::default()
        }),
        html(&Table {
            title: "Test numbers".into(),
            headers: vec!["Number", "Applications", "State", "Added (UTC)", ""],
            rows,
            empty: "No test number.".into(),
            more: None,
        }),
        html(&form.unwrap_or_else(|| create_form(&s.csrf))),
    ];
    page(
        state,
        s,
        status,
        "test-numbers",
        "Test numbers",
        notice,
        sections,
    )
}

pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let s = match guard(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    render(&state, &s, StatusCode::OK, None, None).await
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
    let body = TestNumberBody {
        number: val(&form, "number"),
        code: val(&form, "code"),
        applications: val(&form, "applications")
            .split(',')
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect(),
        allow_in_production: checked(&form, "allow_in_production"),
    };
    match save(&state, &s.admin(), body).await {
        Ok(t) => {
            render(
                &state,
                &s,
                StatusCode::CREATED,
                Some(("info", format!("Test number {} saved.", t.number.as_str()))),
                None,
            )
            .await
        }
        Err(e) => {
            let (field, text) = field_error(&e);
            let mut f = create_form(&s.csrf);
            for field in &mut f.fields {
                // The code is write-only: never put back into the page.
                match field.name {
                    "code" => {}
                    "allow_in_production" => field.checked = checked(&form, field.name),
                    _ => field.value = raw(&form, field.name),
                }
            }
            render(
                &state,
                &s,
                e.status,
                Some((
                    "error",
                    "The test number was not saved: fix the field marked below.".into(),
                )),
                Some(f.with_error(&field, text)),
            )
            .await
        }
    }
}

pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match remove(&state, &s.admin(), &val(&form, "number")).await {
        Ok(()) => {
            render(
                &state,
                &s,
                StatusCode::OK,
                Some(("info", "Test number deleted.".into())),
                None,
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
            )
            .await
        }
    }
}
