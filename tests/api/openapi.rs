//! The OpenAPI document: served as generated from the code, equal to the committed `openapi.json`, covering
//! every route; and the reference page that renders it, from relais's own assets under a strict policy.

use serde_json::Value;

use crate::helpers::{Db, spawn_app};

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");

/// Fails when the code and the committed document disagree. To update the file after changing the API:
/// `cargo run -- openapi > openapi.json`, or run this test with `RELAIS_WRITE_OPENAPI=1`.
#[test]
fn the_committed_openapi_json_is_what_the_code_generates() {
    let generated = relais::http::openapi::document_json();
    if std::env::var_os("RELAIS_WRITE_OPENAPI").is_some() {
        std::fs::write(COMMITTED, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.json differs from the code: regenerate it with `cargo run -- openapi > openapi.json` \
         (or RELAIS_WRITE_OPENAPI=1 cargo nextest run -E 'test(/openapi/)') and commit it"
    );
}

#[test]
fn the_document_describes_every_route_under_v1_and_health() {
    let doc: Value = serde_json::from_str(&relais::http::openapi::document_json()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let routes = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/routes"))
        .unwrap()
        .flat_map(|e| {
            let path = e.unwrap().path();
            if path.is_dir() { vec![path.join("mod.rs")] } else { vec![path] }
        })
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect::<String>();
    let (mut missing, mut checked) = (Vec::new(), 0);
    for line in routes.split(".route(\"").skip(1).map(|r| r.lines().next().unwrap_or_default()) {
        let path = line.split('"').next().unwrap();
        if !(path.starts_with("/v1/") || path.ends_with("z")) {
            continue;
        }
        let methods: Vec<&str> =
            ["get", "post", "put", "delete"].into_iter().filter(|m| line.contains(&format!("{m}("))).collect();
        for method in methods {
            checked += 1;
            if doc["paths"][path][method].is_null() {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(checked >= 40, "only {checked} routes found in src/http/routes");
    assert!(missing.is_empty(), "routes missing from the OpenAPI document: {missing:?}");
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    for scheme in ["api_key", "stripe", "standard_webhooks", "gocardless", "chargebee", "hmac"] {
        assert!(schemes.contains_key(scheme), "{scheme}");
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert_eq!(doc["webhooks"].as_object().unwrap().len(), relais::notify::callbacks::EVENT_TYPES.len());
    let problem = &doc["paths"]["/v1/letters"]["post"]["responses"]["422"]["content"]["application/problem+json"];
    assert!(problem["schema"]["$ref"].as_str().unwrap().ends_with("/Problem"), "{problem}");
}

async fn the_document_and_its_reference_page_are_served_with_a_strict_policy(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let served = app.client.get(app.url("/openapi.json")).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.text().await.unwrap(), relais::http::openapi::document_json());
    for (path, kind) in
        [("/docs/api", "text/html"), ("/docs/api/api.js", "text/javascript"), ("/docs/api/api.css", "text/css")]
    {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with(kind), "{path}");
        let policy = response.headers()["content-security-policy"].to_str().unwrap();
        assert!(policy.starts_with("default-src 'none'") && policy.contains("script-src 'self'"), "{policy}");
        let body = response.text().await.unwrap();
        assert!(!body.contains("http://") && !body.contains("https://"), "{path} loads nothing from elsewhere");
    }
    app.stop().await;
}

crate::on_both_databases!(the_document_and_its_reference_page_are_served_with_a_strict_policy);
