//! The OpenAPI document: valid OpenAPI 3.1 (structurally), and every `/api/v1` route the
//! router defines is documented — the routes are read from the routers' source, and each
//! documented operation is checked to exist on the running server.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::harness::TestServer;

const ROUTER_SOURCES: &[&str] = &[
    include_str!("../../../idgate-web/src/api/users.rs"),
    include_str!("../../../idgate-web/src/api/applications.rs"),
    include_str!("../../../idgate-web/src/api/audit.rs"),
    include_str!("../../../idgate-web/src/api/admin_tokens.rs"),
    include_str!("../../../idgate-web/src/api/verifications.rs"),
    include_str!("../../../idgate-web/src/api/otp_settings.rs"),
    include_str!("../../../idgate-web/src/api/providers.rs"),
    include_str!("../../../idgate-web/src/api/messages.rs"),
    include_str!("../../../idgate-web/src/api/mod.rs"),
];

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// (method, path) of every `.route("/api/v1…", get(..).post(..))` in the router sources.
fn routes() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for src in ROUTER_SOURCES {
        let mut rest = *src;
        while let Some(i) = rest.find(".route(") {
            rest = &rest[i + ".route(".len()..];
            // The call's text up to its closing parenthesis.
            let mut depth = 1;
            let mut end = 0;
            for (j, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = j;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let call = &rest[..end];
            let Some(path) = call.split('"').nth(1) else {
                continue;
            };
            if !path.starts_with("/api/v1") {
                continue;
            }
            let handlers = &call[call.find(',').unwrap()..];
            for m in METHODS {
                let found = handlers.match_indices(&format!("{m}(")).any(|(k, _)| {
                    k == 0
                        || !handlers.as_bytes()[k - 1].is_ascii_alphanumeric()
                            && handlers.as_bytes()[k - 1] != b'_'
                });
                if found {
                    out.insert((m.to_string(), path.to_string()));
                }
            }
        }
    }
    out
}

#[test]
fn route_scanner_finds_routes() {
    let r = routes();
    assert!(
        r.contains(&("patch".into(), "/api/v1/users/{id}".into())),
        "{r:?}"
    );
    assert!(r.contains(&("post".into(), "/api/v1/verifications/{id}/check".into())));
    assert!(r.len() >= 40, "{}", r.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_is_valid_and_covers_every_route() {
    let s = TestServer::start().await;
    let r = s.http.get(s.url("/api/openapi.json")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc: Value = r.json().await.unwrap();

    // Structurally OpenAPI 3.1.
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let paths = doc["paths"].as_object().expect("paths");
    let schemas = doc["components"]["schemas"]
        .as_object()
        .expect("components.schemas");
    assert!(schemas.contains_key("Problem") && schemas.contains_key("UserView"));
    assert!(doc["components"]["securitySchemes"]["admin_token"]["scheme"] == "bearer");
    // Every $ref resolves.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if k == "$ref" {
                        out.push(x.as_str().unwrap().to_string());
                    } else {
                        refs(x, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in &all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected ref {r}"));
        assert!(schemas.contains_key(name), "dangling $ref {r}");
    }
    // Operations have responses, and path parameters are declared.
    for (path, item) in paths {
        for (m, op) in item.as_object().unwrap() {
            if !METHODS.contains(&m.as_str()) {
                continue;
            }
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{m} {path}"
            );
            for seg in path.split('/').filter(|s| s.starts_with('{')) {
                let name = seg.trim_matches(|c| c == '{' || c == '}');
                let declared = op["parameters"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["name"] == name && p["in"] == "path"));
                assert!(declared, "{m} {path}: path parameter {name} not declared");
            }
        }
    }

    // Every router route is documented…
    let documented: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(p, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|m| METHODS.contains(&m.as_str()))
                .map(move |m| (m.clone(), p.clone()))
        })
        .collect();
    let missing: Vec<_> = routes().difference(&documented).cloned().collect();
    assert!(
        missing.is_empty(),
        "routes without documentation: {missing:?}"
    );
    // …and every documented operation exists (a missing route answers `route not found`).
    for (m, p) in &documented {
        let url = s.url(&p.replace('{', "x").replace('}', ""));
        let method = reqwest::Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
        let r = s.http.request(method, url).send().await.unwrap();
        assert_ne!(r.status(), 405, "{m} {p} is documented but not routed");
        let body = r.text().await.unwrap();
        assert!(
            !body.contains("route not found"),
            "{m} {p} is documented but not routed"
        );
    }
    s.stop().await;
}
