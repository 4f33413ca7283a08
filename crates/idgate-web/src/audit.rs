//! Audit events for admin changes: stored (so the console and `/api/v1/audit-events` can
//! show them) and emitted as structured log lines. Details never carry a secret, a code
//! or a full phone number: callers pass views that only say whether a secret is set, and
//! [`redact`] masks anything that slipped through.

use idgate_core::audit::AuditEvent;
use idgate_core::phone::mask_for_logs;
use serde_json::Value;

use crate::auth::Admin;
use crate::state::AppState;

/// Records an admin change; a failure to audit is logged, not hidden.
pub async fn audit(
    state: &AppState,
    admin: &Admin,
    action: &str,
    target: Option<String>,
    details: Value,
) {
    record(state, admin.actor(), action, target, details).await;
}

/// Records an event for any actor (`system`, `user:<name>`, …).
pub async fn record(
    state: &AppState,
    actor: String,
    action: &str,
    target: Option<String>,
    details: Value,
) {
    let event = AuditEvent {
        id: idgate_core::new_id(),
        at: state.now(),
        actor,
        action: action.to_string(),
        target,
        details: redact(details),
    };
    log_line(&event);
    if let Err(e) = state.store.insert_audit(&event).await {
        tracing::error!(error = %e, action, "could not store audit event");
    }
}

/// Writes the event as a log line under the log target `audit`. The event's target is
/// the field `resource` (a field named `target` would collide with the log record's own
/// `target` in JSON logs), written as a plain value and left out when there is none.
pub fn log_line(event: &AuditEvent) {
    tracing::info!(
        target: "audit",
        actor = %event.actor,
        action = %event.action,
        resource = event.target.as_deref().map(tracing::field::display),
        "admin change"
    );
}

/// Keys whose values are never kept in an audit event.
const SECRET_KEYS: [&str; 7] = [
    "password",
    "password_hash",
    "client_secret",
    "client_secret_hash",
    "token",
    "token_hash",
    "code",
];

/// Replaces secret-looking values with `"[redacted]"` and masks phone numbers kept under
/// `mobile` / `to`, at any depth.
pub fn redact(mut v: Value) -> Value {
    redact_in(&mut v);
    v
}

fn redact_in(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if SECRET_KEYS.contains(&k.as_str()) || k.ends_with("_secret") {
                    if !val.is_null() && !val.is_boolean() {
                        *val = Value::String("[redacted]".into());
                    }
                } else if (k == "mobile" || k == "to") && val.is_string() {
                    if let Some(s) = val.as_str()
                        && s.starts_with('+')
                    {
                        *val = Value::String(mask_for_logs(s));
                    }
                } else {
                    redact_in(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_in),
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_secrets_and_masks_numbers() {
        let v = redact(json!({
            "before": {"mobile": "+94771234553", "password": "hunter2", "client_secret_set": true},
            "after": [{"client_secret": "abc", "token_hash": null}],
        }));
        assert_eq!(v["before"]["password"], "[redacted]");
        assert_eq!(v["before"]["client_secret_set"], true);
        assert_eq!(v["after"][0]["client_secret"], "[redacted]");
        assert!(v["after"][0]["token_hash"].is_null());
        let m = v["before"]["mobile"].as_str().unwrap();
        assert!(!m.contains("1234"), "{m}");
    }

    /// A `MakeWriter` into a shared buffer, for reading what a subscriber wrote.
    #[derive(Clone, Default)]
    struct Buf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buf {
        type Writer = Buf;
        fn make_writer(&'a self) -> Buf {
            self.clone()
        }
    }

    impl Buf {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn event(target: Option<&str>) -> AuditEvent {
        AuditEvent {
            id: "e1".into(),
            at: 0,
            actor: "admin-token:docs".into(),
            action: "provider.created".into(),
            target: target.map(str::to_string),
            details: json!({}),
        }
    }

    #[test]
    fn audit_log_line_names_the_resource_without_clobbering_the_log_target() {
        // JSON, as `log.format = "json"` writes it (flattened fields).
        let buf = Buf::default();
        let json_logs = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(buf.clone())
            .finish();
        tracing::subscriber::with_default(json_logs, || log_line(&event(Some("p-1"))));
        let line = buf.text();
        assert_eq!(line.matches("\"target\"").count(), 1, "{line}");
        let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(v["target"], "audit", "{line}");
        assert_eq!(v["resource"], "p-1", "{line}");
        assert_eq!(v["action"], "provider.created", "{line}");

        // Text: plain values, no `Some("…")`; no resource field when there is none.
        let buf = Buf::default();
        let text_logs = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(buf.clone())
            .finish();
        tracing::subscriber::with_default(text_logs, || {
            log_line(&event(Some("p-1")));
            log_line(&event(None));
        });
        let text = buf.text();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].ends_with(
                "audit: admin change actor=admin-token:docs action=provider.created resource=p-1"
            ),
            "{text}"
        );
        assert!(
            lines[1]
                .ends_with("audit: admin change actor=admin-token:docs action=provider.created"),
            "{text}"
        );
        assert!(!text.contains("Some("), "{text}");
    }
}
