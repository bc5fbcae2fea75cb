//! Template helpers for French letters and emails: `date_fr`, `euros`, `eq`, `upper`, `join_lines`, `paragraphs`,
//! and the
//! French date and amount formats they share with variable checking.

use chrono::{DateTime, Datelike, NaiveDate, Timelike};
use chrono_tz::Europe::Paris;
use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError, RenderErrorReason,
    ScopedJson,
};
use rust_decimal::Decimal;
use serde_json::Value;

const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];
const WEEKDAYS: [&str; 7] = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"];

/// "1er novembre 2026", "31 octobre 2026"; with `long`, the weekday first ("samedi 31 octobre 2026").
pub fn french_date(date: NaiveDate, long: bool) -> String {
    let day = if date.day() == 1 { "1er".to_owned() } else { date.day().to_string() };
    let text = format!("{day} {} {}", MONTHS[date.month0() as usize], date.year());
    if long { format!("{} {text}", WEEKDAYS[date.weekday().num_days_from_monday() as usize]) } else { text }
}

/// "1 250,00 €": U+202F between thousands, a comma before the cents, U+00A0 before the euro sign.
pub fn french_euros(amount: Decimal) -> String {
    let rounded = amount.round_dp(2);
    let text = format!("{:.2}", rounded.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (i, digit) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('\u{202F}');
        }
        grouped.push(digit);
    }
    let sign = if rounded.is_sign_negative() && !rounded.is_zero() { "-" } else { "" };
    format!("{sign}{grouped},{frac}\u{A0}€")
}

/// Parses an amount in euros as people write it ("1250", "1250.5", "1 250,00 €", "1250,00 EUR"); at most
/// two decimals, since a fraction of a cent cannot be owed.
pub fn parse_amount(text: &str) -> Option<Decimal> {
    let cleaned: String = text
        .trim()
        .trim_end_matches("EUR")
        .trim_end_matches('€')
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{A0}' | '\u{202F}' | '\u{2009}'))
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    let amount: Decimal = cleaned.parse().ok()?;
    (amount.scale() <= 2).then_some(amount)
}

/// Parses a calendar date written "2026-10-31" or "31/10/2026"; impossible dates ("2026-02-30") are refused.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%Y-%m-%d").or_else(|_| NaiveDate::parse_from_str(text, "%d/%m/%Y")).ok()
}

/// The value of a helper's parameter. Strict mode hands helpers a missing path as a null "missing" value:
/// it is reported as the missing variable it is, so the caller learns its path.
fn param<'a>(h: &'a Helper, helper: &'static str, index: usize) -> Result<&'a Value, RenderErrorReason> {
    let param = h.param(index).ok_or(RenderErrorReason::ParamNotFoundForIndex(helper, index))?;
    if param.is_value_missing() {
        return Err(RenderErrorReason::MissingVariable(param.relative_path().cloned()));
    }
    Ok(param.value())
}

/// A helper's first parameter as text, naming the value (and its path) when it is neither text nor a number.
fn param_text(h: &Helper, helper: &'static str) -> Result<String, RenderErrorReason> {
    match param(h, helper, 0)? {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(bad_value(h, helper, &other.to_string(), "a text or a number")),
    }
}

fn bad_value(h: &Helper, helper: &str, value: &str, expected: &str) -> RenderErrorReason {
    let path = h.param(0).and_then(|p| p.relative_path()).map(|p| format!(" ({p})")).unwrap_or_default();
    RenderErrorReason::Other(format!("{helper}: `{value}`{path} is not {expected}"))
}

