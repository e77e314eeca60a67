//! Stripping e-mail/news headers, quoted replies and signatures.
//!
//! The rules follow scikit-learn's `strip_newsgroup_header/quoting/footer` in spirit but are
//! stricter where those are reckless for general mail: a header block is removed only when the
//! text really starts with RFC-822 `Key: value` lines (scikit-learn drops everything before
//! the first blank line, whatever it is), and a signature only after an explicit delimiter near
//! the end (scikit-learn drops everything after the last blank line).
//!
//! Header and signature stripping only move the ends of a slice, so a text without quotes comes
//! back borrowed; dropping quoted lines is the only step that allocates.

use std::borrow::Cow;

use crate::bytes;

/// Which of the three stripping steps run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CleanOptions {
    pub headers: bool,
    pub quotes: bool,
    pub signatures: bool,
}

/// Headers first (they are only recognised at the very start), then quotes (a reply's own
/// signature often sits above the quoted original), then the signature of what is left.
pub(crate) fn clean(text: &str, opts: CleanOptions) -> Cow<'_, str> {
    clean_noting_quotes(text, opts, None)
}

/// [`clean`], also appending the lines the quote step drops to `dropped` (quoted lines and
/// attribution lines, each ending in a newline, and a forwarded original whole), for callers
/// that want the quoted text without scanning the body a second time.
pub(crate) fn clean_noting_quotes<'a>(
    text: &'a str,
    opts: CleanOptions,
    dropped: Option<&mut String>,
) -> Cow<'a, str> {
    let mut body = text;
    if opts.headers {
        body = strip_header(body);
    }
    let mut out = if opts.quotes {
        strip_quotes(body, dropped)
    } else {
        Cow::Borrowed(body)
    };
    let mut end = if opts.signatures {
        signature_start(&out)
    } else {
        out.len()
    };
    let mut start = 0;
    if end != text.len() {
        // Something was cut: the blank lines left where it was are noise for display. Leading
        // blank lines go whole, the indentation of the first real line stays.
        end = out[..end].trim_end().len();
        let first = out[..end].len() - out[..end].trim_start().len();
        start = out[..first].rfind('\n').map_or(0, |p| p + 1);
    }
    match &mut out {
        Cow::Borrowed(s) => *s = &s[start..end],
        Cow::Owned(s) => {
            s.truncate(end);
            s.drain(..start);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Headers

/// Field names that mark a block as mail/news headers rather than prose like "Note: ...".
const KNOWN_FIELDS: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "date",
    "message-id",
    "newsgroups",
    "path",
    "organization",
    "organisation",
    "lines",
    "reply-to",
    "sender",
    "received",
    "return-path",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "references",
    "in-reply-to",
    "nntp-posting-host",
    "followup-to",
    "keywords",
    "summary",
    "distribution",
    "xref",
    "article-i.d.",
    "expires",
    "approved",
    "user-agent",
    "delivered-to",
    "thread-topic",
];

/// Removes a leading header block: optional mbox `From ` line, then only `Key: value` lines and
/// their indented continuations up to the first blank line (or the end), with at least one
/// well-known field among them. Anything else leaves the text untouched.
fn strip_header(text: &str) -> &str {
    let mut known = false;
    let mut first = true;
    let mut pos = 0;
    while pos < text.len() {
        let (line, next) = line_at(text, pos);
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            return if known && !first { &text[next..] } else { text };
        }
        if first && line.starts_with("From ") {
            // mbox envelope line; not a field itself.
        } else if !first && line.starts_with([' ', '\t']) {
            // continuation of the previous field
        } else if let Some(name) = field_name(line) {
            // One well-known field is enough; later names need not be looked up.
            known = known
                || (name.len() >= 2
                    && (name[..2].eq_ignore_ascii_case("x-")
                        || KNOWN_FIELDS.iter().any(|k| k.eq_ignore_ascii_case(name))));
        } else {
            return text;
        }
        first = false;
        pos = next;
    }
    // The whole text is a header block (a message with no body).
    if known {
        &text[text.len()..]
    } else {
        text
    }
}

/// The `Key` of an RFC-822 `Key: value` line: 1-76 printable ASCII characters other than
/// space and colon, then a colon.
fn field_name(line: &str) -> Option<&str> {
    let colon = line.find(':')?;
    let name = &line[..colon];
    let ok = (1..=76).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(name)
}

// ---------------------------------------------------------------------------------------------
// Quotes

