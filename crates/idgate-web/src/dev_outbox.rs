//! `/dev/outbox`: the messages the dev outbox "delivered", like Mailpit for SMS. Only
//! mounted when the dev outbox is enabled.

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::api::rfc3339;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dev/outbox", get(page))
        .route("/dev/outbox.json", get(list_json))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    limit: Option<usize>,
    to: Option<String>,
}

async fn list_json(State(state): State<AppState>, Query(q): Query<ListQuery>) -> impl IntoResponse {
    let Some(outbox) = &state.outbox else {
        return Json(json!({"messages": []}));
    };
    let limit = q.limit.unwrap_or(50).min(500);
    let messages: Vec<_> = outbox
        .list(500)
        .into_iter()
        .filter(|m| q.to.as_deref().is_none_or(|to| m.to.as_str() == to))
        .take(limit)
        .map(|m| {
            json!({
                "id": m.id,
                "channel": m.channel.as_str(),
                "to": m.to.as_str(),
                "text": m.text,
                "provider": m.provider,
                "created_at": rfc3339(m.created_at),
            })
        })
        .collect();
    Json(json!({"messages": messages}))
}

async fn page(State(state): State<AppState>) -> impl IntoResponse {
    let rows: String = state
        .outbox
        .as_ref()
        .map(|o| o.list(100))
        .unwrap_or_default()
        .iter()
        .map(|m| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"text\">{}</td></tr>",
                escape(&rfc3339(m.created_at)),
                escape(m.channel.as_str()),
                escape(m.to.as_str()),
                escape(&m.text)
            )
        })
        .collect();
    let body = if rows.is_empty() {
        "<p class=\"empty\">No messages yet. Sign in somewhere, or start a verification: codes appear here.</p>".to_string()
    } else {
        format!(
            "<table><thead><tr><th>Time</th><th>Channel</th><th>To</th><th>Message</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="3"><title>Dev outbox · idgate</title>
<style>body{{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1f2937}}
h1{{font-size:1.4rem}}table{{border-collapse:collapse;width:100%}}th,td{{text-align:left;padding:.5rem;border-bottom:1px solid #e5e7eb;vertical-align:top}}
td.text{{font-family:ui-monospace,monospace;white-space:pre-wrap}}.note{{color:#6b7280}}.empty{{padding:2rem;background:#f9fafb;border-radius:8px}}</style></head>
<body><h1>Dev outbox</h1><p class="note">Messages idgate would have sent by SMS or WhatsApp, newest first. This page refreshes every 3 seconds; JSON at <a href="/dev/outbox.json">/dev/outbox.json</a>. Dev mode only — kept in memory, never written to disk.</p>
{body}</body></html>"#
    ))
}

/// Minimal HTML escaping for text nodes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}