/// `{{date_fr x}}`, `{{date_fr x "long"}}`, `{{date_fr x "datetime"}}`: a date or an RFC 3339 timestamp,
/// timestamps shown in Paris time since that is the time the letter's parties live by.
fn date_fr(h: &Helper, _: &Handlebars, _: &Context, _: &mut RenderContext, out: &mut dyn Output) -> HelperResult {
    let text = param_text(h, "date_fr")?;
    let style = match h.param(1).map(|p| p.value()) {
        None => "short",
        Some(Value::String(s)) if matches!(s.as_str(), "short" | "long" | "datetime") => s.as_str(),
        Some(other) => return Err(bad_value(h, "date_fr", &other.to_string(), "a style (long, datetime)").into()),
    };
    let rendered = match (parse_date(&text), DateTime::parse_from_rfc3339(&text)) {
        (Some(date), _) => french_date(date, style == "long"),
        (None, Ok(time)) => {
            let paris = time.with_timezone(&Paris);
            let date = french_date(paris.date_naive(), style == "long");
            if style == "datetime" { format!("{date} à {} h {:02}", paris.hour(), paris.minute()) } else { date }
        }
        _ => return Err(bad_value(h, "date_fr", &text, "a date").into()),
    };
    out.write(&rendered)?;
    Ok(())
}

/// `{{euros x}}`: an amount written the French way.
fn euros(h: &Helper, _: &Handlebars, _: &Context, _: &mut RenderContext, out: &mut dyn Output) -> HelperResult {
    let text = param_text(h, "euros")?;
    let amount = parse_amount(&text).ok_or_else(|| bad_value(h, "euros", &text, "an amount in euros"))?;
    out.write(&french_euros(amount))?;
    Ok(())
}

/// `{{upper x}}`. The value is escaped as `{{x}}` would be (helpers write their output as is).
fn upper(h: &Helper, r: &Handlebars, _: &Context, _: &mut RenderContext, out: &mut dyn Output) -> HelperResult {
    out.write(&r.get_escape_fn()(&param_text(h, "upper")?.to_uppercase()))?;
    Ok(())
}

/// `{{join_lines address.lines}}`: one line per element, as an address is written; escaped as `{{x}}` is.
fn join_lines(h: &Helper, r: &Handlebars, _: &Context, _: &mut RenderContext, out: &mut dyn Output) -> HelperResult {
    let Value::Array(lines) = param(h, "join_lines", 0)? else {
        return Err(bad_value(h, "join_lines", &param(h, "join_lines", 0)?.to_string(), "a list of lines").into());
    };
    let lines: Vec<&str> = lines.iter().filter_map(Value::as_str).map(str::trim).filter(|l| !l.is_empty()).collect();
    out.write(&r.get_escape_fn()(&lines.join("\n")))?;
    Ok(())
}