/// Drops quoted lines, attribution lines and forwarded originals; borrows when nothing drops.
///
/// One pass over the lines, copying only once something drops. In ASCII text a line is looked
/// at closely only when its first and last bytes allow one of the patterns (see
/// [`maybe_special`]); the byte test is a superset of the full tests, so the result is the same
/// (property-tested against the former line-vector version). Dropped lines are appended to
/// `dropped` when given (see [`clean_noting_quotes`]).
fn strip_quotes<'a>(text: &'a str, mut dropped: Option<&mut String>) -> Cow<'a, str> {
    let ascii = text.is_ascii();
    // The one pattern that may sit anywhere in a line: looked for once per text, not per line.
    // Offsets 1 and 16 are its 'w' and 'g', rare letters.
    let writes_in = ascii && bytes::contains(text.as_bytes(), WRITES_IN_MESSAGE.as_bytes(), 1, 16);
    let mut out: Option<String> = None;
    // The previous line (with its newline) and whether it was kept.
    let mut prev: Option<(usize, usize, bool)> = None;
    let mut pos = 0;
    while pos < text.len() {
        let (line, next) = line_at(text, pos);
        let bare = line.trim_end_matches('\r');
        if ascii && !maybe_special(bare.as_bytes(), writes_in) {
            if let Some(o) = &mut out {
                o.push_str(&text[pos..next]);
            }
            prev = Some((pos, next, true));
            pos = next;
            continue;
        }
        if starts_original(bare, &text[next..]) {
            // Outlook-style replies put the whole original below this marker.
            out.get_or_insert_with(|| copy_start(text, pos));
            if let Some(d) = dropped.as_deref_mut() {
                d.push_str(&text[pos..]);
            }
            break;
        }
        let attribution = is_attribution(bare);
        let drop = attribution || is_quote(bare);
        if drop {
            if let Some(d) = dropped.as_deref_mut() {
                d.push_str(bare);
                d.push('\n');
            }
        }
        if attribution {
            // Gmail wraps "On <date>, <name> <addr>\nwrote:" over two lines.
            if let Some((ps, pe, true)) = prev {
                if text[ps..pe].trim_start().starts_with("On ")
                    && !bare.trim_start().starts_with("On ")
                {
                    // The previous line is the last one copied, if anything was.
                    match &mut out {
                        Some(o) => o.truncate(o.len() - (pe - ps)),
                        None => out = Some(copy_start(text, ps)),
                    }
                }
            }
        }
        match &mut out {
            Some(o) if !drop => o.push_str(&text[pos..next]),
            Some(_) => {}
            None if drop => out = Some(copy_start(text, pos)),
            None => {}
        }
        prev = Some((pos, next, !drop));
        pos = next;
    }
    match out {
        Some(o) => Cow::Owned(o),
        None => Cow::Borrowed(text),
    }
}

/// `text[..end]` in a string with room for all of `text`, so the copy never reallocates.
fn copy_start(text: &str, end: usize) -> String {
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..end]);
    out
}

const WRITES_IN_MESSAGE: &str = " writes in message ";

/// Whether an ASCII line (`\r` trimmed) could be a quote, an attribution or the start of a
/// forwarded original, from its first and last bytes: `>` after blanks, `|` or initials and
/// `>` at the start (quotes); `:` at the end, `I` of "In article <" at the start, or
/// " writes in message " somewhere in the text (attributions); `-` or `_` at the start
/// (original-message markers). Every line [`is_quote`], [`is_attribution`] or
/// [`starts_original`] accepts passes; most prose lines do not.
#[inline]
fn maybe_special(b: &[u8], writes_in: bool) -> bool {
    // Unicode White_Space restricted to ASCII (what `str::trim` removes).
    let ws = |c: &u8| matches!(c, b'\t'..=b'\r' | b' ');
    let Some(first) = b.iter().position(|c| !ws(c)) else {
        return false;
    };
    let last = b.iter().rposition(|c| !ws(c)).unwrap_or(first);
    let blank = b
        .iter()
        .position(|&c| c != b' ' && c != b'\t')
        .unwrap_or(first);
    writes_in
        || b[blank] == b'>'
        || b[0] == b'|'
        || (b[0].is_ascii_alphabetic() && b[1..b.len().min(5)].contains(&b'>'))
        || b[last] == b':'
        || matches!(b[first], b'I' | b'-' | b'_')
}

/// `> text`, `>> text` (optionally indented up to three blanks), `| text` at the line start, and
/// Supercite-style `JD> text`.
fn is_quote(line: &str) -> bool {
    let indented = line.trim_start_matches([' ', '\t']);
    if line.len() - indented.len() <= 3 && indented.starts_with('>') {
        return true;
    }
    if line.starts_with('|') {
        return true;
    }
    let b = line.as_bytes();
    let initials = b
        .iter()
        .take(5)
        .take_while(|c| c.is_ascii_alphabetic())
        .count();
    (1..=4).contains(&initials)
        && b.get(initials) == Some(&b'>')
        && b.get(initials + 1)
            .is_none_or(|c| matches!(c, b' ' | b'>' | b'\t'))
}

/// `... writes:`, `... wrote:`, `In article <...>`: the line introducing a quote.
fn is_attribution(line: &str) -> bool {
    let t = line.trim();
    // A lone "wrote:" is the second half of a wrapped attribution.
    let introduces = ["writes:", "wrote:", "said:", "says:"]
        .iter()
        .any(|s| ends_with_ci(t, s))
        && (t.split_whitespace().count() >= 2
            || t.eq_ignore_ascii_case("wrote:")
            || t.eq_ignore_ascii_case("writes:"));
    introduces || t.starts_with("In article <") || t.contains(" writes in message ")
}

