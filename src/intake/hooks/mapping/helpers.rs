//! Helpers of mapping expressions: `cents_to_euros`, `unix_to_date`, `default`. A missing payload path given
//! to them is reported as missing, with its path, like a plain `{{path}}` in strict mode.

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Paris;
use handlebars::{
    Context, Handlebars, Helper, HelperDef, PathAndJson, RenderContext, RenderError, RenderErrorReason, ScopedJson,
};
use rust_decimal::Decimal;
use serde_json::Value;

pub(super) fn register(registry: &mut Handlebars<'static>) {
    registry.register_helper("cents_to_euros", Box::new(CentsToEuros));
    registry.register_helper("unix_to_date", Box::new(UnixToDate));
    registry.register_helper("default", Box::new(Default));
}

/// A parameter that must be present: missing or null is the missing variable at its path.
fn present<'a>(h: &'a Helper, name: &'static str, index: usize) -> Result<&'a Value, RenderError> {
    let param = h.param(index).ok_or(RenderErrorReason::ParamNotFoundForIndex(name, index))?;
    if param.is_value_missing() || param.value().is_null() {
        return Err(RenderErrorReason::MissingVariable(param.relative_path().cloned()).into());
    }
    Ok(param.value())
}

fn not_a(h: &Helper, helper: &str, value: &Value, expected: &str) -> RenderError {
    let path = h.param(0).and_then(PathAndJson::relative_path).map(|p| format!(" ({p})")).unwrap_or_default();
    RenderErrorReason::Other(format!("{helper}: `{value}`{path} is not {expected}")).into()
}

fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `{{cents_to_euros data.object.amount_remaining}}` → `1250.00` (amounts in minor units, as billing APIs
/// send them; numbers or numeric strings).
struct CentsToEuros;

impl HelperDef for CentsToEuros {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let value = present(h, "cents_to_euros", 0)?;
        let cents = integer(value).ok_or_else(|| not_a(h, "cents_to_euros", value, "a whole number of cents"))?;
        let euros = Decimal::new(cents, 2);
        Ok(ScopedJson::Derived(Value::String(format!("{euros:.2}"))))
    }
}

/// `{{unix_to_date data.object.due_date}}` → `2026-10-31`: the calendar day in Paris of a unix time in
/// seconds (or of an RFC 3339 time, as Paddle writes them).
struct UnixToDate;

impl HelperDef for UnixToDate {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let value = present(h, "unix_to_date", 0)?;
        let time = match (integer(value), value.as_str()) {
            (Some(seconds), _) => DateTime::<Utc>::from_timestamp(seconds, 0),
            (None, Some(text)) => DateTime::parse_from_rfc3339(text.trim()).ok().map(|t| t.with_timezone(&Utc)),
            _ => None,
        };
        let time = time.ok_or_else(|| not_a(h, "unix_to_date", value, "a unix time in seconds"))?;
        Ok(ScopedJson::Derived(Value::String(time.with_timezone(&Paris).format("%Y-%m-%d").to_string())))
    }
}

/// `{{default data.object.customer_name "Client"}}`: the value when the payload has it (not null, not
/// empty), else the fallback, which may itself be a path (`{{default data.due_date data.created}}`).
struct Default;

impl HelperDef for Default {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let first = h.param(0).ok_or(RenderErrorReason::ParamNotFoundForIndex("default", 0))?;
        let usable = !first.is_value_missing()
            && match first.value() {
                Value::Null => false,
                Value::String(s) => !s.trim().is_empty(),
                _ => true,
            };
        if usable {
            return Ok(ScopedJson::Derived(first.value().clone()));
        }
        Ok(ScopedJson::Derived(present(h, "default", 1)?.clone()))
    }
}
