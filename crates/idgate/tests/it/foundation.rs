//! The server's base: probes, metrics, request ids, problem+json, graceful shutdown.

use crate::harness::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_answer_and_metrics_count_requests() {
    let s = TestServer::start().await;
    let r = s.http.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = s.http.get(s.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let ready: serde_json::Value = r.json().await.unwrap();
    let backend = if s.db.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(ready["database"], backend);

    let metrics = s.metrics().await;
    assert!(
        metrics.contains("http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("http_request_duration_seconds_bucket"),
        "{metrics}"
    );
    s.stop().await;
}

/// Every idgate counter is there from the start, with HELP text: a series that first
/// appears at 1 hides its first event from Prometheus' `increase()`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idgate_counters_exist_before_their_first_event() {
    let s = TestServer::start().await;
    // (The HTTP metrics exist once a request has been answered.)
    let r = s.http.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let metrics = s.metrics().await;
    for name in [
        "http_requests_total",
        "http_request_duration_seconds",
        "idgate_limit_refusals_total",
        "idgate_prefix_blocks_total",
        "idgate_send_budget_tripped_total",
        "idgate_account_lockouts_total",
        "idgate_codes_sent_total",
        "idgate_signins_total",
    ] {
        assert!(
            metrics.contains(&format!("# HELP {name} ")),
            "{name}: {metrics}"
        );
    }
    for series in [
        r#"idgate_limit_refusals_total{rule="sends_per_number"}"#,
        r#"idgate_send_budget_tripped_total{channel="sms"}"#,
        r#"idgate_send_budget_tripped_total{channel="whatsapp"}"#,
        r#"idgate_prefix_blocks_total{channel="sms"}"#,
        "idgate_account_lockouts_total ",
        r#"idgate_codes_sent_total{channel="sms",provider="d7-sms",outcome="sent"}"#,
        r#"idgate_signins_total{factors="password+sms"} 0"#,
        r#"idgate_signins_total{factors="sms"} 0"#,
    ] {
        assert!(metrics.contains(series), "{series}: {metrics}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_a_request_id_and_unknown_routes_are_problems() {
    let s = TestServer::start().await;
    let r = s.http.get(s.url("/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.headers().get("x-request-id").is_some());
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], 404);
    // A caller-supplied id is kept, so logs can be correlated across services.
    let r = s
        .http
        .get(s.url("/healthz"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-me-123");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_refused() {
    let s = TestServer::start_with(|c| c.server.body_limit_bytes = 2048).await;
    let token = s.admin_token().await;
    let r = s
        .http
        .put(s.url("/api/v1/otp-policy"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(format!(
            "{{\"length\": 6, \"pad\": \"{}\"}}",
            "x".repeat(4096)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    s.stop().await;
}
