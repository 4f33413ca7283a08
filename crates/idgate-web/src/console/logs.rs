//! Overview (last 24 h), Messages (the delivery log) and the Audit log.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idgate_core::message::DeliveryStatus;
use idgate_core::otp::Channel;
use idgate_core::store::MessageFilter;

use crate::api::audit::{AuditQuery, query};
use crate::console::views::{Cell, Panel, Table, html};
use crate::console::{guard, page, when};
use crate::state::AppState;

pub async fn overview(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let s = match guard(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let since = state.now() - 86_400;
    let counts = match state.store.admin_counts(since).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "console: counting failed");
            return page(
                &state,
                &s,
                StatusCode::INTERNAL_SERVER_ERROR,
                "overview",
                "Overview",
                Some((
                    "error",
                    "The counts could not be read; the server log has the details.".into(),
                )),
                vec![],
            );
        }
    };
    let v = |status: &str| {
        counts
            .verifications
            .iter()
            .filter(|(s, _)| s == status)
            .map(|(_, n)| *n)
            .sum::<i64>()
    };
    let started: i64 = counts.verifications.iter().map(|(_, n)| n).sum();
    let failed = v("failed") + v("max_attempts_reached") + v("expired");
    let items = vec![
        ("Users".to_string(), counts.users.to_string()),
        ("Applications".to_string(), counts.applications.to_string()),
        ("Sign-ins (24 h)".to_string(), counts.sign_ins.to_string()),
        ("Codes sent (24 h)".to_string(), started.to_string()),
        (
            "Codes approved (24 h)".to_string(),
            v("approved").to_string(),
        ),
        (
            "Codes failed, expired or out of attempts (24 h)".to_string(),
            failed.to_string(),
        ),
        ("Codes pending".to_string(), v("pending").to_string()),
    ];
    // Delivery success per provider: delivered or sent, over everything that finished.
    let mut per: BTreeMap<(String, String), (i64, i64, i64)> = BTreeMap::new();
    for (ch, provider, status, n) in &counts.messages {
        let e = per.entry((ch.clone(), provider.clone())).or_default();
        e.0 += n;
        match status.as_str() {
            "sent" | "delivered" => e.1 += n,
            "failed" | "undelivered" => e.2 += n,
            _ => {}
        }
    }
    let rows = per
        .iter()
        .map(|((ch, p), (total, ok, bad))| {
            let rate = if ok + bad > 0 {
                format!("{:.1} %", (*ok as f64) * 100.0 / ((ok + bad) as f64))
            } else {
                "-".into()
            };
            vec![
                Cell::text(p.clone()),
                Cell::text(ch.clone()),
                Cell::text(total.to_string()),
                Cell::text(ok.to_string()),
                Cell::text(bad.to_string()),
                Cell::text(rate),
            ]
        })
        .collect();
    let sections = vec![
        html(&Panel {
            title: "Last 24 hours".into(),
            items,
            ..Default::default()
        }),
        html(&Table {
            title: "Delivery success rate per provider (24 h)".into(),
            headers: vec![
                "Provider",
                "Channel",
                "Messages",
                "Sent or delivered",
                "Failed",
                "Success rate",
            ],
            rows,
            empty: "No message in the last 24 hours.".into(),
            more: None,
        }),
    ];
    page(
        &state,
        &s,
        StatusCode::OK,
        "overview",
        "Overview",
        None,
        sections,
    )
}

