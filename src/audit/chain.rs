//! A letter's event chain checked from its first event, and against the heads anchors recorded for it.

use serde::Serialize;

use super::findings::{Finding, Subject};
use crate::domain::LetterId;
use crate::store::events::event_hash;
use crate::store::{EventRecord, GENESIS_HASH, Store, StoreResult};

/// Recomputes the chain from the genesis hash; the first event that does not follow is the finding (later
/// events follow from it, so one finding names the break).
pub fn check_chain(letter: &LetterId, events: &[EventRecord]) -> Option<Finding> {
    let mut prev = GENESIS_HASH.to_owned();
    for (i, e) in events.iter().enumerate() {
        let seq = i as i64 + 1;
        if e.seq != seq {
            return Some(Finding::new(
                Some(letter),
                Subject::Event { seq },
                format!("event {seq}"),
                format!("event {}", e.seq),
            ));
        }
        if e.prev_hash != prev {
            let found = format!("previous hash {}", e.prev_hash);
            return Some(Finding::new(Some(letter), Subject::Event { seq }, format!("previous hash {prev}"), found));
        }
        let expected = event_hash(&prev, letter, e.seq, e.at, e.state, e.detail.as_deref());
        if e.hash != expected {
            let expected = format!("hash {expected} (recomputed from the event)");
            return Some(Finding::new(Some(letter), Subject::Event { seq }, expected, format!("hash {}", e.hash)));
        }
        prev = e.hash.clone();
    }
    if events.is_empty() {
        return Some(Finding::new(Some(letter), Subject::Event { seq: 1 }, "the letter's first event", "no event"));
    }
    None
}

/// A head an anchor recorded: event `seq` had `hash` at `anchored_at` (RFC 3339).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchoredEvent {
    pub seq: i64,
    pub hash: String,
    pub anchored_at: String,
}

/// Each anchored head must still be the event at its place; one that differs means the history before it
/// was rewritten after the anchor, even if every hash was recomputed.
pub fn check_anchored(letter: &LetterId, events: &[EventRecord], anchored: &[AnchoredEvent]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for a in anchored {
        let subject = Subject::AnchoredEvent { seq: a.seq, anchored_at: a.anchored_at.clone() };
        match events.iter().find(|e| e.seq == a.seq) {
            Some(e) if e.hash == a.hash => {}
            Some(e) => findings.push(Finding::new(
                Some(letter),
                subject,
                format!("hash {}", a.hash),
                format!("hash {}", e.hash),
            )),
            None => findings.push(Finding::new(Some(letter), subject, format!("hash {}", a.hash), "no such event")),
        }
    }
    findings
}

/// The chain's state as the letter's API view shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ChainStatus {
    /// The chain recomputes from its first event, and still holds the head last anchored for it.
    pub verified: bool,
    pub events: usize,
    /// When the anchor that covers the most events of this letter was made (RFC 3339), if any.
    pub anchored_at: Option<String>,
    /// How many of the events that anchor covers.
    pub anchored_events: Option<i64>,
    /// What does not verify, in words.
    pub problem: Option<String>,
}

/// Checks `events` and compares them with the database's copy of the letter's last anchored head (the
/// anchor file, outside the database, is what `relais verify` compares with).
pub async fn chain_status(store: &Store, letter: &LetterId, events: &[EventRecord]) -> StoreResult<ChainStatus> {
    let anchored = store.anchored_head(letter).await?;
    let mut finding = check_chain(letter, events);
    if finding.is_none()
        && let Some(head) = &anchored
    {
        let at = super::rfc3339(head.anchored_at);
        let recorded = AnchoredEvent { seq: head.seq, hash: head.hash.clone(), anchored_at: at };
        finding = check_anchored(letter, events, &[recorded]).into_iter().next();
    }
    Ok(ChainStatus {
        verified: finding.is_none(),
        events: events.len(),
        anchored_at: anchored.as_ref().map(|a| super::rfc3339(a.anchored_at)),
        anchored_events: anchored.as_ref().map(|a| a.seq),
        problem: finding.map(|f| format!("{}: expected {}, found {}", f.subject, f.expected, f.found)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::LetterState;

    fn chain(letter: &LetterId, n: i64) -> Vec<EventRecord> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let hash = event_hash(&prev, letter, seq, seq * 1000, LetterState::Received, None);
                let event = EventRecord {
                    seq,
                    at: seq * 1000,
                    state: LetterState::Received,
                    detail: None,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                event
            })
            .collect()
    }

    #[test]
    fn an_event_removed_from_the_middle_breaks_the_chain_at_its_place() {
        let letter = LetterId::generate();
        let mut events = chain(&letter, 5);
        assert_eq!(check_chain(&letter, &events), None);
        events.remove(2);
        assert_eq!(check_chain(&letter, &events).unwrap().subject, Subject::Event { seq: 3 });
    }

    #[test]
    fn events_cut_from_the_end_are_seen_only_against_an_anchor() {
        let letter = LetterId::generate();
        let mut events = chain(&letter, 5);
        let anchored = [AnchoredEvent { seq: 5, hash: events[4].hash.clone(), anchored_at: "then".into() }];
        assert!(check_anchored(&letter, &events, &anchored).is_empty());
        events.truncate(4);
        assert_eq!(check_chain(&letter, &events), None, "a shorter chain still holds on its own");
        let findings = check_anchored(&letter, &events, &anchored);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].found, "no such event");
    }
}
