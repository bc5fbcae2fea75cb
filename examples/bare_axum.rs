//! A bare axum endpoint that accepts a JSON body and answers 202: the baseline the intake benchmark
//! compares relais against (same machine, same load, no authentication, no database).

// The allocator relais ships with, so that the figures are those of the binary.
#[path = "../src/allocator.rs"]
mod allocator;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18081".into());
    let app = Router::new().route(
        "/v1/letters",
        post(|body: axum::body::Bytes| async move {
            let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            (StatusCode::ACCEPTED, axum::Json(serde_json::json!({ "id": "ltr_bare", "ok": parsed.is_object() })))
        }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
