//! A disabled callback endpoint from the console: the email links to its page, which shows why and the
//! attempts; "enable again" resends what it missed — for members, not viewers.

use relais::accounts::users::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::people::{make_user, sign_in};
use crate::callbacks::{Answer, Receiver, loopback_settings, types};
use crate::helpers::{Db, OUTCOME_TIMEOUT, TestEnv, spawn_with};

async fn a_disabled_endpoint_is_enabled_again_from_the_page_its_email_links_to(db: Db) {
    let env = TestEnv::new(db).await;
    let app = spawn_with(&env, loopback_settings(&env)).await;
    make_user(&app, "claire@cabinet.fr", Role::Member).await;
    make_user(&app, "lecture@cabinet.fr", Role::Viewer).await;
    let receiver = Receiver::start(vec![Answer::Status(410)]).await;
    let created: Value = app.post_json("/v1/callbacks", &json!({ "url": receiver.url() })).await.json().await.unwrap();
    let (endpoint, secret) = (created["id"].as_str().unwrap(), created["secret"].as_str().unwrap());
    let id = app.submit("compta@boulangerie-martin.fr").await;
    app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    let deadline = tokio::time::Instant::now() + OUTCOME_TIMEOUT;
    while app.get(&format!("/v1/callbacks/{endpoint}")).await.json::<Value>().await.unwrap()["state"] != "disabled" {
        assert!(tokio::time::Instant::now() < deadline, "the endpoint was not disabled");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // The email says where to click, not what to POST.
    let raw = std::fs::read_dir(&app.outbox)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().contains(&format!("{endpoint}-callback_disabled")))
        .map(|e| std::fs::read(e.path()).unwrap())
        .expect("the sender is emailed");
    let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let email = message.body_text(0).unwrap().into_owned();
    let page_path = format!("/console/callbacks/{endpoint}");
    assert!(email.contains(&page_path), "{email}");
    assert!(!email.contains("POST") && !email.contains("/v1/"), "{email}");

    let viewer = sign_in(&app, "lecture@cabinet.fr").await;
    let page = viewer.page(&page_path).await;
    assert!(page.contains("id=\"disabled-reason\"") && page.contains("410"), "{page}");
    assert!(!page.contains("id=\"enable-endpoint\""), "a viewer is not offered the button");
    let csrf = viewer.csrf().await;
    let forged = viewer.post(&format!("{page_path}/enable"), &[("csrf", &csrf)]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let shown: Value = app.get(&format!("/v1/callbacks/{endpoint}")).await.json().await.unwrap();
    assert_eq!(shown["state"], "disabled", "the viewer's forged form changed nothing");

    let member = sign_in(&app, "claire@cabinet.fr").await;
    assert!(member.page("/console/callbacks").await.contains(&format!("data-endpoint=\"{endpoint}\"")));
    let before = receiver.deliveries().len();
    receiver.set(vec![Answer::Status(200)]);
    let csrf = member.csrf().await;
    let enabled = member.post(&format!("{page_path}/enable"), &[("csrf", &csrf)]).await;
    assert_eq!(enabled.status(), StatusCode::SEE_OTHER);
    let location = enabled.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{page_path}?replayed=")), "{location}");
    let page = member.page(&location).await;
    assert!(page.contains("id=\"flash\"") && !page.contains("id=\"disabled-reason\""), "{page}");
    let delivered = |d: &[(axum::http::HeaderMap, Vec<u8>)]| {
        d[before..].iter().any(|(_, body)| String::from_utf8_lossy(body).contains("letter.delivered"))
    };
    receiver.wait_for("the missed events", delivered).await;
    let replayed = types(&receiver.verified(secret)[before..]);
    assert!(replayed.contains(&"letter.delivered".to_owned()), "{replayed:?}");
    app.stop().await;
}

crate::on_both_databases!(a_disabled_endpoint_is_enabled_again_from_the_page_its_email_links_to);
