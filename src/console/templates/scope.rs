//! Whose template a console URL names, and who may do what with it: the shared templates
//! (`/console/templates/{name}`) are read by everyone and edited by admins; a sender's own version of one
//! (`/console/senders/{sender}/templates/{name}`) is read and edited by the members of that sender.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use super::super::ConsoleError;
use super::super::session::Signed;
use crate::accounts::users::Role;
use crate::domain::SenderId;
use crate::render::TemplateScope;
use crate::services::Services;

/// The template a console URL names, checked against the person asking: a sender's templates are
/// "not found" to whoever may not see that sender.
pub struct Scoped {
    pub scope: TemplateScope,
    pub name: String,
    /// May this person change it (drafts, publish, rollback)?
    pub editable: bool,
}

impl Scoped {
    /// The editor's URL, the prefix of every action on the template.
    pub fn base(&self) -> String {
        match &self.scope {
            TemplateScope::Shared => format!("/console/templates/{}", self.name),
            TemplateScope::Sender(sender) => format!("/console/senders/{sender}/templates/{}", self.name),
        }
    }

    /// Refuses (403) a change this person may not make.
    pub fn require_edit(&self) -> Result<(), ConsoleError> {
        if self.editable { Ok(()) } else { Err(ConsoleError::Forbidden) }
    }
}

/// Whether `signed` may change a template of `scope`: shared ones are the admins', a sender's are its
/// members'.
pub fn may_edit(signed: &Signed, scope: &TemplateScope) -> bool {
    match scope {
        TemplateScope::Shared => signed.role() == Role::Admin,
        TemplateScope::Sender(sender) => signed.role() >= Role::Member && signed.may_see(sender),
    }
}

impl FromRequestParts<Arc<Services>> for Scoped {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, services: &Arc<Services>) -> Result<Self, ConsoleError> {
        let signed = Signed::from_request_parts(parts, services).await?;
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, services)
            .await
            .map_err(|_| ConsoleError::NotFound)?;
        let name = params.get("name").cloned().ok_or(ConsoleError::NotFound)?;
        let scope = match params.get("sender") {
            None => TemplateScope::Shared,
            Some(sender) => {
                let sender: SenderId = sender.parse().map_err(|_| ConsoleError::NotFound)?;
                if !signed.may_see(&sender) {
                    return Err(ConsoleError::NotFound);
                }
                TemplateScope::Sender(sender)
            }
        };
        let editable = may_edit(&signed, &scope);
        Ok(Scoped { scope, name, editable })
    }
}
