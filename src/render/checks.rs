//! Template checks before a draft is saved or published: each problem with its line and column, so an
//! editor can show it where it is. Syntax, front matter, variables used but not declared, required variables
//! never used, unknown helpers and partials.

use std::collections::BTreeSet;

use handlebars::template::{Parameter, Template, TemplateElement};
use serde::Serialize;

use super::{TemplateKind, templates};

/// One problem of a template source. `line` and `column` count from 1, in the whole source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateProblem {
    /// `front_matter`, `source`, or `variables.<name>`.
    pub field: String,
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl TemplateProblem {
    fn at(field: impl Into<String>, code: &'static str, message: String, pos: Option<(usize, usize)>) -> Self {
        Self { field: field.into(), code, message, line: pos.map(|p| p.0), column: pos.map(|p| p.1) }
    }
}

/// Names letters see as context objects, besides their declared variables.
const CONTEXT_ROOTS: [&str; 3] = ["sender", "recipient", "letter"];

/// Helpers handlebars brings, then ours (`helpers::NAMES`).
const BUILT_IN_HELPERS: [&str; 17] = [
    "if", "unless", "each", "with", "lookup", "raw", "log", "eq", "ne", "gt", "gte", "lt", "lte", "and", "or", "not",
    "len",
];

/// Checks a source of the given kind. `partials` are the partial names it may use (`{{> name}}`); letters
/// may use none: the layout draws letterhead, address and signature, and a letter must re-render from its
/// pinned version alone.
pub fn check_template(kind: TemplateKind, name: &str, source: &str, partials: &[String]) -> Vec<TemplateProblem> {
    let mut problems = Vec::new();
    let front = match templates::front_matter(name, source) {
        _ if kind == TemplateKind::Partial => None,
        Ok(front) => Some(front),
        Err(e) => {
            problems.push(TemplateProblem::at("front_matter", "front_matter", e.to_string(), front_matter_pos(source)));
            None
        }
    };
    let template = match Template::compile(source) {
        Ok(t) => Some(t),
        Err(e) => {
            problems.push(TemplateProblem::at("source", "syntax", syntax_message(&e), e.pos()));
            None
        }
    };
    if let Some(front) = &front {
        match kind {
            TemplateKind::Letter if front.title.trim().is_empty() => problems.push(TemplateProblem::at(
                "front_matter",
                "title_missing",
                "give the template a `title`".into(),
                Some((1, 1)),
            )),
            TemplateKind::Email if front.subject.trim().is_empty() => problems.push(TemplateProblem::at(
                "front_matter",
                "subject_missing",
                "an email needs a `subject`".into(),
                Some((1, 1)),
            )),
            _ => {}
        }
        if let Err(e) = Template::compile(&front.subject) {
            problems.push(TemplateProblem::at(
                "front_matter",
                "syntax",
                format!("subject: {}", syntax_message(&e)),
                Some((1, 1)),
            ));
        }
    }
    let Some(template) = template else { return problems };
    let mut walk = Walk { partials, kind, uses: Vec::new(), problems: Vec::new() };
    walk.template(&template, 0, None);
    if let Some(front) = &front
        && kind == TemplateKind::Letter
    {
        let specs: Vec<_> = front
            .variables
            .iter()
            .map(|v| super::VariableSpec {
                name: v.name.clone(),
                label: v.label.clone(),
                aliases: v.aliases.clone(),
                kind: v.kind,
                required: v.required,
                example: v.example.clone(),
            })
            .collect();
        if let Err(message) = super::variables::check_declarations(&specs) {
            problems.push(TemplateProblem::at("front_matter", "declaration", message, Some((1, 1))));
        }
        // The subject may use variables too.
        if let Ok(subject) = Template::compile(&front.subject) {
            let mut subject_walk = Walk { partials, kind, uses: Vec::new(), problems: Vec::new() };
            subject_walk.template(&subject, 0, None);
            walk.uses.extend(subject_walk.uses.into_iter().map(|(root, _)| (root, None)));
        }
        let declared: BTreeSet<&str> = front.variables.iter().map(|v| v.name.as_str()).collect();
        let mut reported = BTreeSet::new();
        for (root, pos) in &walk.uses {
            if !declared.contains(root.as_str()) && !CONTEXT_ROOTS.contains(&root.as_str()) && reported.insert(root) {
                let message = format!(
                    "`{root}` is used but not declared: add a [[variables]] entry named `{root}` to the front matter, \
                     or use one of {}",
                    declared.iter().chain(CONTEXT_ROOTS.iter()).copied().collect::<Vec<_>>().join(", ")
                );
                problems.push(TemplateProblem::at("source", "undeclared_variable", message, *pos));
            }
        }
        for v in front.variables.iter().filter(|v| v.required) {
            if !walk.uses.iter().any(|(root, _)| root == &v.name) {
                let message = format!("the required variable `{}` is declared but never used", v.name);
                problems.push(TemplateProblem::at(
                    format!("variables.{}", v.name),
                    "unused_variable",
                    message,
                    Some((1, 1)),
                ));
            }
        }
    }
    problems.extend(walk.problems);
    problems.sort_by_key(|p| (p.line.unwrap_or(0), p.column.unwrap_or(0)));
    problems
}