pub async fn messages(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = match guard(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let status = q.get("status").and_then(|v| DeliveryStatus::parse(v));
    let channel = q.get("channel").and_then(|v| Channel::parse(v));
    let cursor = q
        .get("cursor")
        .filter(|c| !c.is_empty() && c.len() < 100)
        .cloned();
    let limit = 100u32;
    let rows = state
        .store
        .list_messages(&MessageFilter {
            status,
            channel,
            since: None,
            verification_id: None,
            limit,
            before: cursor,
        })
        .await
        .unwrap_or_default();
    let next = (rows.len() == limit as usize)
        .then(|| rows.last().map(|m| m.id.clone()))
        .flatten();
    let table_rows = rows
        .iter()
        .map(|m| {
            vec![
                Cell::text(when(m.created_at)),
                Cell::text(m.channel.as_str()),
                Cell::text(m.provider.clone()),
                Cell::text(m.to_masked.clone()),
                Cell::class(
                    m.status.as_str(),
                    match m.status {
                        DeliveryStatus::Failed | DeliveryStatus::Undelivered => "bad",
                        DeliveryStatus::Delivered | DeliveryStatus::Sent => "ok",
                        _ => "badge",
                    },
                ),
                Cell::text(m.latency_ms.map(|l| format!("{l} ms")).unwrap_or_default()),
                Cell::text(m.attempts.to_string()),
                Cell::text(m.error.clone().unwrap_or_default()),
            ]
        })
        .collect();
    let filter = |k: &str, v: &str| {
        let mut p = vec![];
        if k != "status"
            && let Some(s) = status
        {
            p.push(format!("status={}", s.as_str()));
        }
        if k != "channel"
            && let Some(c) = channel
        {
            p.push(format!("channel={}", c.as_str()));
        }
        if !v.is_empty() {
            p.push(format!("{k}={v}"));
        }
        format!("/console/messages?{}", p.join("&"))
    };
    let mut links = vec![(filter("status", ""), "Any status".to_string())];
    for st in ["queued", "sent", "delivered", "undelivered", "failed"] {
        links.push((filter("status", st), st.to_string()));
    }
    let mut ch_links = vec![(filter("channel", ""), "Any channel".to_string())];
    for c in ["sms", "whatsapp"] {
        ch_links.push((filter("channel", c), c.to_string()));
    }
    let current_status = filter("status", status.map(|s| s.as_str()).unwrap_or(""));
    let current_channel = filter("channel", channel.map(|c| c.as_str()).unwrap_or(""));
    let sections = vec![
        html(&Panel {
            title: "Status".into(),
            links,
            current: current_status,
            ..Default::default()
        }),
        html(&Panel {
            title: "Channel".into(),
            links: ch_links,
            current: current_channel,
            ..Default::default()
        }),
        html(&Table {
            title: "Delivery log".into(),
            headers: vec![
                "Time (UTC)",
                "Channel",
                "Provider",
                "To",
                "Status",
                "Latency",
                "Attempts",
                "Error",
            ],
            rows: table_rows,
            empty: "No message matches.".into(),
            more: next.map(|n| {
                (
                    format!("{}&cursor={n}", filter("", "")),
                    "Older messages →".to_string(),
                )
            }),
        }),
    ];
    page(
        &state,
        &s,
        StatusCode::OK,
        "messages",
        "Messages",
        None,
        sections,
    )
}

pub async fn audit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = match guard(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let aq = AuditQuery {
        action: q.get("action").cloned(),
        cursor: q.get("cursor").cloned(),
        limit: Some("100".into()),
        ..Default::default()
    };
    let (events, limit) = match query(&state, aq).await {
        Ok(r) => r,
        Err(e) => {
            return page(
                &state,
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                "audit",
                "Audit log",
                Some(("error", e.detail.clone())),
                vec![],
            );
        }
    };
    let next = (events.len() == limit as usize)
        .then(|| events.last().map(|e| e.id.clone()))
        .flatten();
    let rows = events
        .iter()
        .map(|e| {
            let details = e.details.to_string();
            let details: String = details.chars().take(300).collect();
            vec![
                Cell::text(when(e.at)),
                Cell::text(e.actor.clone()),
                Cell::text(e.action.clone()),
                Cell::text(e.target.clone().unwrap_or_default()),
                Cell::text(details),
            ]
        })
        .collect();
    let action = q.get("action").cloned().unwrap_or_default();
    let links = [
        "",
        "user.",
        "application.",
        "provider.",
        "otp_policy.",
        "template.",
        "admin_token.",
        "console.",
    ]
    .iter()
    .map(|a| {
        (
            format!("/console/audit?action={a}"),
            if a.is_empty() {
                "All".to_string()
            } else {
                a.trim_end_matches('.').to_string()
            },
        )
    })
    .collect();
    let sections = vec![
        html(&Panel {
            title: "Filter".into(),
            links,
            current: format!("/console/audit?action={action}"),
            ..Default::default()
        }),
        html(&Table {
            title: "Who changed what".into(),
            headers: vec!["Time (UTC)", "Actor", "Action", "Target", "Details"],
            rows,
            empty: "No event.".into(),
            more: next.map(|n| {
                (
                    format!("/console/audit?action={action}&cursor={n}"),
                    "Older events →".to_string(),
                )
            }),
        }),
    ];
    page(
        &state,
        &s,
        StatusCode::OK,
        "audit",
        "Audit log",
        None,
        sections,
    )
}
