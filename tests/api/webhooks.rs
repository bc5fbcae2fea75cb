//! Provider webhooks are authenticated over their raw bytes, and a webhook about an unknown letter changes nothing.

use relais::notify::signing;
use serde_json::{Value, json};

use crate::helpers::{Db, OUTCOME_TIMEOUT, spawn_app};

async fn a_forged_or_unknown_webhook_changes_nothing(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let id = app.submit("webhook@example.fr").await;
    let letter = app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    let events_before = letter["events"].as_array().unwrap().len();
    let url = app.url("/v1/providers/sandbox/webhooks");
    let body =
        json!({"provider_ref": letter["provider"]["reference"], "letter_id": id, "stage": "refused"}).to_string();
    let now = chrono::Utc::now().timestamp();

    let unsigned = app.client.post(&url).body(body.clone()).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);
    let forged = app
        .client
        .post(&url)
        .header("webhook-id", "msg_1")
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", signing::sign("wrong-secret", "msg_1", now, body.as_bytes()))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let problem: Value = forged.json().await.unwrap();
    assert_eq!(problem["code"], "invalid_webhook");

    let unknown = json!({"provider_ref": "sbx_unknown", "letter_id": "ltr_x", "stage": "delivered"}).to_string();
    let signed_unknown = app
        .client
        .post(&url)
        .header("webhook-id", "msg_2")
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", signing::sign("sandbox-webhook-secret", "msg_2", now, unknown.as_bytes()))
        .body(unknown)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_unknown.status(), 404);

    let after = app.get_letter(&id).await;
    assert_eq!(after["state"], "delivered");
    assert_eq!(after["events"].as_array().unwrap().len(), events_before);
    app.stop().await;
}

crate::on_both_databases!(a_forged_or_unknown_webhook_changes_nothing);
