//! Never sent twice when the provider is slow: a letter whose answer was lost is sent again only after the
//! provider showed no such letter for `resend_after` since the request ended, and the lookup pages back
//! past every letter recorded since the first attempt.

use std::time::Duration;

use relais::config::Service;
use serde_json::Value;

use crate::ar24::{mail_for, spawn_ar24_with, states};
use crate::fake_ar24::FakeAr24;
use crate::helpers::{Db, OUTCOME_TIMEOUT};

const CLIENT_TIMEOUT: Duration = Duration::from_millis(300);

fn letters_at_ar24(fake: &FakeAr24, id: &str) -> usize {
    fake.mails().iter().filter(|m| m.ref_dossier.as_deref() == Some(id)).count()
}

fn event_at(letter: &Value, state: &str, nth: usize) -> i64 {
    let events = letter["events"].as_array().unwrap();
    let at = events.iter().filter(|e| e["state"] == state).nth(nth).unwrap()["at"].as_str().unwrap();
    chrono::DateTime::parse_from_rfc3339(at).unwrap().timestamp_millis()
}

async fn a_provider_recording_letters_up_to_ten_times_the_timeout_late_gets_each_letter_once(db: Db) {
    let resend_after = CLIENT_TIMEOUT * 10 + Duration::from_secs(1);
    let (app, _env, fake, _) = spawn_ar24_with(db, Service::Simple, |a| {
        a.timeout = CLIENT_TIMEOUT;
        a.resend_after = resend_after;
    })
    .await;
    let late = [10, 2, 6, 9, 4].map(|n| CLIENT_TIMEOUT * n);
    fake.delay_next_mails(&late);
    let mut ids = Vec::new();
    for _ in late {
        ids.push(app.submit("compta@boulangerie-martin.fr").await);
    }
    for id in &ids {
        let letter = app.wait_for(id, "adopted", |l| l["provider"]["reference"].is_string()).await;
        assert!(states(&letter).contains(&"needs_attention".to_owned()), "the answer was lost: {letter:#}");
    }
    // Past every re-send deadline: still one AR24 letter per relais letter.
    tokio::time::sleep(resend_after + Duration::from_millis(500)).await;
    let duplicates: usize = ids.iter().map(|id| letters_at_ar24(&fake, id).saturating_sub(1)).sum();
    assert_eq!(duplicates, 0, "{:?}", ids.iter().map(|id| letters_at_ar24(&fake, id)).collect::<Vec<_>>());
    assert_eq!(fake.mails().len(), ids.len());
    app.stop().await;
}

async fn a_letter_the_provider_really_lost_is_sent_again_once_after_resend_after(db: Db) {
    let resend_after = Duration::from_secs(2);
    let (app, _env, fake, _) = spawn_ar24_with(db, Service::Simple, |a| {
        a.timeout = CLIENT_TIMEOUT;
        a.resend_after = resend_after;
    })
    .await;
    fake.lose_next_mail();
    let id = app.submit("compta@boulangerie-martin.fr").await;
    let waiting = app.wait_for_state(&id, "needs_attention", OUTCOME_TIMEOUT).await;
    assert!(waiting["state_detail"].as_str().unwrap().contains("sends it again only if"), "{waiting:#}");
    let mail = mail_for(&fake, &id).await;
    let letter = app.wait_for(&id, "adopted", |l| l["provider"]["reference"].is_string()).await;
    assert_eq!(letter["provider"]["reference"], mail.to_string());
    let waited = event_at(&letter, "queued", 1) - event_at(&letter, "needs_attention", 0);
    assert!(waited >= resend_after.as_millis() as i64 - 50, "sent again after {waited} ms");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(letters_at_ar24(&fake, &id), 1, "exactly one re-send");
    app.stop().await;
}

async fn a_letter_behind_hundreds_of_newer_ones_at_the_provider_is_still_found(db: Db) {
    let (app, _env, fake, user) = spawn_ar24_with(db, Service::Simple, |a| a.resend_after = Duration::ZERO).await;
    fake.timeout_next_mail();
    let id = app.submit("compta@boulangerie-martin.fr").await;
    mail_for(&fake, &id).await;
    // Another application on the same AR24 account sends 250 letters while relais waits for its answer.
    fake.add_other_mails(user, 250);
    let letter = app.wait_for(&id, "adopted", |l| l["provider"]["reference"].is_string()).await;
    let after: Vec<String> = states(&letter).into_iter().skip_while(|s| s != "needs_attention").collect();
    assert!(!after.contains(&"queued".to_owned()), "never queued to be sent again: {after:?}");
    assert_eq!(letters_at_ar24(&fake, &id), 1);
    let pages = fake.requests_to("GET", "user/mail").len();
    assert!(pages >= 3, "the lookup paged back to the letter: {pages} page(s)");
    app.stop().await;
}

crate::on_both_databases!(
    a_provider_recording_letters_up_to_ten_times_the_timeout_late_gets_each_letter_once,
    a_letter_the_provider_really_lost_is_sent_again_once_after_resend_after,
    a_letter_behind_hundreds_of_newer_ones_at_the_provider_is_still_found,
);