/// The problems that forbid publishing: all of them (a draft may be saved with any).
pub fn blocks_publishing(problems: &[TemplateProblem]) -> bool {
    !problems.is_empty()
}

/// The parser's words, made readable: which block is not closed, or where the syntax broke.
fn syntax_message(e: &handlebars::TemplateError) -> String {
    use handlebars::TemplateErrorReason as R;
    match e.reason() {
        R::MismatchingClosedHelper(open, closed) => {
            format!("`{{{{#{open}}}}}` is closed by `{{{{/{closed}}}}}`: close it with `{{{{/{open}}}}}`")
        }
        R::InvalidSyntax(_) => "the handlebars syntax breaks here: a `{{` tag is not closed with `}}`, or a block \
                                (`{{#if}}`, `{{#each}}`) is not ended"
            .to_owned(),
        other => other.to_string(),
    }
}

/// Where the TOML of the front matter went wrong, as a position in the whole source.
fn front_matter_pos(source: &str) -> Option<(usize, usize)> {
    let start = source.find("{{!--")? + "{{!--".len();
    let end = source[start..].find("--}}").map(|e| start + e)?;
    let toml = &source[start..end];
    let offset = match toml::from_str::<toml::Table>(toml) {
        Err(e) => start + e.span().map(|s| s.start).unwrap_or(0),
        Ok(_) => start,
    };
    Some(line_column(source, offset))
}

/// 1-based line and column of a byte offset.
fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Collects the roots of the variable paths a template uses and the problems of its helpers and partials.
struct Walk<'a> {
    partials: &'a [String],
    kind: TemplateKind,
    /// (root name, position): inside `#each`/`#with` blocks paths are relative to an item and not collected.
    uses: Vec<(String, Option<(usize, usize)>)>,
    problems: Vec<TemplateProblem>,
}

impl Walk<'_> {
    /// `scoped` is true inside a block that changes the context (`each`, `with`).
    fn template(&mut self, template: &Template, depth: usize, at: Option<(usize, usize)>) {
        for (i, element) in template.elements.iter().enumerate() {
            let pos = template.mapping.get(i).map(|m| (m.0, m.1)).or(at);
            self.element(element, depth, pos);
        }
    }

    fn element(&mut self, element: &TemplateElement, depth: usize, pos: Option<(usize, usize)>) {
        match element {
            TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) | TemplateElement::HelperBlock(h) => {
                let name = h.name.as_name().unwrap_or_default();
                let is_call = h.block || !h.params.is_empty() || !h.hash.is_empty();
                if is_call || is_helper(name) {
                    if !is_helper(name) {
                        self.unknown_helper(name, pos);
                    }
                } else {
                    self.path(&h.name, depth, pos);
                }
                for p in h.params.iter().chain(h.hash.values()) {
                    self.param(p, depth, pos);
                }
                let inner = if matches!(name, "each" | "with") { depth + 1 } else { depth };
                if let Some(t) = &h.template {
                    self.template(t, inner, pos);
                }
                if let Some(t) = &h.inverse {
                    self.template(t, depth, pos);
                }
            }
            TemplateElement::PartialExpression(d) | TemplateElement::PartialBlock(d) => {
                let name = d.name.as_name().unwrap_or_default();
                if !self.partials.iter().any(|p| p == name) {
                    let message = match self.kind {
                        TemplateKind::Letter => format!(
                            "letters cannot use partials (`{{{{> {name}}}}}`): the layout already places the \
                             letterhead, the address and the signature"
                        ),
                        _ => format!(
                            "unknown partial `{name}`; known: {}",
                            self.partials.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
                        ),
                    };
                    self.problems.push(TemplateProblem::at("source", "unknown_partial", message, pos));
                }
                if let Some(t) = &d.template {
                    self.template(t, depth, pos);
                }
            }
            TemplateElement::DecoratorExpression(_) | TemplateElement::DecoratorBlock(_) => {
                self.problems.push(TemplateProblem::at(
                    "source",
                    "unsupported",
                    "decorators (`{{* …}}`) are not supported in templates".into(),
                    pos,
                ));
            }
            _ => {}
        }
    }

    fn param(&mut self, param: &Parameter, depth: usize, pos: Option<(usize, usize)>) {
        match param {
            Parameter::Path(_) | Parameter::Name(_) => self.path(param, depth, pos),
            Parameter::Subexpression(sub) => self.element(&sub.element, depth, pos),
            _ => {}
        }
    }

    fn path(&mut self, param: &Parameter, depth: usize, pos: Option<(usize, usize)>) {
        let Some(raw) = param.as_name() else { return };
        let (raw, absolute) = match raw.strip_prefix("@root.").or_else(|| raw.strip_prefix("@root/")) {
            Some(rest) => (rest, true),
            None => (raw, false),
        };
        if raw.starts_with('@') || raw.starts_with("..") || raw == "this" || raw == "." || raw.is_empty() {
            return;
        }
        if depth > 0 && !absolute {
            return;
        }
        let raw = raw.strip_prefix("this.").or_else(|| raw.strip_prefix("./")).unwrap_or(raw);
        let root = raw.split(['.', '/', '[']).next().unwrap_or(raw);
        if !root.is_empty() {
            self.uses.push((root.to_owned(), pos));
        }
    }

    fn unknown_helper(&mut self, name: &str, pos: Option<(usize, usize)>) {
        let known = BUILT_IN_HELPERS.iter().chain(super::helpers::NAMES.iter()).copied().collect::<Vec<_>>();
        let message = format!("unknown helper `{name}`; known: {}", known.join(", "));
        self.problems.push(TemplateProblem::at("source", "unknown_helper", message, pos));
    }
}

