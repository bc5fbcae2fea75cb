//! Domain types: built only by parsing, so the rest of the code never sees unchecked input.

pub mod address;
mod email;
mod ids;
pub mod recipient;
mod state;
pub mod time;
mod validation;

pub use address::PostalAddress;
pub use email::EmailAddress;
pub use ids::{
    ApiKeyId, CallbackMessageId, ConsentId, ConsentRequestId, EndpointId, HookDeliveryId, ImportId, JobId, LetterId,
    NoticeId, PublicationId, SenderId, UserId,
};
pub use recipient::{Recipient, RecipientKind};
pub use state::LetterState;
pub use validation::{FieldError, FieldErrors};
