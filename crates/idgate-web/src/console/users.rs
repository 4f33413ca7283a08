//! "Users": search, create, edit (mobile number normalised to E.164 on save),
//! lock/unlock, sessions.

use std::collections::HashMap;

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idgate_core::store::Page;
use idgate_core::user::{User, UserStatus};

use crate::api::users::{
    CreateUser, SessionView, check_display_name, create_user, find, lock_user, parse_mobile,
    revoke_user_sessions, save,
};
use crate::console::session::ConsoleSession;
use crate::console::views::{Cell, Field, Form as FormView, Panel, Table, html};
use crate::console::{checked, field_error, guard, guard_post, page, raw, see_other, val, when};
use crate::state::AppState;

fn create_form(csrf: &str) -> FormView {
    FormView {
        id: "create-user".into(),
        title: "Create a user".into(),
        note: None,
        action: "/console/users".into(),
        csrf: csrf.into(),
        hidden: vec![],
        fields: vec![
            Field::new("username", "Username", "text"),
            Field::new("display_name", "Display name (optional)", "text"),
            Field::new("mobile", "Mobile number (optional)", "tel").hint("International (+94 77 …) or national in the server's default region; saved in E.164."),
            Field::new("mobile_verified", "The number is verified (it belongs to the user)", "checkbox"),
            Field::new("password", "Password (optional: leave empty for an SMS-only user)", "password"),
            Field::new("is_admin", "Administrator (console access)", "checkbox"),
        ],
        submit: "Create user".into(),
        danger: false,
    }
}

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

