//! Template helpers for French letters: dates (`date_fr`), euro amounts (`euros`), `eq`, `upper`, `join_lines`.

use chrono::{DateTime, Datelike, NaiveDate, Timelike};
use chrono_tz::Europe::Paris;
use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderErrorReason, handlebars_helper,
};
use rust_decimal::Decimal;

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

/// "1er novembre 2026", "31 octobre 2026"; with `long`, the weekday first.
pub fn french_date(date: NaiveDate, long: bool) -> String {
    let day = if date.day() == 1 { "1er".to_owned() } else { date.day().to_string() };
    let text = format!("{day} {} {}", MONTHS[date.month0() as usize], date.year());
    if long { format!("{} {text}", WEEKDAYS[date.weekday().num_days_from_monday() as usize]) } else { text }
}

/// "1 250,00 €": U+202F between thousands, a comma for decimals, U+00A0 before the euro sign.
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

/// Parses an amount as people write it: "1250", "1250.5", "1 250,00 €", "1250,00 EUR".
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

/// Parses "2026-10-31" or "31/10/2026".
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%Y-%m-%d").or_else(|_| NaiveDate::parse_from_str(text, "%d/%m/%Y")).ok()
}

fn param_text(h: &Helper, name: &'static str) -> Result<String, RenderErrorReason> {
    let param = h.param(0).ok_or(RenderErrorReason::ParamNotFoundForIndex(name, 0))?;
    // Strict mode passes a missing helper argument as null: report it as the missing variable it is.
    if param.is_value_missing() {
        return Err(RenderErrorReason::MissingVariable(param.relative_path().cloned()));
    }
    match param.value() {
        serde_json::Value::String(s) => Ok(s.clone()),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        other => Err(RenderErrorReason::Other(format!("{name}: `{other}` is not a value it can format"))),
    }
}

fn date_fr(h: &Helper, _: &Handlebars, _: &Context, _: &mut RenderContext, out: &mut dyn Output) -> HelperResult {
    let text = param_text(h, "date_fr")?;
    let style = h.param(1).and_then(|p| p.value().as_str()).unwrap_or("short");
    let rendered = match (parse_date(&text), DateTime::parse_from_rfc3339(&text)) {
        (Some(date), _) => french_date(date, style == "long"),
        (None, Ok(time)) => {
            let paris = time.with_timezone(&Paris);
            let date = french_date(paris.date_naive(), style == "long");
            if style == "datetime" { format!("{date} à {} h {:02}", paris.hour(), paris.minute()) } else { date }
        }
        _ => return Err(RenderErrorReason::Other(format!("date_fr: `{text}` is not a date")).into()),
    };
    out.write(&rendered)?;
    Ok(())
}

fn euros(h: &Helper, _: &Handlebars, _: &Context, _: &mut RenderContext, out: &mut dyn Output) -> HelperResult {
    let text = param_text(h, "euros")?;
    let amount =
        parse_amount(&text).ok_or_else(|| RenderErrorReason::Other(format!("euros: `{text}` is not an amount")))?;
    out.write(&french_euros(amount))?;
    Ok(())
}

handlebars_helper!(eq: |a: Json, b: Json| a == b);
handlebars_helper!(upper: |s: str| s.to_uppercase());
handlebars_helper!(join_lines: |lines: array| lines.iter().filter_map(|l| l.as_str()).collect::<Vec<_>>().join("\n"));

/// Registers every helper on a registry.
pub fn register(registry: &mut Handlebars<'_>) {
    registry.register_helper("date_fr", Box::new(date_fr));
    registry.register_helper("euros", Box::new(euros));
    registry.register_helper("eq", Box::new(eq));
    registry.register_helper("upper", Box::new(upper));
    registry.register_helper("join_lines", Box::new(join_lines));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_in_a_french_letter() {
        let d = |s| parse_date(s).unwrap();
        assert_eq!(french_date(d("2026-11-01"), false), "1er novembre 2026");
        assert_eq!(french_date(d("31/10/2026"), true), "samedi 31 octobre 2026");
        assert!(parse_date("2026-02-30").is_none());
    }

    #[test]
    fn amounts_use_french_separators_and_no_break_spaces() {
        let e = |s: &str| french_euros(s.parse().unwrap());
        assert_eq!(e("1250"), "1\u{202F}250,00\u{A0}€");
        assert_eq!(e("1234567.8"), "1\u{202F}234\u{202F}567,80\u{A0}€");
        assert_eq!(e("-3.5"), "-3,50\u{A0}€");
        assert_eq!(e("999"), "999,00\u{A0}€");
    }

    #[test]
    fn amounts_parse_as_people_write_them() {
        assert_eq!(parse_amount("1 250,00 €"), Some("1250.00".parse().unwrap()));
        assert_eq!(parse_amount("1250,5 EUR"), Some("1250.5".parse().unwrap()));
        assert_eq!(parse_amount("12.345"), None, "no fractions of a cent");
        assert_eq!(parse_amount("mille"), None);
    }
}
