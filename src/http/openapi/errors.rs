//! The problem+json answers most routes share, declared once: `responses(…, OwnedErrors)` in a handler's
//! `#[utoipa::path]` stands for its 401, 403 and 404.

use std::collections::BTreeMap;

use utoipa::IntoResponses;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, response::Response};

const UNAUTHORIZED: (&str, &str) = ("401", "No API key, or not a valid one");
const FORBIDDEN: (&str, &str) = ("403", "The key lacks the scope or belongs to another sender");
const NOT_FOUND: (&str, &str) = ("404", "No such resource for this sender");
const INVALID: (&str, &str) = ("422", "Invalid fields, each named");

fn problems(answers: &[(&str, &str)]) -> BTreeMap<String, RefOr<Response>> {
    let problem = || ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
    answers
        .iter()
        .map(|(status, description)| {
            let response =
                ResponseBuilder::new().description(*description).content("application/problem+json", problem());
            (status.to_string(), response.build().into())
        })
        .collect()
}

/// A route that takes an API key: 401 without a valid one, 403 without the scope or for another sender.
pub struct KeyErrors;

impl IntoResponses for KeyErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        problems(&[UNAUTHORIZED, FORBIDDEN])
    }
}

/// A route on one of the caller's resources: [`KeyErrors`], and 404 when it has no such resource.
pub struct OwnedErrors;

impl IntoResponses for OwnedErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        problems(&[UNAUTHORIZED, FORBIDDEN, NOT_FOUND])
    }
}

/// A route that takes a body it checks field by field: 422 naming each field at fault.
pub struct InvalidFields;

impl IntoResponses for InvalidFields {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        problems(&[INVALID])
    }
}