fn is_helper(name: &str) -> bool {
    BUILT_IN_HELPERS.contains(&name) || super::helpers::NAMES.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRONT: &str =
        "{{!--\ntitle = \"T\"\n\n[[variables]]\nname = \"amount\"\nlabel = \"Montant\"\nkind = \"amount\"\n--}}\n";

    fn letter(body: &str) -> Vec<TemplateProblem> {
        check_template(TemplateKind::Letter, "t", &format!("{FRONT}{body}"), &[])
    }

    #[test]
    fn a_clean_letter_has_no_problem() {
        assert_eq!(letter("Montant : {{euros amount}} pour {{recipient.last_name}}.\n"), vec![]);
    }

    #[test]
    fn a_syntax_error_is_reported_at_its_line_and_column() {
        let problems = letter("Bonjour,\n\nMontant : {{euros amount}\n");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!((problems[0].code, problems[0].line), ("syntax", Some(11)));
        assert!(problems[0].column.is_some());
    }

    #[test]
    fn an_undeclared_variable_and_an_unused_required_one_are_named() {
        let problems = letter("Bonjour,\n{{montant}}\n");
        let codes: Vec<_> = problems.iter().map(|p| (p.code, p.field.as_str(), p.line)).collect();
        assert!(codes.contains(&("undeclared_variable", "source", Some(10))), "{codes:?}");
        assert!(codes.contains(&("unused_variable", "variables.amount", Some(1))), "{codes:?}");
    }

    #[test]
    fn unknown_helpers_and_partials_are_reported() {
        let problems = letter("{{euros amount}} {{shout amount}} {{> letterhead}}");
        let codes: Vec<_> = problems.iter().map(|p| p.code).collect();
        assert_eq!(codes, ["unknown_helper", "unknown_partial"]);
    }

    #[test]
    fn paths_inside_each_blocks_are_relative_to_the_item() {
        let problems = letter("{{euros amount}}{{#each recipient.address.lines}}{{this}} {{line}}{{/each}}");
        assert_eq!(problems, vec![]);
    }

    #[test]
    fn front_matter_that_does_not_parse_is_located() {
        let source = "{{!--\ntitle = \"T\"\nvariables = [oops\n--}}\nBody";
        let problems = check_template(TemplateKind::Letter, "t", source, &[]);
        assert_eq!(problems[0].code, "front_matter");
        assert_eq!(problems[0].line, Some(3));
    }

    #[test]
    fn emails_may_use_known_partials_only() {
        let partials = vec!["email-summary".to_owned()];
        let source = "{{!--\nsubject = \"S\"\n--}}\n{{> email-summary}}{{> nope}}";
        let problems = check_template(TemplateKind::Email, "email.x", source, &partials);
        assert_eq!(problems.iter().map(|p| p.code).collect::<Vec<_>>(), ["unknown_partial"]);
    }
}
