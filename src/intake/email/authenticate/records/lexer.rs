//! Splits an RFC 1035 master file into entries: one per record or directive, with `( … )` spanning lines
//! joined, `;` comments dropped, quoted strings and `\` escapes decoded, and whether the owner was left blank.

/// One whitespace-separated field; `quoted` fields keep their bytes verbatim (after escapes).
pub(super) struct Field {
    pub bytes: Vec<u8>,
    pub quoted: bool,
}

impl Field {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// One logical line: a record or a `$` directive.
pub(super) struct Entry {
    /// The line it starts on (1-based), for error messages.
    pub line: usize,
    /// The line starts with a blank: the owner is the previous record's.
    pub blank_owner: bool,
    pub fields: Vec<Field>,
}

type Bytes<'a> = std::iter::Peekable<std::str::Bytes<'a>>;

/// The entries of a master file, in order; errors start with `line N:`.
pub(super) fn entries(text: &str) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    let (mut line, mut depth, mut open_line) = (1usize, 0usize, 0usize);
    let mut entry = Entry { line: 1, blank_owner: false, fields: Vec::new() };
    let mut at_line_start = true;
    let mut bytes = text.bytes().peekable();
    while let Some(&c) = bytes.peek() {
        if at_line_start && depth == 0 {
            entry = Entry { line, blank_owner: matches!(c, b' ' | b'\t'), fields: Vec::new() };
        }
        at_line_start = false;
        match c {
            b'\n' => {
                bytes.next();
                if depth == 0 && !entry.fields.is_empty() {
                    out.push(std::mem::replace(&mut entry, Entry { line, blank_owner: false, fields: Vec::new() }));
                }
                line += 1;
                at_line_start = true;
            }
            b';' => {
                while bytes.peek().is_some_and(|c| *c != b'\n') {
                    bytes.next();
                }
            }
            b'(' => {
                bytes.next();
                if depth == 0 {
                    open_line = line;
                }
                depth += 1;
            }
            b')' => {
                bytes.next();
                depth = depth.checked_sub(1).ok_or_else(|| format!("line {line}: `)` without a `(` before it"))?;
            }
            b'"' => {
                bytes.next();
                let quoted = read_quoted(&mut bytes).map_err(|e| format!("line {line}: {e}"))?;
                entry.fields.push(Field { bytes: quoted, quoted: true });
            }
            c if c.is_ascii_whitespace() => {
                bytes.next();
            }
            _ => {
                let word = read_word(&mut bytes).map_err(|e| format!("line {line}: {e}"))?;
                entry.fields.push(Field { bytes: word, quoted: false });
            }
        }
    }
    if depth > 0 {
        return Err(format!("line {open_line}: this `(` is never closed"));
    }
    if !entry.fields.is_empty() {
        out.push(entry);
    }
    Ok(out)
}

fn read_word(bytes: &mut Bytes<'_>) -> Result<Vec<u8>, String> {
    let mut word = Vec::new();
    while let Some(&c) = bytes.peek() {
        if c.is_ascii_whitespace() || matches!(c, b';' | b'"' | b'(' | b')') {
            break;
        }
        bytes.next();
        if c == b'\\' {
            word.push(read_escape(bytes)?);
        } else {
            word.push(c);
        }
    }
    Ok(word)
}

fn read_quoted(bytes: &mut Bytes<'_>) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        match bytes.next() {
            None | Some(b'\n') => return Err("unterminated quoted string".into()),
            Some(b'"') => return Ok(out),
            Some(b'\\') => out.push(read_escape(bytes)?),
            Some(c) => out.push(c),
        }
    }
}

/// After a backslash: `\DDD` (decimal byte value) or the next character itself.
fn read_escape(bytes: &mut Bytes<'_>) -> Result<u8, String> {
    let first = bytes.next().ok_or("unterminated escape")?;
    if !first.is_ascii_digit() {
        return Ok(first);
    }
    let mut value = u32::from(first - b'0');
    for _ in 0..2 {
        match bytes.next() {
            Some(d) if d.is_ascii_digit() => value = value * 10 + u32::from(d - b'0'),
            _ => return Err("`\\DDD` escape needs three digits".into()),
        }
    }
    u8::try_from(value).map_err(|_| format!("`\\{value}` escape is above 255"))
}