async fn render_list(
    state: &AppState,
    s: &ConsoleSession,
    q: &str,
    status: StatusCode,
    notice: Option<(&'static str, String)>,
    form: Option<FormView>,
) -> Response {
    let users = state
        .store
        .search_users(
            Some(q).filter(|q| !q.is_empty()),
            &Page {
                limit: 100,
                after: None,
            },
        )
        .await
        .unwrap_or_default();
    let now = state.now();
    let rows = users
        .iter()
        .map(|u| {
            vec![
                Cell::link(u.username.clone(), format!("/console/users/{}", u.id)),
                Cell::text(u.display_name.clone().unwrap_or_default()),
                Cell::text(
                    u.mobile
                        .as_ref()
                        .map(|m| {
                            format!(
                                "{}{}",
                                m.as_str(),
                                if u.mobile_verified {
                                    " ✓"
                                } else {
                                    " (unverified)"
                                }
                            )
                        })
                        .unwrap_or_else(|| "-".into()),
                ),
                if u.is_locked(now) {
                    Cell::class("locked", "bad")
                } else {
                    Cell::class("active", "ok")
                },
                Cell::text(if u.is_admin { "admin" } else { "" }),
            ]
        })
        .collect();
    let search = FormView {
        id: "search".into(),
        title: "Search".into(),
        action: "/console/users".into(),
        fields: vec![Field::new("q", "Username, name or number", "text").value(q)],
        submit: "Search".into(),
        ..Default::default()
    };
    // Search is a GET form: rendered without CSRF by swapping the method below.
    let search_html = html(&search)
        .replacen("method=\"post\"", "method=\"get\"", 1)
        .replacen("<input type=\"hidden\" name=\"csrf\" value=\"\">", "", 1);
    let sections = vec![
        search_html,
        html(&Table {
            title: "Users".into(),
            headers: vec!["Username", "Name", "Mobile", "State", ""],
            rows,
            empty: "No user matches.".into(),
            more: None,
        }),
        html(&form.unwrap_or_else(|| create_form(&s.csrf))),
    ];
    page(state, s, status, "users", "Users", notice, sections)
}

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = match guard(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let query: String = q
        .get("q")
        .map(|s| s.trim().chars().take(100).collect())
        .unwrap_or_default();
    render_list(&state, &s, &query, StatusCode::OK, None, None).await
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
    let password = raw(&form, "password");
    let body = CreateUser {
        username: val(&form, "username"),
        password: Some(password).filter(|p| !p.is_empty()),
        mobile: Some(val(&form, "mobile")).filter(|m| !m.is_empty()),
        mobile_verified: checked(&form, "mobile_verified"),
        display_name: Some(val(&form, "display_name")),
        locale: None,
        is_admin: checked(&form, "is_admin"),
    };
    match create_user(&state, &s.admin(), body).await {
        Ok(u) => see_other(&format!("/console/users/{}?created=1", u.id)),
        Err(e) => {
            let (field, text) = field_error(&e);
            let f = refill(create_form(&s.csrf), &form).with_error(&field, text);
            render_list(
                &state,
                &s,
                "",
                StatusCode::UNPROCESSABLE_ENTITY,
                Some((
                    "error",
                    "The user was not created: fix the field marked below.".into(),
                )),
                Some(f),
            )
            .await
        }
    }
}

fn edit_form(csrf: &str, u: &User) -> FormView {
    FormView {
        id: "edit-user".into(),
        title: "Profile and mobile number".into(),
        note: None,
        action: format!("/console/users/{}", u.id),
        csrf: csrf.into(),
        hidden: vec![],
        fields: vec![
            Field::new("display_name", "Display name", "text")
                .value(u.display_name.clone().unwrap_or_default()),
            Field::new("mobile", "Mobile number", "tel")
                .value(
                    u.mobile
                        .as_ref()
                        .map(|m| m.as_str().to_string())
                        .unwrap_or_default(),
                )
                .hint("Saved in E.164; leave empty to remove."),
            Field::new("mobile_verified", "The number is verified", "checkbox")
                .checked(u.mobile_verified),
            Field::new("is_admin", "Administrator", "checkbox").checked(u.is_admin),
        ],
        submit: "Save user".into(),
        danger: false,
    }
}

async fn render_one(
    state: &AppState,
    s: &ConsoleSession,
    u: &User,
    status: StatusCode,
    notice: Option<(&'static str, String)>,
    form: Option<FormView>,
) -> Response {
    let now = state.now();
    let sessions = state
        .store
        .list_user_sessions(&u.id)
        .await
        .unwrap_or_default();
    let mut items = vec![
        ("Id".to_string(), u.id.clone()),
        ("Username".to_string(), u.username.clone()),
        (
            "State".to_string(),
            if u.is_locked(now) {
                match u.locked_until {
                    Some(t) => format!("locked until {} UTC", when(t)),
                    None => "locked".into(),
                }
            } else {
                u.status.as_str().to_string()
            },
        ),
        (
            "Password".to_string(),
            if u.password_hash.is_some() {
                "set".into()
            } else {
                "none (SMS only)".into()
            },
        ),
    ];
    items.push(("Created".into(), when(u.created_at)));
    let mut sections = vec![
        html(&Panel {
            title: "Account".into(),
            items,
            ..Default::default()
        }),
        html(&form.unwrap_or_else(|| edit_form(&s.csrf, u))),
    ];
    let lock_html = if u.is_locked(now) {
        html(&FormView {
            id: "unlock".into(),
            title: "Unlock".into(),
            action: format!("/console/users/{}/unlock", u.id),
            csrf: s.csrf.clone(),
            submit: "Unlock user".into(),
            ..Default::default()
        })
    } else {
        html(&FormView {
            id: "lock".into(),
            title: "Lock".into(),
            note: Some("A locked user cannot sign in; their sessions end now.".into()),
            action: format!("/console/users/{}/lock", u.id),
            csrf: s.csrf.clone(),
            fields: vec![Field::new(
                "minutes",
                "For minutes (empty: until unlocked)",
                "number",
            )],
            submit: "Lock user".into(),
            danger: true,
            ..Default::default()
        })
    };
    sections.push(lock_html);
    let rows = sessions
        .iter()
        .map(|x| {
            let v = SessionView::of(x);
            vec![
                Cell::text(v.id),
                Cell::text(v.factors.join(", ")),
                Cell::text(x.auth_time.map(when).unwrap_or_default()),
                Cell::text(when(x.expires_at)),
            ]
        })
        .collect();
    sections.push(html(&Table {
        title: "Sessions".into(),
        headers: vec!["Session", "Factors", "Signed in (UTC)", "Expires (UTC)"],
        rows,
        empty: "No active session.".into(),
        more: None,
    }));
    if !sessions.is_empty() {
        sections.push(html(&FormView {
            id: "revoke".into(),
            action: format!("/console/users/{}/sessions/revoke", u.id),
            csrf: s.csrf.clone(),
            submit: "Sign out everywhere".into(),
            danger: true,
            ..Default::default()
        }));
    }
    page(
        state,
        s,
        status,
        "users",
        &format!("Users › {}", u.username),
        notice,
        sections,
    )
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = match guard(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let notice = q
        .get("created")
        .map(|_| ("info", "User created.".to_string()));
    match find(&state, &id).await {
        Ok(u) => render_one(&state, &s, &u, StatusCode::OK, notice, None).await,
        Err(_) => see_other("/console/users"),
    }
}

pub async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Ok(before) = find(&state, &id).await else {
        return see_other("/console/users");
    };
    let result = (|| {
        let mut u = before.clone();
        u.display_name = check_display_name(Some(val(&form, "display_name")))?;
        let m = val(&form, "mobile");
        u.mobile = if m.is_empty() {
            None
        } else {
            Some(parse_mobile(&state, "mobile", &m)?)
        };
        u.mobile_verified = u.mobile.is_some() && checked(&form, "mobile_verified");
        u.is_admin = checked(&form, "is_admin");
        Ok::<User, crate::error::ApiError>(u)
    })();
    let after = match result {
        Ok(u) => save(&state, &s.admin(), "user.updated", &before, u).await,
        Err(e) => Err(e),
    };
    match after {
        Ok(u) => {
            render_one(
                &state,
                &s,
                &u,
                StatusCode::OK,
                Some(("info", "Saved.".into())),
                None,
            )
            .await
        }
        Err(e) => {
            let (field, text) = field_error(&e);
            let mut f = edit_form(&s.csrf, &before);
            for field in &mut f.fields {
                if field.kind == "checkbox" {
                    field.checked = checked(&form, field.name)
                } else {
                    field.value = raw(&form, field.name)
                }
            }
            let f = f.with_error(&field, text);
            render_one(
                &state,
                &s,
                &before,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(("error", "Not saved: fix the field marked below.".into())),
                Some(f),
            )
            .await
        }
    }
}

pub async fn lock(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Ok(before) = find(&state, &id).await else {
        return see_other("/console/users");
    };
    let m = val(&form, "minutes");
    let minutes = if m.is_empty() {
        Ok(None)
    } else {
        m.parse::<u32>().map(Some).map_err(|_| ())
    };
    let mut u = before.clone();
    let res = match minutes {
        Ok(mins) => lock_user(&mut u, mins, state.now()),
        Err(()) => Err(crate::error::ApiError::invalid_field(
            "minutes",
            "minutes must be a whole number",
        )),
    };
    if let Err(e) = res {
        return render_one(
            &state,
            &s,
            &before,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(("error", e.detail.clone())),
            None,
        )
        .await;
    }
    match save(&state, &s.admin(), "user.locked", &before, u).await {
        Ok(u) => {
            let _ = revoke_user_sessions(&state, &u.id).await;
            render_one(
                &state,
                &s,
                &u,
                StatusCode::OK,
                Some(("info", "User locked.".into())),
                None,
            )
            .await
        }
        Err(e) => {
            render_one(
                &state,
                &s,
                &before,
                StatusCode::INTERNAL_SERVER_ERROR,
                Some(("error", e.detail.clone())),
                None,
            )
            .await
        }
    }
}

pub async fn unlock(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Ok(before) = find(&state, &id).await else {
        return see_other("/console/users");
    };
    let mut u = before.clone();
    // As the API and `idgate user unlock`: a disabled account stays disabled, and the
    // failure, lock-repeat and password counters start over (the next lock is a first).
    if u.status == UserStatus::Locked {
        u.status = UserStatus::Active;
    }
    u.locked_until = None;
    let saved = match save(&state, &s.admin(), "user.unlocked", &before, u).await {
        Ok(u) => state
            .store
            .reset_counters(&idgate_core::limits::user_counter_keys(&state.keys, &u))
            .await
            .map(|_| u)
            .map_err(Into::into),
        Err(e) => Err(e),
    };
    match saved {
        Ok(u) => {
            render_one(
                &state,
                &s,
                &u,
                StatusCode::OK,
                Some(("info", "User unlocked.".into())),
                None,
            )
            .await
        }
        Err(e) => {
            render_one(
                &state,
                &s,
                &before,
                StatusCode::INTERNAL_SERVER_ERROR,
                Some(("error", e.detail.clone())),
                None,
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
    let Ok(u) = find(&state, &id).await else {
        return see_other("/console/users");
    };
    let n = revoke_user_sessions(&state, &u.id).await.unwrap_or(0);
    crate::audit::audit(
        &state,
        &s.admin(),
        "user.sessions_revoked",
        Some(u.id.clone()),
        serde_json::json!({"revoked": n}),
    )
    .await;
    if u.id == s.user.id {
        return see_other("/console/login");
    }
    render_one(
        &state,
        &s,
        &u,
        StatusCode::OK,
        Some(("info", format!("{n} session(s) signed out."))),
        None,
    )
    .await
}