/// `{{paragraphs body}}`: a free text whose blank lines separate paragraphs; each paragraph is escaped as
/// `{{x}}` is, so the text prints as written (a single newline stays a line break).
fn paragraphs(h: &Helper, r: &Handlebars, _: &Context, _: &mut RenderContext, out: &mut dyn Output) -> HelperResult {
    let text = param_text(h, "paragraphs")?.replace("\r\n", "\n");
    let mut paragraphs = Vec::new();
    let mut current = Vec::new();
    for line in text.split('\n') {
        if line.trim().is_empty() {
            if !current.is_empty() {
                paragraphs.push(r.get_escape_fn()(&current.join("\n")));
                current.clear();
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        paragraphs.push(r.get_escape_fn()(&current.join("\n")));
    }
    out.write(&paragraphs.join("\n\n"))?;
    Ok(())
}

/// `(eq a b)`: a real boolean for `{{#if}}`, so it must return a value rather than write text.
struct Eq;

impl HelperDef for Eq {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let equal = param(h, "eq", 0)? == param(h, "eq", 1)?;
        Ok(ScopedJson::Derived(Value::Bool(equal)))
    }
}

/// The helpers relais adds to handlebars' own, as templates call them.
pub const NAMES: [&str; 6] = ["date_fr", "euros", "eq", "upper", "join_lines", "paragraphs"];

/// Registers every helper on a registry.
pub fn register(registry: &mut Handlebars<'_>) {
    registry.register_helper("date_fr", Box::new(date_fr));
    registry.register_helper("euros", Box::new(euros));
    registry.register_helper("eq", Box::new(Eq));
    registry.register_helper("upper", Box::new(upper));
    registry.register_helper("join_lines", Box::new(join_lines));
    registry.register_helper("paragraphs", Box::new(paragraphs));
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn render(template: &str, data: Value) -> Result<String, RenderError> {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        register(&mut registry);
        registry.render_template(template, &data)
    }

    #[test]
    fn dates_read_as_in_a_french_letter() {
        let d = |s| parse_date(s).unwrap();
        assert_eq!(french_date(d("2026-11-01"), false), "1er novembre 2026");
        assert_eq!(french_date(d("31/10/2026"), true), "samedi 31 octobre 2026");
        assert!(parse_date("2026-02-30").is_none());
        assert!(parse_date("30/02/2026").is_none());
    }

    #[test]
    fn date_fr_formats_dates_and_paris_times() {
        let data = json!({"d": "2026-11-01", "t": "2026-10-31T13:05:00Z", "w": "2026-07-14T22:30:00Z"});
        let out = render("{{date_fr d}}|{{date_fr d \"long\"}}|{{date_fr t}}|{{date_fr t \"datetime\"}}", data.clone());
        assert_eq!(
            out.unwrap(),
            "1er novembre 2026|dimanche 1er novembre 2026|31 octobre 2026|31 octobre 2026 à 14 h 05"
        );
        // Summer time: UTC+2, and the day changes at midnight Paris time.
        assert_eq!(render("{{date_fr w \"datetime\"}}", data).unwrap(), "15 juillet 2026 à 0 h 30");
    }

    #[test]
    fn amounts_use_french_separators_and_no_break_spaces() {
        let e = |s: &str| french_euros(s.parse().unwrap());
        assert_eq!(e("1250"), "1\u{202F}250,00\u{A0}€");
        assert_eq!(e("1234567.8"), "1\u{202F}234\u{202F}567,80\u{A0}€");
        assert_eq!(e("-3.5"), "-3,50\u{A0}€");
        assert_eq!(e("999"), "999,00\u{A0}€");
        assert_eq!(e("0"), "0,00\u{A0}€");
        let out = render("{{euros a}} {{euros b}}", json!({"a": "-3.5", "b": 1234567.8})).unwrap();
        assert_eq!(out, "-3,50\u{A0}€ 1\u{202F}234\u{202F}567,80\u{A0}€");
    }

    #[test]
    fn amounts_parse_as_people_write_them() {
        assert_eq!(parse_amount("1 250,00 €"), Some("1250.00".parse().unwrap()));
        assert_eq!(parse_amount("1250,5 EUR"), Some("1250.5".parse().unwrap()));
        assert_eq!(parse_amount("12.345"), None, "no fractions of a cent");
        assert_eq!(parse_amount("mille"), None);
    }

    #[test]
    fn a_bad_value_is_named_in_the_error() {
        let err = render("{{euros amount_due}}", json!({"amount_due": "mille"})).unwrap_err();
        assert!(err.to_string().contains("`mille` (amount_due) is not an amount"), "{err}");
        let err = render("{{date_fr due_date}}", json!({"due_date": "2026-02-30"})).unwrap_err();
        assert!(err.to_string().contains("`2026-02-30` (due_date) is not a date"), "{err}");
        let err = render("{{date_fr d \"court\"}}", json!({"d": "2026-02-03"})).unwrap_err();
        assert!(err.to_string().contains("court"), "{err}");
    }

    #[test]
    fn a_missing_argument_is_a_missing_variable_with_its_path() {
        for template in ["{{euros a.b}}", "{{date_fr a.b}}", "{{#if (eq a.b \"x\")}}y{{/if}}", "{{join_lines a.b}}"] {
            let err = render(template, json!({"a": {}})).unwrap_err();
            assert!(
                matches!(err.reason(), RenderErrorReason::MissingVariable(Some(p)) if p == "a.b"),
                "{template}: {err:?}"
            );
        }
    }

    #[test]
    fn eq_upper_and_join_lines() {
        let data = json!({"k": "professional", "n": "Martin", "lines": ["12 rue des Lilas", " ", "Bât. B"]});
        let out =
            render("{{#if (eq k \"professional\")}}pro{{else}}part{{/if}} {{upper n}}\n{{join_lines lines}}", data);
        assert_eq!(out.unwrap(), "pro MARTIN\n12 rue des Lilas\nBât. B");
        let out = render("{{#if (eq k \"professional\")}}pro{{else}}part{{/if}}", json!({"k": "individual"}));
        assert_eq!(out.unwrap(), "part");
    }
}
