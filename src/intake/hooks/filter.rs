//! Which events of a source make a letter: its event types, and conditions on the payload such as
//! `data.object.amount_remaining > 0` or `data.object.metadata.lre != false`, all of which must hold.

use rust_decimal::Decimal;
use serde_json::Value;

/// A source's filter, parsed at start.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Empty: every event type; `invoice.*` matches a family.
    events: Vec<String>,
    conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq)]
struct Condition {
    text: String,
    path: Vec<String>,
    op: Op,
    value: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Filter {
    /// Parses the conditions; an error says which one and why.
    pub fn new(events: Vec<String>, conditions: &[String]) -> Result<Self, (usize, String)> {
        let conditions = conditions
            .iter()
            .enumerate()
            .map(|(i, c)| Condition::parse(c).map_err(|m| (i, m)))
            .collect::<Result<_, _>>()?;
        Ok(Self { events, conditions })
    }

    /// `None` when the event makes a letter, else why it is ignored (said in the answer and the record).
    pub fn reject(&self, event_type: Option<&str>, payload: &Value) -> Option<String> {
        if !self.events.is_empty() {
            let kind = event_type.unwrap_or_default();
            let wanted = self.events.iter().any(|e| match e.strip_suffix('*') {
                Some(prefix) => kind.starts_with(prefix),
                None => e == kind,
            });
            if !wanted {
                let kind = event_type.map(|k| format!("event type `{k}`")).unwrap_or("an event without a type".into());
                return Some(format!("{kind} is not one of: {}", self.events.join(", ")));
            }
        }
        self.conditions.iter().find(|c| !c.holds(payload)).map(|c| {
            let found = lookup(payload, &c.path).map(Value::to_string).unwrap_or_else(|| "absent".into());
            format!("condition `{}` does not hold ({} is {found})", c.text, c.path.join("."))
        })
    }
}

impl Condition {
    fn parse(text: &str) -> Result<Self, String> {
        let mut parts = text.trim().splitn(3, char::is_whitespace);
        let (Some(path), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("`{text}` is not `path operator value`, e.g. `data.object.amount_remaining > 0`"));
        };
        let op = match op {
            "==" => Op::Eq,
            "!=" => Op::Ne,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "<" => Op::Lt,
            "<=" => Op::Le,
            other => return Err(format!("`{other}` is not an operator: use == != > >= < <=")),
        };
        let value = value.trim();
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
        if matches!(op, Op::Gt | Op::Ge | Op::Lt | Op::Le) && number(&value).is_none() {
            return Err(format!("`{text}`: {value} is not a number to compare with"));
        }
        Ok(Self { text: text.trim().to_owned(), path: path.split('.').map(str::to_owned).collect(), op, value })
    }

    fn holds(&self, payload: &Value) -> bool {
        let found = lookup(payload, &self.path);
        match self.op {
            Op::Eq => found.is_some_and(|v| text(v) == text(&self.value)),
            Op::Ne => found.is_none_or(|v| text(v) != text(&self.value)),
            op => {
                let (Some(found), Some(limit)) = (found.and_then(number), number(&self.value)) else { return false };
                match op {
                    Op::Gt => found > limit,
                    Op::Ge => found >= limit,
                    Op::Lt => found < limit,
                    _ => found <= limit,
                }
            }
        }
    }
}

/// The value at a dotted path; numeric parts index arrays.
fn lookup<'a>(payload: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(payload, |node, part| match node {
        Value::Object(map) => map.get(part),
        Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// Values compare by their text, so `false` matches the string "false" (metadata values are strings).
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.trim().to_ascii_lowercase(),
        other => other.to_string(),
    }
}

fn number(value: &Value) -> Option<Decimal> {
    match value {
        Value::Number(n) => n.to_string().parse().ok(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn filter(events: &[&str], conditions: &[&str]) -> Filter {
        let conditions: Vec<String> = conditions.iter().map(|c| c.to_string()).collect();
        Filter::new(events.iter().map(|e| e.to_string()).collect(), &conditions).unwrap()
    }

    #[test]
    fn only_the_listed_event_types_pass_and_a_star_matches_a_family() {
        let f = filter(&["invoice.overdue", "transaction.*"], &[]);
        assert_eq!(f.reject(Some("invoice.overdue"), &json!({})), None);
        assert_eq!(f.reject(Some("transaction.past_due"), &json!({})), None);
        let why = f.reject(Some("invoice.paid"), &json!({})).unwrap();
        assert!(why.contains("invoice.paid") && why.contains("invoice.overdue"), "{why}");
        assert!(f.reject(None, &json!({})).is_some());
    }

    #[test]
    fn an_amount_due_must_be_positive_and_an_opt_out_flag_is_respected() {
        let f = filter(&[], &["data.object.amount_remaining > 0", "data.object.metadata.lre != false"]);
        let payload = |amount: Value, lre: Value| json!({"data": {"object": {"amount_remaining": amount, "metadata": {"lre": lre}}}});
        assert_eq!(f.reject(None, &payload(json!(125000), json!("true"))), None);
        assert_eq!(
            f.reject(None, &json!({"data": {"object": {"amount_remaining": "10"}}})),
            None,
            "no flag: not opted out"
        );
        let why = f.reject(None, &payload(json!(0), json!(null))).unwrap();
        assert!(why.contains("amount_remaining > 0") && why.contains("is 0"), "{why}");
        assert!(f.reject(None, &payload(json!(5), json!("false"))).is_some(), "the string \"false\" opts out");
        assert!(f.reject(None, &payload(json!(5), json!(false))).is_some());
        assert!(f.reject(None, &json!({})).is_some(), "a missing amount is not more than 0");
    }

    #[test]
    fn conditions_compare_strings_and_array_items() {
        let f = filter(&[], &["content.invoice.dunning_status == exhausted", "events.0.action == \"failed\""]);
        let ok = json!({"content": {"invoice": {"dunning_status": "exhausted"}}, "events": [{"action": "failed"}]});
        assert_eq!(f.reject(None, &ok), None);
        let in_progress =
            json!({"content": {"invoice": {"dunning_status": "in_progress"}}, "events": [{"action": "failed"}]});
        assert!(f.reject(None, &in_progress).is_some());
    }

    #[test]
    fn a_malformed_condition_is_refused_with_its_position() {
        assert_eq!(Filter::new(vec![], &["a > 0".into(), "amount is big".into()]).unwrap_err().0, 1);
        assert!(Filter::new(vec![], &["amount > lots".into()]).is_err());
    }
}
