//! What the annotations cannot say: the security schemes (the API key, the ingress key, and each hook
//! preset's signature), and the callback events relais sends, as OpenAPI `webhooks`.

use utoipa::Modify;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, PathsBuilder, Ref, Required, ResponseBuilder};

use crate::notify::callbacks::EVENT_TYPES;

/// Each preset of `POST /v1/hooks/{source}`: its header and what it signs.
const HOOK_SCHEMES: [(&str, &str, &str); 10] = [
    (
        "stripe",
        "Stripe-Signature",
        "`t=…,v1=<hex>`: HMAC-SHA256 of `{t}.{body}` keyed with the `whsec_` secret as is; 5 minutes of tolerance",
    ),
    (
        "standard_webhooks",
        "webhook-signature",
        "Standard Webhooks (or the `svix-` headers): `v1,<base64>` HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` keyed with the base64-decoded `whsec_` secret, or `v1a` ed25519 with a `whpk_` key",
    ),
    ("paddle", "Paddle-Signature", "`ts=…;h1=<hex>`: HMAC-SHA256 of `{ts}:{body}`"),
    ("pennylane", "X-Pennylane-Signature", "`t=…,v1=<hex>`: HMAC-SHA256 of `{t}.{body}`"),
    ("qonto", "X-Qonto-Signature", "`t=…,v1=<hex>`: HMAC-SHA256 of `{t}.{body}`"),
    (
        "gocardless",
        "Webhook-Signature",
        "hex HMAC-SHA256 of the body; a batch `{\"events\": [...]}` is decided event by event",
    ),
    ("quickbooks", "intuit-signature", "base64 HMAC-SHA256 of the body"),
    ("xero", "x-xero-signature", "base64 HMAC-SHA256 of the body; the intent-to-receive check gets an empty 200"),
    ("chargebee", "Authorization", "HTTP Basic with the configured `user:password`"),
    (
        "hmac",
        "(configured)",
        "generic: the configured header, SHA-1/256/512, hex or base64, optional prefix and timestamp header",
    ),
];

pub struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("An API key of one sender (`rls_…`), with scopes: letters, templates, admin"))
            .build();
        components.add_security_scheme("api_key", SecurityScheme::Http(bearer));
        let ingress = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("`intake.mime.ingress_key`, for an MTA piping raw emails"))
            .build();
        components.add_security_scheme("ingress_key", SecurityScheme::Http(ingress));
        for (name, header, description) in HOOK_SCHEMES {
            let scheme =
                ApiKey::Header(ApiKeyValue::with_description(header, &format!("Hook preset `{name}`: {description}")));
            components.add_security_scheme(name, SecurityScheme::ApiKey(scheme));
        }
    }
}

/// Each event type a callback endpoint can subscribe to, as an OpenAPI webhook: a signed POST of a
/// `CallbackEvent` to the endpoint's URL.
pub struct CallbackWebhooks;

impl Modify for CallbackWebhooks {
    fn modify(&self, openapi: &mut OpenApi) {
        let mut paths = PathsBuilder::new();
        for event in EVENT_TYPES {
            let header = |name: &str, description: &str| {
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Header)
                    .required(Required::True)
                    .description(Some(description))
                    .schema(Some(utoipa::openapi::schema::Object::with_type(utoipa::openapi::schema::Type::String)))
                    .build()
            };
            let body = RequestBodyBuilder::new()
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("CallbackEvent"))).build(),
                )
                .required(Some(Required::True))
                .build();
            let operation = OperationBuilder::new()
                .summary(Some(format!("`{event}`, signed per Standard Webhooks")))
                .description(Some(
                    "Sent to each endpoint subscribed to the event (and to a letter's own callback_url), retried \
                     on the schedule of `[callbacks]` with the same webhook-id; a 3xx is a failure, 410 disables \
                     the endpoint.",
                ))
                .parameter(header("webhook-id", "The message id (`msg_…`), the same across retries"))
                .parameter(header("webhook-timestamp", "Unix seconds"))
                .parameter(header(
                    "webhook-signature",
                    "`v1,<base64>` HMAC-SHA256 of `{id}.{timestamp}.{body}`; two during a rotation",
                ))
                .request_body(Some(body))
                .response("200", ResponseBuilder::new().description("Any 2xx: delivered").build())
                .build();
            paths = paths.path(event, PathItem::new(HttpMethod::Post, operation));
        }
        openapi.webhooks = Some(paths.build());
    }
}
