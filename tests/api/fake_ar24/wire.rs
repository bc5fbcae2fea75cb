//! The fake AR24's wire format: reading a GET/POST (query, form-data, multipart) and writing the JSON
//! envelope, encrypted or clear (providers.md §1.1–§1.3).

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::model::FakeRequest;

/// An uploaded file part.
pub struct FilePart {
    pub field: String,
    pub file_name: Option<String>,
    pub bytes: Vec<u8>,
}

/// One request, parsed once for the log, the authentication and the route.
pub struct Incoming {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    pub field_names: Vec<String>,
    pub files: Vec<FilePart>,
    pub signature: Option<String>,
}

impl Incoming {
    pub async fn read(request: Request) -> Incoming {
        let (parts, body) = request.into_parts();
        let mut incoming = Incoming {
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            query: parse_pairs(parts.uri.query().unwrap_or("").as_bytes()),
            form: Vec::new(),
            field_names: Vec::new(),
            files: Vec::new(),
            signature: parts.headers.get("signature").and_then(|v| v.to_str().ok()).map(str::to_string),
        };
        let content_type =
            parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let request = Request::from_parts(parts, body);
        if content_type.starts_with("multipart/form-data") {
            incoming.read_multipart(request).await;
        } else if let Ok(bytes) = axum::body::to_bytes(request.into_body(), usize::MAX).await {
            incoming.form = parse_pairs(&bytes);
            incoming.field_names = incoming.form.iter().map(|(k, _)| k.clone()).collect();
        }
        incoming
    }

    async fn read_multipart(&mut self, request: Request) {
        let Ok(mut multipart) = Multipart::from_request(request, &()).await else { return };
        while let Ok(Some(field)) = multipart.next_field().await {
            let name = field.name().unwrap_or("").to_string();
            let file_name = field.file_name().map(str::to_string);
            let Ok(bytes) = field.bytes().await else { return };
            self.field_names.push(name.clone());
            match file_name {
                Some(_) => self.files.push(FilePart { field: name, file_name, bytes: bytes.to_vec() }),
                None => self.form.push((name, String::from_utf8_lossy(&bytes).into_owned())),
            }
        }
    }

    /// A parameter from the form body, else from the query string; empty counts as absent.
    pub fn param(&self, name: &str) -> Option<&str> {
        first(&self.form, name).or_else(|| first(&self.query, name)).filter(|v| !v.trim().is_empty())
    }

    /// What the request log keeps.
    pub fn record(&self) -> FakeRequest {
        FakeRequest {
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.iter().cloned().collect::<BTreeMap<_, _>>(),
            field_names: self.field_names.clone(),
            form: self.form.clone(),
            signature: self.signature.clone(),
        }
    }
}

fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn parse_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

/// `{"status":"ERROR","slug":…,"message":…}`, always clear JSON and HTTP 200 (providers.md §1.1, §1.3).
pub fn error(slug: &str) -> Response {
    clear_json(json!({ "status": "ERROR", "slug": slug, "message": message(slug) }))
}

/// `{"status":"maintenance"}` (providers.md §1.1).
pub fn maintenance() -> Response {
    clear_json(json!({ "status": "maintenance" }))
}

/// `{"status":"SUCCESS","result":…}`; the whole body is encrypted with the request's date unless the test
/// turned encryption off (providers.md §1.2: "the fake server should encrypt the whole body").
pub fn success(result: Value, seal: Option<(&str, &str)>) -> Response {
    let body = json!({ "status": "SUCCESS", "result": result });
    match seal {
        None => clear_json(body),
        Some((private_key, date)) => {
            let bytes = serde_json::to_vec(&body).expect("JSON");
            let sealed = relais::providers::ar24::crypto::encrypt_response(private_key, date, &bytes);
            (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], sealed).into_response()
        }
    }
}

fn clear_json(body: Value) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// A route AR24 does not have: a plain 404, the fake's own choice, so a wrong path or method is obvious.
pub fn not_found() -> Response {
    Response::builder().status(StatusCode::NOT_FOUND).body(Body::from("no such AR24 route")).expect("response")
}

/// Human messages; AR24's wording is not documented, only the slugs are (providers.md §1.3).
fn message(slug: &str) -> String {
    let text = match slug {
        "token_missing" => "Token is missing",
        "token_invalid" => "Invalid token or signature",
        "empty_date" => "Date is missing",
        "invalid_date" => "Invalid date format",
        "expired_date" => "Date must be set between call submission and +10 minutes (expired)",
        "date_in_future" => "Date must be set between call submission and +10 minutes (in the future)",
        "authentication_missing" => "Invalid eidas identification (ssl or otp)",
        "authentication_otp_invalid" => "Invalid OTP code",
        "authentication_otp_hash_invalid" => "Invalid or expired OTP session",
        "user_unavailable" => "The user has not granted API access",
        "user_no_payment" => "The user has no payment method",
        _ => return format!("AR24 error: {slug}"),
    };
    text.to_string()
}
