//! Maileva's callbacks: relais subscribes through notification_center with Basic credentials it generated and
//! stored (the same after a restart, never printed), once per event however often it is linked; a callback
//! with wrong credentials changes nothing, the right ones make relais look again.

use std::time::Duration;

use relais::config::ProviderSettings;
use relais::providers::LinkOutcome;
use relais::providers::maileva::wire::EVENTS;

use crate::ar24::states;
use crate::fake_maileva::{FakeMaileva, FakeSubscription, Stage};
use crate::helpers::{Db, OUTCOME_TIMEOUT, TestApp, TestEnv, spawn_with};
use crate::maileva::{paper_letter, settings_for, spawn_maileva, submitted};

/// A paper sender on the fake Maileva, with `webhooks` (subscribe at start) as given.
async fn start(env: &TestEnv, fake: &FakeMaileva, webhooks: bool) -> TestApp {
    let mut settings = env.settings();
    let mut maileva = settings_for(fake);
    maileva.webhooks = webhooks;
    settings.providers.insert("maileva".into(), ProviderSettings::Maileva(maileva));
    settings.senders[0].provider = "maileva".into();
    settings.senders[0].service = relais::config::Service::Paper;
    spawn_with(env, settings).await
}

async fn link(app: &TestApp) -> LinkOutcome {
    let sender = app.services.settings.senders[0].clone();
    let provider = app.services.providers.get("maileva").unwrap().clone();
    provider.link_sender(&sender).await.expect("linked")
}

/// Each event relais follows is subscribed exactly once to `url`, all with the same credentials.
fn one_per_event(subscriptions: &[FakeSubscription], url: &str) -> (String, String) {
    let ours: Vec<&FakeSubscription> = subscriptions.iter().filter(|s| s.callback_url == url).collect();
    for (resource, event) in EVENTS {
        let count = ours.iter().filter(|s| s.resource_type == resource && s.event_type == event).count();
        assert_eq!(count, 1, "{resource} {event}: {subscriptions:?}");
    }
    assert_eq!(ours.len(), EVENTS.len());
    let first = ours[0];
    assert!(ours.iter().all(|s| s.login == first.login && s.password == first.password));
    (first.login.clone(), first.password.clone())
}

async fn linking_twice_subscribes_once_with_stored_credentials_never_printed(db: Db) {
    let fake = FakeMaileva::start().await;
    let env = crate::helpers::TestEnv::new(db).await;
    let app = start(&env, &fake, false).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(fake.subscriptions().is_empty(), "webhooks = false: nothing subscribed at start");
    let first = link(&app).await;
    let second = link(&app).await;
    let LinkOutcome::WebhooksSubscribed { url, events } = &second else { panic!("{second:?}") };
    assert_eq!((first.clone(), *events), (second.clone(), EVENTS.len()));
    let (login, password) = one_per_event(&fake.subscriptions(), url);
    assert_eq!(login, "relais-maileva");
    assert!(password.len() >= 32, "a generated password: {password}");
    let stored = app.store.webhook_credentials("maileva", ("other", "other"), 0).await.unwrap();
    assert_eq!(stored, (login.clone(), password.clone()), "the credentials are the stored ones");
    assert!(
        !format!("{second:?}").contains(&password) && !app.services.settings.printable().unwrap().contains(&password)
    );
    let patched = fake.requests().iter().filter(|r| r.method == "PATCH").count();
    assert_eq!(patched, EVENTS.len(), "the second link updated the same subscriptions");
    app.stop().await;
    // A restart (on another port, so another URL) subscribes that URL with the same stored credentials.
    let again = start(&env, &fake, true).await;
    let deadline = tokio::time::Instant::now() + OUTCOME_TIMEOUT;
    while fake.subscriptions().len() < 2 * EVENTS.len() {
        assert!(tokio::time::Instant::now() < deadline, "the restarted relais never subscribed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = format!("{}/v1/providers/maileva/webhooks", again.address);
    assert_eq!(one_per_event(&fake.subscriptions(), &url), (login, password));
    again.stop().await;
}

async fn a_callback_with_wrong_credentials_changes_nothing(db: Db) {
    let (app, _env, fake) = spawn_maileva(db, |_| {}).await;
    let id = app.submit_letter_value(&paper_letter()).await;
    let sending = submitted(&fake, &id).await;
    app.wait_for(&id, "given its sending id", |l| l["provider"]["reference"] == sending.id).await;
    // Maileva knows the letter was delivered, but its callback is lost; a forger calls instead.
    fake.advance_silently(&sending.id, Stage::Delivered);
    let subscription = fake.subscriptions().into_iter().next().unwrap();
    let body = serde_json::json!({"source": "api.maileva.com", "event_type": "ON_MAIN_DELIVERY_STATUS_DELIVERED",
        "resource_type": "registered_mail/v4/recipients", "resource_id": "x", "resource_custom_id": id});
    let url = app.url("/v1/providers/maileva/webhooks");
    for (login, password) in
        [(subscription.login.as_str(), "guessed"), ("relais-other", subscription.password.as_str())]
    {
        let answer = app.client.post(&url).basic_auth(login, Some(password)).json(&body).send().await.unwrap();
        assert_eq!(answer.status(), 401);
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let letter = app.get_letter(&id).await;
    assert_eq!(letter["state"], "submitting", "a refused callback made relais look at nothing: {letter:#}");
    assert!(!states(&letter).contains(&"deposited".to_owned()));
    let right = app.client.post(&url).basic_auth(&subscription.login, Some(&subscription.password)).json(&body);
    assert_eq!(right.send().await.unwrap().status(), 201);
    app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    app.stop().await;
}

crate::on_both_databases!(
    linking_twice_subscribes_once_with_stored_credentials_never_printed,
    a_callback_with_wrong_credentials_changes_nothing,
);
