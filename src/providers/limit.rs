//! The request rate limit of a provider account (`providers.NAME.max_requests_per_second`): every call to
//! its API waits here for a slot, whichever worker makes it, so the account's limit is never exceeded.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// A request counts against the limit for this long after it leaves. The extra 20 ms over the second are
/// for the way there: a request delayed by up to that much more than a later one still lands in a second of
/// its own at the provider, which counts arrivals, not departures.
const WINDOW: Duration = Duration::from_millis(1_020);

/// At most `limit` requests leave in any window of [`WINDOW`], counted by their departure times: a sliding
/// window, so no second, however it is cut, sees more. Waiters are served in arrival order.
pub struct RateLimiter {
    limit: usize,
    /// Departures still inside the window, oldest first.
    departures: Mutex<VecDeque<Instant>>,
}

impl RateLimiter {
    pub fn new(per_second: NonZeroU32) -> Self {
        let limit = per_second.get() as usize;
        Self { limit, departures: Mutex::new(VecDeque::with_capacity(limit)) }
    }

    /// The limiter of a provider account, if it has a limit.
    pub fn for_account(per_second: Option<NonZeroU32>) -> Option<Self> {
        per_second.map(Self::new)
    }

    /// Waits until a request may leave now, and counts it as leaving at the instant returned. The lock is
    /// held while waiting, so the next caller is the one that waited longest (the mutex is fair); a caller
    /// that gives up while waiting takes no slot.
    pub async fn acquire(&self) -> Instant {
        let mut departures = self.departures.lock().await;
        loop {
            let now = Instant::now();
            while departures.front().is_some_and(|left| now.duration_since(*left) >= WINDOW) {
                departures.pop_front();
            }
            if departures.len() < self.limit {
                departures.push_back(now);
                return now;
            }
            let oldest = *departures.front().expect("a full window holds departures");
            tokio::time::sleep_until(oldest + WINDOW).await;
        }
    }
}

/// Waits for a slot of `limiter`, when there is one.
pub async fn wait_for_slot(limiter: Option<&RateLimiter>) {
    if let Some(limiter) = limiter {
        limiter.acquire().await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Departure times of `callers` concurrent callers on a limiter of `per_second`, from the start.
    async fn departures(per_second: u32, callers: usize) -> Vec<Duration> {
        let limiter = Arc::new(RateLimiter::new(NonZeroU32::new(per_second).unwrap()));
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..callers {
            let limiter = limiter.clone();
            tasks.spawn(async move { limiter.acquire().await - start });
        }
        let mut times = tasks.join_all().await;
        times.sort();
        times
    }

    #[tokio::test]
    async fn no_window_of_a_second_holds_more_than_the_limit() {
        let times = departures(10, 25).await;
        for (earlier, later) in times.iter().zip(times.iter().skip(10)) {
            assert!(*later - *earlier >= Duration::from_secs(1), "11 requests within a second: {times:?}");
        }
    }

    #[tokio::test]
    async fn the_limit_is_used_in_full() {
        let times = departures(10, 25).await;
        let slack = Duration::from_millis(300);
        assert!(times[..10].iter().all(|t| *t < slack), "the first ten leave at once: {times:?}");
        assert!(times[10] < WINDOW + slack, "the eleventh leaves as soon as the first leaves the window: {times:?}");
        let last = *times.last().unwrap();
        assert!(last < WINDOW * 2 + slack, "25 requests at 10/s take two windows: {last:?}");
    }

    #[tokio::test]
    async fn a_caller_that_gives_up_takes_no_slot() {
        let limiter = RateLimiter::new(NonZeroU32::new(1).unwrap());
        limiter.acquire().await;
        let gave_up = tokio::time::timeout(Duration::from_millis(100), limiter.acquire()).await;
        assert!(gave_up.is_err(), "the second request of the second waits");
        tokio::time::sleep(WINDOW).await;
        let next = tokio::time::timeout(Duration::from_millis(100), limiter.acquire()).await;
        assert!(next.is_ok(), "the slot is free once the first request left the window");
    }
}