/// `-----Original Message-----`, or an underscore rule followed by `From:` (Outlook).
fn starts_original(line: &str, rest: &str) -> bool {
    let t = line.trim();
    if t.starts_with("-----") && ends_with_ci(t.trim_matches('-').trim(), "original message") {
        return true;
    }
    t.len() >= 10
        && t.bytes().all(|b| b == b'_')
        && rest
            .trim_start()
            .get(..5)
            .is_some_and(|s| s.eq_ignore_ascii_case("from:"))
}

// ---------------------------------------------------------------------------------------------
// Signatures

/// Non-empty lines a signature may have after an RFC 3676 `-- ` delimiter.
const MAX_SIG_LINES: usize = 15;
/// Non-empty lines after a looser rule line (`--Joe`, `-----`, `=====`, `_____`).
const MAX_RULE_SIG_LINES: usize = 8;

/// Byte offset where the signature starts (`text.len()` if none), trailing blanks included.
///
/// A line that is exactly `--` (the `-- ` delimiter, trailing blanks ignored) within the last
/// [`MAX_SIG_LINES`] non-empty lines wins; otherwise the last rule line (starting with `--`, or
/// five or more of `=`, `_`, `*`, `~`) within the last [`MAX_RULE_SIG_LINES`]. Some non-empty
/// text must remain above it, so a post that is all "signature" is kept.
fn signature_start(text: &str) -> usize {
    let mut after = 0; // non-empty lines seen below the current one
    let mut rule: Option<usize> = None;
    let mut end = text.len();
    while end > 0 {
        // `end` is a line start or the text's end; skip the newline that ends the line.
        let search_end = if text.as_bytes()[end - 1] == b'\n' {
            end - 1
        } else {
            end
        };
        let start = text[..search_end].rfind('\n').map_or(0, |p| p + 1);
        let line = text[start..end].trim_end();
        if after > MAX_SIG_LINES {
            break;
        }
        if line == "--" {
            if has_text(&text[..start]) {
                return trim_end_len(&text[..start]);
            }
            break;
        }
        // A bare rule needs something below it; "--Joe" is a signature by itself.
        let signed =
            line.trim_start().starts_with("--") && !line.trim().trim_matches('-').trim().is_empty();
        if rule.is_none()
            && after <= MAX_RULE_SIG_LINES
            && (after > 0 || signed)
            && is_rule(line)
            && has_text(&text[..start])
        {
            rule = Some(start);
        }
        if !line.is_empty() {
            after += 1;
        }
        end = start;
    }
    rule.map_or(text.len(), |start| trim_end_len(&text[..start]))
}

fn is_rule(line: &str) -> bool {
    let t = line.trim();
    if t.starts_with("--") {
        return t.len() <= 60; // "--Joe", "-- Joe Smith, Acme": short, unlike prose with a dash
    }
    t.len() >= 5
        && t.bytes()
            .all(|b| matches!(b, b'=' | b'_' | b'*' | b'~' | b'-' | b' '))
        && !t.contains("  ")
}

// ---------------------------------------------------------------------------------------------
// Context: what cleaning keeps out of the topic terms but a reader and a classifier can use

/// The Subject of a leading header block (unfolded and trimmed; `None` when there is no header
/// block, no Subject field, or it is empty) and the text below that block.
///
/// The block is exactly the one [`clean`] strips, so `"Subject: s\n\n" + body` has the same
/// body under [`clean`] again.
pub(crate) fn subject_and_body(text: &str) -> (Option<String>, &str) {
    let body = strip_header(text);
    let header = &text[..text.len() - body.len()];
    let mut subject: Option<String> = None;
    let mut in_subject = false;
    for line in header.lines() {
        let line = line.trim_end_matches('\r');
        if in_subject && line.starts_with([' ', '\t']) {
            if let Some(s) = &mut subject {
                s.push(' ');
                s.push_str(line.trim());
            }
            continue;
        }
        in_subject = false;
        if let Some(name) = field_name(line) {
            if subject.is_none() && name.eq_ignore_ascii_case("subject") {
                subject = Some(line[name.len() + 1..].trim().to_owned());
                in_subject = true;
            }
        }
    }
    (subject.filter(|s| !s.trim().is_empty()), body)
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// The line starting at `pos` (without its `\n`) and the offset of the next line.
#[inline]
fn line_at(text: &str, pos: usize) -> (&str, usize) {
    // `\n` is ASCII, so the offset found is a char boundary.
    match bytes::find_byte(text.as_bytes(), pos, b'\n') {
        n if n < text.len() => (&text[pos..n], n + 1),
        _ => (&text[pos..], text.len()),
    }
}

fn has_text(s: &str) -> bool {
    !s.trim().is_empty()
}

fn trim_end_len(s: &str) -> usize {
    s.trim_end().len()
}

fn ends_with_ci(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len()
        && s.is_char_boundary(s.len() - suffix.len())
        && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

#[cfg(test)]
#[path = "clean_tests.rs"]
mod tests;
