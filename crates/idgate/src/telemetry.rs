//! The metrics idgate exports, described once the recorder is installed: every metric
//! gets Prometheus `HELP` text, and every `idgate_*` counter is created at 0 for all its
//! label values. A counter that first appears at 1 hides its first event from
//! Prometheus' `increase()` and `rate()`; docs/monitoring.md lists the same set.

/// Describes every metric and creates each `idgate_*` series at 0. Idempotent; call it
/// after the recorder is installed ([`idgate_web::metrics::handle`]), or it is lost.
pub fn describe() {
    metrics::describe_counter!(
        "http_requests_total",
        "HTTP responses, by method, route template and status."
    );
    metrics::describe_histogram!(
        "http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency, by method and route template."
    );
    idgate_core::limits::describe_metrics();
    idgate_core::login::describe_metrics();
    idgate_notify::dispatcher::describe_metrics();
    idgate_notify::dlr::describe_metrics();
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use metrics_exporter_prometheus::PrometheusBuilder;

    /// Every `idgate_*` counter has `HELP` text and exists at 0 before its first event.
    #[test]
    fn idgate_counters_are_described_and_start_at_zero() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, super::describe);
        let out = handle.render();
        for name in [
            "idgate_limit_refusals_total",
            "idgate_prefix_blocks_total",
            "idgate_send_budget_tripped_total",
            "idgate_account_lockouts_total",
            "idgate_codes_sent_total",
            "idgate_webhook_signature_failures_total",
        ] {
            assert!(out.contains(&format!("# HELP {name} ")), "{name}:\n{out}");
            assert!(
                out.contains(&format!("# TYPE {name} counter")),
                "{name}:\n{out}"
            );
        }
        for series in [
            r#"idgate_limit_refusals_total{rule="sends_per_number"} 0"#,
            r#"idgate_limit_refusals_total{rule="password_delay"} 0"#,
            r#"idgate_limit_refusals_total{rule="account_locked"} 0"#,
            r#"idgate_prefix_blocks_total{channel="whatsapp"} 0"#,
            r#"idgate_send_budget_tripped_total{channel="sms"} 0"#,
            "idgate_account_lockouts_total 0",
            r#"idgate_codes_sent_total{channel="sms",provider="d7-sms",outcome="failed"} 0"#,
            r#"idgate_codes_sent_total{channel="whatsapp",provider="d7-whatsapp",outcome="sent"} 0"#,
            r#"idgate_webhook_signature_failures_total{provider_kind="twilio",reason="missing"} 0"#,
            r#"idgate_webhook_signature_failures_total{provider_kind="vonage",reason="bad"} 0"#,
        ] {
            assert!(out.contains(series), "{series}:\n{out}");
        }
        // No impossible pair (a WhatsApp-only kind on SMS).
        assert!(
            !out.contains(r#"channel="sms",provider="d7-whatsapp""#),
            "{out}"
        );
        assert_eq!(
            out.matches("idgate_limit_refusals_total{").count(),
            12,
            "{out}"
        );
        assert_eq!(out.matches("idgate_codes_sent_total{").count(), 18, "{out}");
    }
}
