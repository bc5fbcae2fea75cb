//! French typography, applied to every text run of a letter: a narrow no-break space (U+202F) before
//! `; ! ?` and inside « », a no-break space (U+00A0) before `:` and after `n°`. Spaces people typed are
//! replaced; a missing one is added only where it cannot be part of a web address or a time ("14:05",
//! "https://", "?a=1" are left alone).

const NARROW: char = '\u{202F}';
const NO_BREAK: char = '\u{A0}';

fn is_horizontal_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{A0}' | '\u{202F}' | '\u{2009}')
}

/// Removes the spaces `out` ends with; true when there were some.
fn trim_spaces(out: &mut String) -> bool {
    let trimmed = out.trim_end_matches(is_horizontal_space).len();
    let had = trimmed < out.len();
    out.truncate(trimmed);
    had
}

fn ends_a_word(out: &str) -> bool {
    out.chars().next_back().is_some_and(|c| c.is_alphanumeric() || matches!(c, ')' | ']' | '"' | '\'' | '’' | '»'))
}

/// Whether `text` may hold a character the rules act on. A byte of `«`, `»` or `°` (U+00AB, U+00BB, U+00B0)
/// may also belong to another character: such a text only takes the longer way.
fn may_need_spacing(text: &str) -> bool {
    text.bytes().any(|b| matches!(b, b';' | b'!' | b'?' | b':' | 0xAB | 0xBB | 0xB0))
}

/// Applies the French spacing rules to one run of text.
pub fn french(text: &str) -> String {
    if !may_need_spacing(text) {
        // Most runs of a letter: nothing to space, and every letter is composed at least twice.
        return text.to_owned();
    }
    spaced(text)
}

/// The rules, character by character.
fn spaced(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let spaced_after = next.is_none_or(|n| n.is_whitespace() || n == '»');
        match c {
            ';' | '!' | '?' | ':' => {
                let space = if c == ':' { NO_BREAK } else { NARROW };
                let had_space = trim_spaces(&mut out);
                if (had_space && !out.is_empty()) || (!had_space && ends_a_word(&out) && spaced_after) {
                    out.push(space);
                }
                out.push(c);
            }
            '»' => {
                if trim_spaces(&mut out) || !out.is_empty() {
                    out.push(NARROW);
                }
                out.push(c);
            }
            '«' => {
                out.push(c);
                while chars.get(i + 1).is_some_and(|&n| is_horizontal_space(n)) {
                    i += 1;
                }
                if chars.get(i + 1).is_some() {
                    out.push(NARROW);
                }
            }
            '°' if after_n(&out) => {
                out.push(c);
                while chars.get(i + 1).is_some_and(|&n| is_horizontal_space(n)) {
                    i += 1;
                }
                if chars.get(i + 1).is_some_and(|n| n.is_alphanumeric()) {
                    out.push(NO_BREAK);
                }
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// True when `out` ends with the word "n" or "N" (so "°" makes "n°", not "25°").
fn after_n(out: &str) -> bool {
    let mut rev = out.chars().rev();
    matches!(rev.next(), Some('n' | 'N')) && rev.next().is_none_or(|c| !c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn spaces_before_high_punctuation_become_no_break_spaces() {
        assert_eq!(french("Objet : relance"), "Objet\u{A0}: relance");
        assert_eq!(french("Objet: relance"), "Objet\u{A0}: relance");
        assert_eq!(french("Vraiment ? Oui ; non !"), "Vraiment\u{202F}? Oui\u{202F}; non\u{202F}!");
        assert_eq!(french("Attention!"), "Attention\u{202F}!");
        assert_eq!(french("« Bonjour »"), "«\u{202F}Bonjour\u{202F}»");
        assert_eq!(french("«Bonjour»"), "«\u{202F}Bonjour\u{202F}»");
        assert_eq!(french("la facture n° F-1 et N°12"), "la facture n°\u{A0}F-1 et N°\u{A0}12");
    }

    #[test]
    fn addresses_times_and_temperatures_are_left_alone() {
        for text in ["https://relais.example/?a=1", "à 14:05", "contact@exemple.fr", "25° à l'ombre", "?!", "a:b"] {
            assert_eq!(french(text), text);
        }
    }

    proptest! {
        #[test]
        fn the_rules_are_idempotent(text in "[a-zé0-9 :;!?«»°n\u{A0}\u{202F}]{0,30}") {
            let once = french(&text);
            prop_assert_eq!(french(&once), once.clone());
            let letters = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            prop_assert_eq!(letters(&once), letters(&text));
        }

        /// A text the rules leave alone is seen as such without being walked: the quick check never skips
        /// a text they would change.
        #[test]
        fn only_texts_the_rules_leave_alone_are_skipped(text in "[a-zéëû«»°0-9 :;!?n\u{A0}\u{202F}\u{AB}\u{1AB}]{0,30}") {
            if !may_need_spacing(&text) {
                prop_assert_eq!(spaced(&text), text);
            }
        }
    }
}
