//! Words for people: counts, sizes, and outside text made safe to print. Every layer that
//! builds a message uses these, so ferry speaks one way everywhere.

/// A byte count for people, in decimal megabytes (one unit everywhere ferry prints sizes).
#[derive(Debug, Clone, Copy)]
pub struct Bytes(pub u64);

impl std::fmt::Display for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.1} MB", self.0 as f64 / 1e6)
    }
}

/// `1 file`, `2 files`.
pub fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Text that came from a bundle, a registry or a manifest, made safe to print: control
/// characters (ESC, BEL, CR, ...) are shown escaped, so the text cannot clear or repaint
/// what the reader sees. Line breaks are kept when `lines` is set.
pub fn printable_text(s: &str, lines: bool) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && !(lines && c == '\n');
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(
        s.chars()
            .map(|c| {
                if unsafe_char(c) {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// One line of outside text, safe to print (see [`printable_text`]).
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    printable_text(s, false)
}
