//! A memory budget for intake: requests that must hold their whole body in memory (JSON letters with base64
//! files, raw emails) reserve what they will use before reading it, and wait while the budget is spent.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The budget, in units of 1 MB.
#[derive(Clone)]
pub struct MemoryBudget {
    units: Arc<Semaphore>,
    total: u32,
}

const UNIT: u64 = 1_000_000;

impl MemoryBudget {
    pub fn new(bytes: u64) -> Self {
        let total = u32::try_from(bytes.div_ceil(UNIT)).unwrap_or(u32::MAX).clamp(1, Semaphore::MAX_PERMITS as u32);
        Self { units: Arc::new(Semaphore::new(total as usize)), total }
    }

    /// Waits until `bytes` (at most the whole budget) can be held; the reservation lasts as long as the
    /// returned permit.
    pub async fn reserve(&self, bytes: u64) -> OwnedSemaphorePermit {
        let units = u32::try_from(bytes.div_ceil(UNIT)).unwrap_or(u32::MAX).clamp(1, self.total);
        self.units.clone().acquire_many_owned(units).await.expect("the budget's semaphore is never closed")
    }
}

/// What a request with this `Content-Length` (or none: `limit`) will hold, given `factor` copies.
pub fn expected_use(content_length: Option<u64>, limit: u64, factor: u64) -> u64 {
    content_length.unwrap_or(limit).min(limit).saturating_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_reservation_waits_while_the_budget_is_spent() {
        let budget = MemoryBudget::new(10 * UNIT);
        let first = budget.reserve(8 * UNIT).await;
        let second = tokio::time::timeout(std::time::Duration::from_millis(50), budget.reserve(5 * UNIT)).await;
        assert!(second.is_err(), "8 + 5 MB do not fit in 10");
        drop(first);
        let second = budget.reserve(5 * UNIT).await;
        drop(second);
        let _whole = budget.reserve(u64::MAX).await; // capped at the whole budget, so it can be met
        assert_eq!(expected_use(None, 40, 3), 120);
        assert_eq!(expected_use(Some(10), 40, 3), 30);
    }
}
