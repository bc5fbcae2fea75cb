//! The small Markdown that letter bodies are written in: paragraphs, `**bold**`, `*italics*`, `- ` and `1.`
//! lists, a pipe table (invoice lines), line breaks. Anything else prints as its text. Variable values are
//! escaped into it by handlebars (`escape`), so a value is always text, whatever it contains.

use pulldown_cmark::{Alignment, Event, Options, Parser, Tag};
use serde::Serialize;

use super::typography::french;

/// A run of text and how it is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Inline {
    #[serde(rename = "t")]
    Text(String),
    #[serde(rename = "b")]
    Bold(Vec<Inline>),
    #[serde(rename = "i")]
    Italic(Vec<Inline>),
    #[serde(rename = "br")]
    Break {},
}

/// A block of the body, top to bottom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Block {
    #[serde(rename = "p")]
    Paragraph(Vec<Inline>),
    #[serde(rename = "ul")]
    Bullets(Vec<Vec<Block>>),
    #[serde(rename = "ol")]
    Numbered { start: u64, items: Vec<Vec<Block>> },
    #[serde(rename = "table")]
    Table(Table),
}

/// A table: a header row and rows of cells, all as wide as the header; columns aligned as the separator
/// line says (`---:` right, `:---:` centred).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Table {
    pub align: Vec<&'static str>,
    pub head: Vec<Vec<Inline>>,
    pub rows: Vec<Vec<Vec<Inline>>>,
}

