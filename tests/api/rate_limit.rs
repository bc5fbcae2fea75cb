//! A provider account's rate limit holds whatever the number of workers: AR24 never sees more requests in
//! any second than `max_requests_per_second`, and every letter still leaves.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use relais::config::{Ar24Settings, ProviderSettings, Secret, Service};

use crate::ar24::{SENDER_EMAIL, mail_for};
use crate::fake_ar24::FakeAr24;
use crate::helpers::{Db, TestEnv, spawn_with};

const LIMIT: usize = 4;

/// The limiter spaces departures by a full second (its unit tests check that exactly); between a request's
/// departure and its arrival here, a loaded test machine can hold one request back a few hundred
/// milliseconds more than another, so arrivals are counted in windows that much shorter than a second.
const WINDOW: Duration = Duration::from_millis(700);

/// The most arrivals within any [`WINDOW`] (a sliding window starting at each arrival).
fn busiest_second(arrivals: &[Instant]) -> usize {
    let mut sorted = arrivals.to_vec();
    sorted.sort();
    (0..sorted.len())
        .map(|i| sorted[i..].iter().take_while(|at| at.duration_since(sorted[i]) < WINDOW).count())
        .max()
        .unwrap_or(0)
}

async fn eight_workers_never_exceed_the_ar24_accounts_requests_per_second(db: Db) {
    let fake = FakeAr24::start().await;
    let user = fake.add_user(SENDER_EMAIL, true);
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.worker.concurrency = 8;
    let ar24 = Ar24Settings {
        base_url: fake.base_url().parse().unwrap(),
        token: Secret::new(fake.token().to_owned()),
        token_file: None,
        private_key: Secret::new(fake.private_key().to_owned()),
        private_key_file: None,
        webhook_allowed_ips: vec![],
        sync_every: Duration::from_secs(3600),
        timeout: Duration::from_secs(5),
        resend_after: Duration::from_secs(3),
        max_requests_per_second: NonZeroU32::new(LIMIT as u32),
    };
    settings.providers.insert("ar24".into(), ProviderSettings::Ar24(ar24));
    let sender = &mut settings.senders[0];
    sender.provider = "ar24".into();
    sender.provider_user_id = Some(user.to_string());
    sender.service = Service::Simple;
    let app = spawn_with(&env, settings).await;

    let mut letters = Vec::new();
    for n in 0..10 {
        letters.push(app.submit(&format!("compta{n}@boulangerie-martin.fr")).await);
    }
    for id in &letters {
        mail_for(&fake, id).await;
    }

    let arrivals = fake.arrivals();
    // Each letter is two requests (its PDF uploaded, then the letter): twenty at most four a second.
    assert!(arrivals.len() >= 20, "{} requests reached AR24", arrivals.len());
    let busiest = busiest_second(&arrivals);
    assert!(busiest <= LIMIT, "AR24 saw {busiest} requests within {WINDOW:?}; the account allows {LIMIT} a second");
    assert_eq!(busiest, LIMIT, "eight workers with twenty requests to make use the whole limit");
    app.stop().await;
}

crate::on_both_databases!(eight_workers_never_exceed_the_ar24_accounts_requests_per_second);
