//! The states of a letter and the transitions allowed between them (DESIGN §3). The names are API.

use serde::{Deserialize, Serialize};

/// Where a letter is in its life. Storage and API names are the snake_case variant names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LetterState {
    Received,
    Ready,
    AwaitingConsent,
    AwaitingApproval,
    Queued,
    Submitting,
    Deposited,
    Delivered,
    Refused,
    NotClaimed,
    Bounced,
    Failed,
    Cancelled,
    NeedsAttention,
}

use LetterState::*;

impl LetterState {
    pub const ALL: [LetterState; 14] = [
        Received,
        Ready,
        AwaitingConsent,
        AwaitingApproval,
        Queued,
        Submitting,
        Deposited,
        Delivered,
        Refused,
        NotClaimed,
        Bounced,
        Failed,
        Cancelled,
        NeedsAttention,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Received => "received",
            Ready => "ready",
            AwaitingConsent => "awaiting_consent",
            AwaitingApproval => "awaiting_approval",
            Queued => "queued",
            Submitting => "submitting",
            Deposited => "deposited",
            Delivered => "delivered",
            Refused => "refused",
            NotClaimed => "not_claimed",
            Bounced => "bounced",
            Failed => "failed",
            Cancelled => "cancelled",
            NeedsAttention => "needs_attention",
        }
    }

    /// Final states: nothing happens to the letter any more.
    pub fn is_final(self) -> bool {
        matches!(self, Delivered | Refused | NotClaimed | Bounced | Failed | Cancelled)
    }

    /// Legal outcomes of a deposited letter. Refused and not claimed are outcomes, not failures.
    pub fn is_outcome(self) -> bool {
        matches!(self, Delivered | Refused | NotClaimed | Bounced)
    }

    /// Before the provider has been asked: the letter can still be cancelled for free.
    pub fn is_cancellable(self) -> bool {
        matches!(self, Received | Ready | AwaitingConsent | AwaitingApproval | Queued)
    }

    /// The explicit transition table. Anything not listed is refused by `letters::transition`.
    pub fn can_move_to(self, next: LetterState) -> bool {
        if self.is_cancellable() && next == Cancelled {
            return true;
        }
        match self {
            Received => matches!(next, Ready | Failed),
            Ready => matches!(next, AwaitingConsent | AwaitingApproval | Queued | Failed),
            AwaitingConsent => matches!(next, Ready | Failed),
            AwaitingApproval => matches!(next, Queued | Failed),
            // Needs attention when the provider stayed unreachable through every attempt: the requester is told.
            Queued => matches!(next, Submitting | AwaitingApproval | Failed | NeedsAttention),
            // Back to queued only when the provider confirmed nothing was sent (it was unavailable).
            Submitting => matches!(next, Queued | Deposited | Failed | NeedsAttention) || next.is_outcome(),
            Deposited => next.is_outcome() || next == NeedsAttention,
            NeedsAttention => matches!(next, Queued | Submitting | Deposited | Failed) || next.is_outcome(),
            _ => false,
        }
    }
}

impl std::fmt::Display for LetterState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for LetterState {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|s| s.as_str() == text).ok_or_else(|| format!("`{text}` is not a letter state"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_names_round_trip_and_match_serde() {
        for state in LetterState::ALL {
            assert_eq!(state.as_str().parse::<LetterState>(), Ok(state));
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
        }
    }

    #[test]
    fn final_states_lead_nowhere() {
        for from in LetterState::ALL.into_iter().filter(|s| s.is_final()) {
            assert!(LetterState::ALL.into_iter().all(|to| !from.can_move_to(to)), "{from}");
        }
    }

    #[test]
    fn a_submitted_letter_can_no_longer_be_cancelled() {
        assert!(!Submitting.can_move_to(Cancelled));
        assert!(!Deposited.can_move_to(Cancelled));
        assert!(Queued.can_move_to(Cancelled));
    }

    #[test]
    fn nothing_skips_the_provider_on_its_way_to_an_outcome() {
        for early in [Received, Ready, AwaitingConsent, AwaitingApproval, Queued] {
            assert!(!early.can_move_to(Deposited), "{early}");
            assert!(LetterState::ALL.into_iter().filter(|s| s.is_outcome()).all(|o| !early.can_move_to(o)));
        }
    }
}