/// Escapes a variable value for the Markdown of a letter: every ASCII punctuation character is
/// backslash-escaped (so `*`, `_`, `#`, `[`, `|`, `<`, a leading `- ` or `1.` print as themselves), each
/// line is trimmed (no indented code), and a newline is a line break, never a new paragraph.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + value.len() / 4);
    let lines = value.split(['\n', '\r']).map(str::trim).filter(|l| !l.is_empty());
    for (i, line) in lines.enumerate() {
        if i > 0 {
            out.push_str("\\\n");
        }
        for c in line.chars() {
            if c.is_ascii_punctuation() {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

type Events<'a> = Parser<'a>;

/// Parses a letter body into blocks, French typography applied to every run of text.
pub fn parse(markdown: &str) -> Vec<Block> {
    let mut events = Parser::new_ext(markdown, Options::ENABLE_TABLES);
    let mut blocks = parse_blocks(&mut events);
    blocks.iter_mut().for_each(tidy_block);
    blocks
}

/// One line of Markdown (a subject) as plain text: markup removed, escapes undone, typography applied.
pub fn plain_line(markdown: &str) -> String {
    let mut inlines = parse(markdown).into_iter().flat_map(|b| match b {
        Block::Paragraph(inlines) => inlines,
        other => vec![Inline::Text(block_text(&other))],
    });
    let mut text = String::new();
    inlines.by_ref().for_each(|i| push_inline_text(&mut text, &i, " "));
    // Only ASCII whitespace collapses: the no-break spaces of French typography stay.
    text.split(|c: char| c.is_ascii_whitespace()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

fn parse_blocks(events: &mut Events) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut pending = Vec::new();
    let flush = |pending: &mut Vec<Inline>, blocks: &mut Vec<Block>| {
        if !pending.is_empty() {
            blocks.push(Block::Paragraph(std::mem::take(pending)));
        }
    };
    while let Some(event) = events.next() {
        match event {
            Event::End(_) => break,
            Event::Start(Tag::Paragraph | Tag::CodeBlock(_) | Tag::HtmlBlock) => {
                flush(&mut pending, &mut blocks);
                blocks.push(Block::Paragraph(parse_inlines(events)));
            }
            Event::Start(Tag::Heading { .. }) => {
                flush(&mut pending, &mut blocks);
                blocks.push(Block::Paragraph(vec![Inline::Bold(parse_inlines(events))]));
            }
            Event::Start(Tag::List(start)) => {
                flush(&mut pending, &mut blocks);
                let items = parse_items(events);
                blocks.push(match start {
                    Some(start) => Block::Numbered { start, items },
                    None => Block::Bullets(items),
                });
            }
            Event::Start(Tag::Table(align)) => {
                flush(&mut pending, &mut blocks);
                blocks.push(Block::Table(parse_table(events, &align)));
            }
            Event::Start(
                Tag::BlockQuote(_)
                | Tag::FootnoteDefinition(_)
                | Tag::DefinitionList
                | Tag::DefinitionListTitle
                | Tag::DefinitionListDefinition
                | Tag::Item,
            ) => {
                flush(&mut pending, &mut blocks);
                blocks.extend(parse_blocks(events));
            }
            Event::Rule => flush(&mut pending, &mut blocks),
            other => pending.extend(inline_of(other, events)),
        }
    }
    flush(&mut pending, &mut blocks);
    blocks
}

fn parse_items(events: &mut Events) -> Vec<Vec<Block>> {
    let mut items = Vec::new();
    while let Some(event) = events.next() {
        match event {
            Event::Start(Tag::Item) => items.push(parse_blocks(events)),
            Event::End(_) => break,
            _ => {}
        }
    }
    items
}

fn parse_table(events: &mut Events, align: &[Alignment]) -> Table {
    let mut rows: Vec<Vec<Vec<Inline>>> = Vec::new();
    while let Some(event) = events.next() {
        match event {
            Event::Start(Tag::TableHead | Tag::TableRow) => {
                let mut cells = Vec::new();
                while let Some(event) = events.next() {
                    match event {
                        Event::Start(Tag::TableCell) => cells.push(parse_inlines(events)),
                        Event::End(_) => break,
                        _ => {}
                    }
                }
                cells.resize(align.len(), Vec::new());
                rows.push(cells);
            }
            Event::End(_) => break,
            _ => {}
        }
    }
    let head = if rows.is_empty() { vec![Vec::new(); align.len()] } else { rows.remove(0) };
    let align = align
        .iter()
        .map(|a| match a {
            Alignment::Right => "right",
            Alignment::Center => "center",
            Alignment::Left | Alignment::None => "left",
        })
        .collect();
    Table { align, head, rows }
}

fn parse_inlines(events: &mut Events) -> Vec<Inline> {
    let mut inlines = Vec::new();
    while let Some(event) = events.next() {
        if matches!(event, Event::End(_)) {
            break;
        }
        inlines.extend(inline_of(event, events));
    }
    inlines
}

/// The inlines one event stands for (a start tag consumes up to its end).
fn inline_of(event: Event, events: &mut Events) -> Vec<Inline> {
    match event {
        Event::Start(Tag::Emphasis) => vec![Inline::Italic(parse_inlines(events))],
        Event::Start(Tag::Strong) => vec![Inline::Bold(parse_inlines(events))],
        Event::Start(_) => parse_inlines(events),
        Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => vec![Inline::Text(t.into_string())],
        Event::InlineMath(t) | Event::DisplayMath(t) => vec![Inline::Text(format!("${t}$"))],
        Event::FootnoteReference(t) => vec![Inline::Text(format!("[^{t}]"))],
        Event::SoftBreak => vec![Inline::Text(" ".into())],
        Event::HardBreak => vec![Inline::Break {}],
        Event::TaskListMarker(done) => vec![Inline::Text(if done { "[x] " } else { "[ ] " }.into())],
        Event::End(_) | Event::Rule => Vec::new(),
    }
}

fn tidy_block(block: &mut Block) {
    match block {
        Block::Paragraph(inlines) => tidy_inlines(inlines),
        Block::Bullets(items) | Block::Numbered { items, .. } => items.iter_mut().flatten().for_each(tidy_block),
        Block::Table(table) => table.head.iter_mut().chain(table.rows.iter_mut().flatten()).for_each(tidy_inlines),
    }
}

/// Joins adjacent runs of text (the parser splits them at escapes), turns newlines left in them into line
/// breaks and applies French typography.
fn tidy_inlines(inlines: &mut Vec<Inline>) {
    let mut out: Vec<Inline> = Vec::with_capacity(inlines.len());
    for inline in inlines.drain(..) {
        match (out.last_mut(), inline) {
            (Some(Inline::Text(previous)), Inline::Text(text)) => previous.push_str(&text),
            (_, Inline::Bold(mut inner)) => {
                tidy_inlines(&mut inner);
                out.push(Inline::Bold(inner));
            }
            (_, Inline::Italic(mut inner)) => {
                tidy_inlines(&mut inner);
                out.push(Inline::Italic(inner));
            }
            (_, other) => out.push(other),
        }
    }
    for inline in out {
        match inline {
            Inline::Text(text) => {
                for (i, line) in text.split('\n').enumerate() {
                    if i > 0 {
                        inlines.push(Inline::Break {});
                    }
                    if !line.is_empty() {
                        inlines.push(Inline::Text(french(line)));
                    }
                }
            }
            other => inlines.push(other),
        }
    }
}

/// Appends the text of an inline; `newline` is what a line break becomes.
pub fn push_inline_text(out: &mut String, inline: &Inline, newline: &str) {
    match inline {
        Inline::Text(t) => out.push_str(t),
        Inline::Bold(inner) | Inline::Italic(inner) => inner.iter().for_each(|i| push_inline_text(out, i, newline)),
        Inline::Break {} => out.push_str(newline),
    }
}

/// The text of inlines, line breaks as newlines.
pub fn inlines_text(inlines: &[Inline]) -> String {
    let mut out = String::new();
    inlines.iter().for_each(|i| push_inline_text(&mut out, i, "\n"));
    out
}

fn block_text(block: &Block) -> String {
    super::text::blocks_text(std::slice::from_ref(block))
}

#[cfg(test)]
mod tests;
