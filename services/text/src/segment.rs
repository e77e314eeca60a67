//! Splitting text into word, URL and e-mail pieces.
//!
//! Words follow UAX #29 word boundaries (what `unicode-segmentation`'s `unicode_words` yields).
//! Pure-ASCII chunks, the bulk of real streams, take a byte-level fast path that implements the
//! UAX #29 rules restricted to ASCII; a property test checks it against the reference.
//! URLs and e-mail addresses are found first, inside whitespace-separated chunks, because
//! UAX #29 would cut them into fragments (`http`, `example.com`, `index.html`) that look like
//! ordinary words and would pollute every topic.

use unicode_segmentation::UnicodeSegmentation;

/// One unit handed to the token filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    /// A UAX #29 word containing at least one letter or digit.
    Word(&'a str),
    /// The same for an ASCII word, which the fast path has already classified: `true` if it
    /// holds a letter (else it is a number such as "1993" or "3.14").
    AsciiWord(&'a str, bool),
    /// A URL, trailing sentence punctuation removed.
    Url(&'a str),
    /// An e-mail address (or a news message-id, which has the same shape).
    Email(&'a str),
}

/// Calls `f` for every piece of `text`, in order. `ascii` must be `text.is_ascii()`; the caller
/// usually knows it already and it picks the fast path for the whole text at once.
pub(crate) fn pieces<'a>(text: &'a str, ascii: bool, f: &mut impl FnMut(Piece<'a>)) {
    if ascii {
        // Only chunks (whitespace-free runs) holding `@`, `:` or `www.` can hold a link. Jump
        // from one such trigger to the next; everything between is whole chunks without links,
        // where whitespace is a word boundary like any other non-word byte, so the word scanner
        // takes them in one pass (a text without triggers in a single call).
        let b = text.as_bytes();
        let n = b.len();
        let mut pos = 0;
        let mut next = find_trigger(b, 0);
        while pos < n {
            let t = next;
            if t >= n {
                ascii_words(&text[pos..], &mut |w, letter| {
                    f(Piece::AsciiWord(w, letter))
                });
                break;
            }
            let mut cs = t;
            while cs > pos && CLASS[b[cs - 1] as usize] & SPACE == 0 {
                cs -= 1;
            }
            let mut ce = t;
            while ce < n && CLASS[b[ce] as usize] & SPACE == 0 {
                ce += 1;
            }
            if cs > pos {
                ascii_words(&text[pos..cs], &mut |w, letter| {
                    f(Piece::AsciiWord(w, letter))
                });
            }
            chunk(&text[cs..ce], true, true, f);
            pos = ce;
            if next < ce {
                next = find_trigger(b, ce);
            }
        }
    } else {
        for part in text.split(char::is_whitespace) {
            if !part.is_empty() {
                chunk(part, true, part.is_ascii(), f);
            }
        }
    }
}

/// Position of the first link trigger at or after `from`: an `@`, a `:` or the start of
/// `www.`; `b.len()` if none. One pass, eight bytes at a time.
fn find_trigger(b: &[u8], from: usize) -> usize {
    const LO: u64 = u64::MAX / 255;
    const HI: u64 = LO * 0x80;
    let zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let is_www = |p: usize| b.get(p..p + 4) == Some(b"www.");
    let mut i = from;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8,
        };
        // Sixteen starts at a time: `@`, `:`, or `w` followed by `w` (a lone `w` is common in
        // prose, `ww` is not), then the rest of `www.` checked at the few candidates.
        // SAFETY: SSE2 is baseline on x86-64; the loads read `b[i..i + 17]`, in bounds by the
        // loop condition.
        unsafe {
            let (at, colon, w) = (
                _mm_set1_epi8(b'@' as i8),
                _mm_set1_epi8(b':' as i8),
                _mm_set1_epi8(b'w' as i8),
            );
            while i + 17 <= b.len() {
                let v = _mm_loadu_si128(b.as_ptr().add(i).cast());
                let next = _mm_loadu_si128(b.as_ptr().add(i + 1).cast());
                let hit = _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(v, at), _mm_cmpeq_epi8(v, colon)),
                    _mm_and_si128(_mm_cmpeq_epi8(v, w), _mm_cmpeq_epi8(next, w)),
                );
                let mut m = _mm_movemask_epi8(hit) as u32;
                while m != 0 {
                    let p = i + m.trailing_zeros() as usize;
                    if b[p] != b'w' || is_www(p) {
                        return p;
                    }
                    m &= m - 1;
                }
                i += 16;
            }
        }
    }
    while let Some(word) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        // The lowest flagged byte of each mask is an exact match, so the lowest of their union
        // is one too (bytes above it may be false alarms and are looked at again).
        let m = zero(w ^ (LO * u64::from(b'@')))
            | zero(w ^ (LO * u64::from(b':')))
            | zero(w ^ (LO * u64::from(b'w')));
        if m == 0 {
            i += 8;
            continue;
        }
        let p = i + (m.trailing_zeros() / 8) as usize;
        if b[p] != b'w' || is_www(p) {
            return p;
        }
        i = p + 1;
    }
    while i < b.len() && !matches!(b[i], b'@' | b':') && !is_www(i) {
        i += 1;
    }
    i.max(from).min(b.len())
}

/// Position of the first `@` or `:` at or after `from`, or `b.len()`: eight bytes at a time.
#[cfg(test)]
fn find_at_or_colon(b: &[u8], from: usize) -> usize {
    const LO: u64 = u64::MAX / 255;
    const HI: u64 = LO * 0x80;
    let zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let mut i = from;
    while let Some(word) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        // The lowest flagged byte of each mask is an exact match.
        let m = zero(w ^ (LO * u64::from(b'@'))) | zero(w ^ (LO * u64::from(b':')));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && !matches!(b[i], b'@' | b':') {
        i += 1;
    }
    i.max(from).min(b.len())
}

/// One whitespace-free chunk: words before a link, the link, then the rest (which may hold
/// further links, e.g. `a@b.org,c@d.org`).
fn chunk<'a>(mut rest: &'a str, maybe_link: bool, ascii: bool, f: &mut impl FnMut(Piece<'a>)) {
    if maybe_link {
        while let Some((start, end, piece)) = find_link(rest) {
            words(&rest[..start], ascii, f);
            f(piece);
            rest = &rest[end..];
        }
    }
    words(rest, ascii, f);
}

fn words<'a>(s: &'a str, ascii: bool, f: &mut impl FnMut(Piece<'a>)) {
    if s.is_empty() {
        return;
    }
    if ascii {
        ascii_words(s, &mut |w, letter| f(Piece::AsciiWord(w, letter)));
    } else {
        s.unicode_words().for_each(|w| f(Piece::Word(w)));
    }
}

/// UAX #29 word segmentation for ASCII, keeping only segments with a letter or digit.
///
/// Restricted to ASCII the rules reduce to: letters, digits and `_` always join (WB5, WB8-10,
/// WB13a/b); a single `.`, `'` or `:` joins two letters (WB6/7); a single `.`, `'`, `,` or `;`
/// joins two digits (WB11/12); everything else is a boundary.
///
/// Works on 64-byte blocks turned into bit masks (one bit per byte: letter, digit, `_`, the
/// two kinds of joiner), so a block's word bytes are `letter | digit | _ | joiner between two
/// letters or two digits` in a few shifts, and words are its runs of ones, found with
/// trailing-zero counts instead of a branch per byte. Words crossing a block boundary are
/// carried over. Checked against the byte-at-a-time scanner it replaced and against
/// `unicode-segmentation`.
pub(crate) fn ascii_words<'a>(s: &'a str, f: &mut impl FnMut(&'a str, bool)) {
    let b = s.as_bytes();
    let n = b.len();
    // Flags of a word crossing blocks, from its bytes (rare: most words sit inside a block).
    let flags = |start: usize, end: usize| {
        b[start..end]
            .iter()
            .fold(0u8, |acc, &c| acc | CLASS[c as usize])
    };
    let mut k = 0;
    // Bit 63 of the previous block's masks.
    let (mut prev_word, mut prev_alpha, mut prev_digit) = (0u64, 0u64, 0u64);
    // Start of a word that runs on from the previous block.
    let mut pending: Option<usize> = None;
    while k < n {
        let m = match b.get(k..k + 64) {
            Some(full) => block_masks(full.try_into().expect("64 bytes")),
            None => {
                // The last, partial block, zero-padded (zero is no word byte).
                let mut block = [0u8; 64];
                block[..n - k].copy_from_slice(&b[k..]);
                block_masks(&block)
            }
        };
        let next = b.get(k + 64).map_or(0, |&c| CLASS[c as usize]);
        let next_alpha = u64::from(next & ALPHA != 0) << 63;
        let next_digit = u64::from(next & DIGIT != 0) << 63;
        let join = (m.mid_letter & ((m.alpha << 1) | prev_alpha) & ((m.alpha >> 1) | next_alpha))
            | (m.mid_num & ((m.digit << 1) | prev_digit) & ((m.digit >> 1) | next_digit));
        let alnum = m.alpha | m.digit;
        let word = alnum | m.under | join;
        if word & 1 == 0 {
            if let Some(start) = pending.take() {
                let c = flags(start, k);
                if c & ALNUM != 0 {
                    f(&s[start..k], c & ALPHA != 0);
                }
            }
        }
        let mut starts = word & !((word << 1) | prev_word);
        // Last bytes of words ending inside this block (one reaching bit 63 may go on).
        let mut ends = word & !(word >> 1) & !(1 << 63);
        while ends != 0 {
            let q = ends.trailing_zeros();
            ends &= ends - 1;
            let end = k + q as usize + 1;
            match pending.take() {
                Some(start) => {
                    let c = flags(start, end);
                    if c & ALNUM != 0 {
                        f(&s[start..end], c & ALPHA != 0);
                    }
                }
                None => {
                    let p = starts.trailing_zeros();
                    starts &= starts - 1;
                    let bits = (u64::MAX << p) & (u64::MAX >> (63 - q));
                    if alnum & bits != 0 {
                        f(&s[k + p as usize..end], m.alpha & bits != 0);
                    }
                }
            }
        }
        if word >> 63 != 0 && pending.is_none() {
            pending = Some(k + starts.trailing_zeros() as usize);
        }
        prev_word = word >> 63;
        prev_alpha = m.alpha >> 63;
        prev_digit = m.digit >> 63;
        k += 64;
    }
    if let Some(start) = pending {
        let c = flags(start, n);
        if c & ALNUM != 0 {
            f(&s[start..n], c & ALPHA != 0);
        }
    }
}

/// One bit per byte of a 64-byte block (bit `i` for byte `i`).
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
struct Masks {
    alpha: u64,
    digit: u64,
    under: u64,
    mid_letter: u64,
    mid_num: u64,
}

/// The byte-class masks of a block: SSE2 compares on x86-64 (baseline there), the class table
/// elsewhere.
#[inline(always)]
fn block_masks(block: &[u8; 64]) -> Masks {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of the x86-64 baseline; the four loads read the 64 bytes of
        // `block`.
        unsafe { block_masks_sse2(block) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        block_masks_table(block)
    }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn block_masks_sse2(block: &[u8; 64]) -> Masks {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_cmplt_epi8, _mm_loadu_si128,
        _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    let bits = |v: __m128i| u64::from(_mm_movemask_epi8(v) as u16);
    let set = |c: u8| _mm_set1_epi8(c as i8);
    let mut m = Masks::default();
    for j in 0..4 {
        let v = _mm_loadu_si128(block.as_ptr().add(16 * j).cast());
        // Bytes >= 0x80 are negative as i8, so they fail both range tests.
        let lower = _mm_or_si128(v, set(0x20));
        let alpha = _mm_and_si128(
            _mm_cmpgt_epi8(lower, set(b'a' - 1)),
            _mm_cmplt_epi8(lower, set(b'z' + 1)),
        );
        let digit = _mm_and_si128(
            _mm_cmpgt_epi8(v, set(b'0' - 1)),
            _mm_cmplt_epi8(v, set(b'9' + 1)),
        );
        let both = _mm_or_si128(_mm_cmpeq_epi8(v, set(b'.')), _mm_cmpeq_epi8(v, set(b'\'')));
        let mid_letter = _mm_or_si128(both, _mm_cmpeq_epi8(v, set(b':')));
        let mid_num = _mm_or_si128(
            both,
            _mm_or_si128(_mm_cmpeq_epi8(v, set(b',')), _mm_cmpeq_epi8(v, set(b';'))),
        );
        let shift = 16 * j;
        m.alpha |= bits(alpha) << shift;
        m.digit |= bits(digit) << shift;
        m.under |= bits(_mm_cmpeq_epi8(v, set(b'_'))) << shift;
        m.mid_letter |= bits(mid_letter) << shift;
        m.mid_num |= bits(mid_num) << shift;
    }
    m
}

/// [`block_masks`] from the class table: the portable version, and the reference in tests.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn block_masks_table(block: &[u8; 64]) -> Masks {
    let mut m = Masks::default();
    for (i, &c) in block.iter().enumerate() {
        let k = CLASS[c as usize];
        m.alpha |= u64::from(k & ALPHA != 0) << i;
        m.digit |= u64::from(k & DIGIT != 0) << i;
        m.under |= u64::from(c == b'_') << i;
        m.mid_letter |= u64::from(k & MID_LETTER != 0) << i;
        m.mid_num |= u64::from(k & MID_NUM != 0) << i;
    }
    m
}

/// Byte classes for the ASCII scanners, one table look-up per byte.
const CORE: u8 = 1;
const ALNUM: u8 = 2;
const ALPHA: u8 = 4;
const DIGIT: u8 = 8;
/// Joins two letters (WB6/7).
const MID_LETTER: u8 = 16;
/// Joins two digits (WB11/12).
const MID_NUM: u8 = 32;
const SPACE: u8 = 64;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let mut k = 0;
        if b.is_ascii_alphabetic() {
            k |= CORE | ALNUM | ALPHA;
        }
        if b.is_ascii_digit() {
            k |= CORE | ALNUM | DIGIT;
        }
        if b == b'_' {
            k |= CORE;
        }
        if matches!(b, b'.' | b'\'' | b':') {
            k |= MID_LETTER;
        }
        if matches!(b, b'.' | b'\'' | b',' | b';') {
            k |= MID_NUM;
        }
        if b.is_ascii_whitespace() {
            k |= SPACE;
        }
        t[c] = k;
        c += 1;
    }
    t
};

/// The first URL or e-mail address in a chunk, as `(start, end, piece)` byte offsets. All
/// delimiters and scanned classes are ASCII, so the offsets are char boundaries in any text.
fn find_link(s: &str) -> Option<(usize, usize, Piece<'_>)> {
    let b = s.as_bytes();
    let url = find_url(b);
    let email = find_email(s);
    match (url, email) {
        // A URL may contain '@' (`http://user@host/`): the earlier start wins.
        (Some((us, ue)), Some((es, _))) if us <= es => Some((us, ue, Piece::Url(&s[us..ue]))),
        (_, Some((es, ee))) => Some((es, ee, Piece::Email(&s[es..ee]))),
        (Some((us, ue)), None) => Some((us, ue, Piece::Url(&s[us..ue]))),
        (None, None) => None,
    }
}

/// `scheme://...` with a scheme of at least two characters, or `www.` at a word start.
fn find_url(b: &[u8]) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(p) = find(&b[from..], b"://").map(|p| p + from) {
        let mut start = p;
        while start > 0
            && (b[start - 1].is_ascii_alphanumeric() || matches!(b[start - 1], b'+' | b'-' | b'.'))
        {
            start -= 1;
        }
        // The scheme must start with a letter; skip leading digits/punctuation.
        while start < p && !b[start].is_ascii_alphabetic() {
            start += 1;
        }
        let end = url_end(b, p + 3);
        if p - start >= 2 && end > p + 3 {
            return Some((start, end));
        }
        from = p + 3;
    }
    let mut from = 0;
    while let Some(p) = find(&b[from..], b"www.").map(|p| p + from) {
        let end = url_end(b, p + 4);
        if (p == 0 || !b[p - 1].is_ascii_alphanumeric()) && end > p + 4 {
            return Some((p, end));
        }
        from = p + 4;
    }
    None
}

/// A URL runs to the end of its chunk, less trailing sentence punctuation and brackets.
fn url_end(b: &[u8], min: usize) -> usize {
    let mut end = b.len();
    while end > min
        && matches!(
            b[end - 1],
            b'.' | b',' | b';' | b':' | b'!' | b'?' | b')' | b']' | b'}' | b'>' | b'\'' | b'"'
        )
    {
        end -= 1;
    }
    end
}

/// `local@domain.tld`: a non-empty local part and a dotted domain of letters, digits and `-`.
fn find_email(s: &str) -> Option<(usize, usize)> {
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(at) = b[from..].iter().position(|&c| c == b'@').map(|p| p + from) {
        let mut start = at;
        while start > 0 && is_local(b[start - 1]) {
            start -= 1;
        }
        // No leading dots, quotes or guillemets: start at the first letter or digit.
        start += s[start..at]
            .find(char::is_alphanumeric)
            .unwrap_or(at - start);
        let mut end = at + 1;
        while end < b.len() && (b[end].is_ascii_alphanumeric() || matches!(b[end], b'.' | b'-')) {
            end += 1;
        }
        while end > at + 1 && matches!(b[end - 1], b'.' | b'-') {
            end -= 1;
        }
        let domain = &b[at + 1..end];
        let dotted = domain.first().is_some_and(u8::is_ascii_alphanumeric)
            && domain
                .iter()
                .rposition(|&c| c == b'.')
                .is_some_and(|d| d + 1 < domain.len());
        if start < at && dotted {
            return Some((start, end));
        }
        from = at + 1;
    }
    None
}

#[inline]
fn is_local(c: u8) -> bool {
    // Bytes >= 0x80 belong to non-ASCII letters of internationalised addresses; taking them all
    // keeps the start on a char boundary.
    !c.is_ascii()
        || c.is_ascii_alphanumeric()
        || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-' | b'\'' | b'=' | b'$')
}

/// First occurrence of `needle` (non-empty): scan for its first byte, then compare the rest.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut from = 0;
    while let Some(p) = hay[from..]
        .iter()
        .position(|&c| c == first)
        .map(|p| p + from)
    {
        if hay[p + 1..].starts_with(rest) {
            return Some(p);
        }
        from = p + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(text: &str) -> Vec<Piece<'_>> {
        let mut out = Vec::new();
        pieces(text, text.is_ascii(), &mut |p| {
            out.push(match p {
                Piece::AsciiWord(w, letter) => {
                    assert_eq!(letter, w.bytes().any(|b| b.is_ascii_alphabetic()), "{w}");
                    Piece::Word(w)
                }
                other => other,
            })
        });
        out
    }

    /// The former chunk-by-chunk scan of ASCII text, as a reference for the trigger jumps.
    fn pieces_by_chunk(text: &str) -> Vec<Piece<'_>> {
        let mut out = Vec::new();
        let f = &mut |p| out.push(p);
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i].is_ascii_whitespace() {
                i += 1;
                continue;
            }
            let start = i;
            let mut maybe_link = false;
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                maybe_link |= match bytes[i] {
                    b'@' | b':' => true,
                    b'.' => i >= start + 3 && &bytes[i - 3..i] == b"www",
                    _ => false,
                };
                i += 1;
            }
            chunk(&text[start..i], maybe_link, true, f);
        }
        out
    }

    fn pieces_of(text: &str) -> Vec<Piece<'_>> {
        let mut out = Vec::new();
        pieces(text, text.is_ascii(), &mut |p| out.push(p));
        out
    }

    /// Whether `mid` between `prev` and `next` stays inside the word (WB6/7, WB11/12).
    #[inline]
    fn joins(prev: u8, mid: u8, next: u8) -> bool {
        let both = CLASS[prev as usize] & CLASS[next as usize];
        let m = CLASS[mid as usize];
        (both & ALPHA != 0 && m & MID_LETTER != 0) || (both & DIGIT != 0 && m & MID_NUM != 0)
    }

    /// The former byte-at-a-time scanner, as the reference for the block version.
    fn ascii_words_bytewise<'a>(s: &'a str, f: &mut impl FnMut(&'a str, bool)) {
        let b = s.as_bytes();
        let n = b.len();
        let mut i = 0;
        while i < n {
            if CLASS[b[i] as usize] & CORE == 0 {
                i += 1;
                continue;
            }
            let start = i;
            let mut seen = 0u8;
            loop {
                while i < n {
                    let c = CLASS[b[i] as usize];
                    if c & CORE == 0 {
                        break;
                    }
                    seen |= c;
                    i += 1;
                }
                if i + 1 < n && joins(b[i - 1], b[i], b[i + 1]) {
                    i += 1;
                    continue;
                }
                break;
            }
            if seen & ALNUM != 0 {
                f(&s[start..i], seen & ALPHA != 0);
            }
        }
    }

    type Words<'a> = Vec<(&'a str, bool)>;

    fn blocks_and_bytes(s: &str) -> (Words<'_>, Words<'_>) {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        ascii_words(s, &mut |w, l| a.push((w, l)));
        ascii_words_bytewise(s, &mut |w, l| b.push((w, l)));
        (a, b)
    }

    #[test]
    fn block_scanner_matches_bytewise_at_block_edges() {
        let mut cases = Vec::new();
        for pad in 55..70 {
            for w in [
                "ab", "a.b", "1,2", "can't", "_", "__x", "x.", ".x", "1.a", "a1b2c3",
            ] {
                cases.push(format!("{}{w}{}", " ".repeat(pad), " a".repeat(3)));
                cases.push(format!("{}{w}", "y".repeat(pad)));
                cases.push(format!("{}{w}", "-".repeat(pad)));
            }
        }
        cases.push("w".repeat(200));
        cases.push("ab.".repeat(100));
        cases.push("1,".repeat(100));
        for c in &cases {
            let (a, b) = blocks_and_bytes(c);
            assert_eq!(a, b, "{c:?}");
        }
    }

    #[test]
    fn sse2_masks_match_the_table() {
        let mut block = [0u8; 64];
        for start in 0..4u32 {
            for (i, c) in block.iter_mut().enumerate() {
                *c = (start * 64 + i as u32) as u8;
            }
            assert_eq!(
                block_masks(&block),
                block_masks_table(&block),
                "bytes from {}",
                start * 64
            );
        }
    }

    fn reference(s: &str) -> Vec<&str> {
        s.unicode_words().collect()
    }

    fn fast(s: &str) -> Vec<&str> {
        let mut out = Vec::new();
        ascii_words(s, &mut |w, _| out.push(w));
        out
    }

    #[test]
    fn ascii_fast_path_matches_uax29_on_tricky_cases() {
        for s in [
            "can't won't U.S.A. e.g. 3.14 1,000,000 a:b 1:2 foo_bar __ _x_ a..b 1.a a.1 x86 mp3's",
            "'quoted' \"dq\" (paren) [br] a-b a/b a'b' 1;2 1'2 a;b",
            "...---___,,,;;;'''",
            "",
            "a",
            "_",
            "a_",
            "_1",
        ] {
            assert_eq!(fast(s), reference(s), "input {s:?}");
        }
    }

    #[test]
    fn byte_classes_match_the_ascii_predicates() {
        for c in 0..=255u8 {
            let k = CLASS[c as usize];
            assert_eq!(k & CORE != 0, c.is_ascii_alphanumeric() || c == b'_', "{c}");
            assert_eq!(k & ALNUM != 0, c.is_ascii_alphanumeric(), "{c}");
            assert_eq!(k & ALPHA != 0, c.is_ascii_alphabetic(), "{c}");
            assert_eq!(k & DIGIT != 0, c.is_ascii_digit(), "{c}");
            assert_eq!(k & SPACE != 0, c.is_ascii_whitespace(), "{c}");
            assert_eq!(k & MID_LETTER != 0, matches!(c, b'.' | b'\'' | b':'), "{c}");
            assert_eq!(
                k & MID_NUM != 0,
                matches!(c, b'.' | b'\'' | b',' | b';'),
                "{c}"
            );
        }
    }

    #[test]
    fn finds_urls_and_emails_with_surrounding_words() {
        let p = all("see (http://example.com/a?b=1). mail bob.smith@cs.cmu.edu, or www.foo.org!");
        assert_eq!(
            p,
            vec![
                Piece::Word("see"),
                Piece::Url("http://example.com/a?b=1"),
                Piece::Word("mail"),
                Piece::Email("bob.smith@cs.cmu.edu"),
                Piece::Word("or"),
                Piece::Url("www.foo.org"),
            ]
        );
    }

    #[test]
    fn message_ids_and_lists_of_addresses() {
        assert_eq!(
            all("<1993Apr5.1234@news.cso.uiuc.edu> a@b.org,c@d.net"),
            vec![
                Piece::Email("1993Apr5.1234@news.cso.uiuc.edu"),
                Piece::Email("a@b.org"),
                Piece::Email("c@d.net"),
            ]
        );
    }

    #[test]
    fn near_misses_stay_words() {
        // No dot in the domain, no scheme, too short a scheme: ordinary words.
        assert_eq!(
            all("user@localhost c://x re: 12:30 @home"),
            vec![
                Piece::Word("user"),
                Piece::Word("localhost"),
                Piece::Word("c"),
                Piece::Word("x"),
                Piece::Word("re"),
                Piece::Word("12"),
                Piece::Word("30"),
                Piece::Word("home"),
            ]
        );
    }

    #[test]
    fn non_ascii_text_uses_the_unicode_segmenter() {
        assert_eq!(
            all("Grüße, naïve café. mail: jörg@example.de"),
            vec![
                Piece::Word("Grüße"),
                Piece::Word("naïve"),
                Piece::Word("café"),
                Piece::Word("mail"),
                Piece::Email("jörg@example.de"),
            ]
        );
    }

    proptest! {
        #[test]
        fn ascii_fast_path_matches_uax29(s in "[a-zA-Z0-9_.,;:'\" \\-@/()!?\t\n]{0,60}") {
            prop_assert_eq!(fast(&s), reference(&s));
        }

        #[test]
        fn block_scanner_matches_bytewise(s in "([a-zA-Z0-9_.,;:'\" \\-]|ab|12|a\\.b|1,2){0,200}") {
            let (a, b) = blocks_and_bytes(&s);
            prop_assert_eq!(a, b);
        }

        #[test]
        fn block_scanner_matches_bytewise_any_ascii(s in "[\\x00-\\x7f]{0,300}") {
            let (a, b) = blocks_and_bytes(&s);
            prop_assert_eq!(a, b);
        }

        #[test]
        fn block_scanner_matches_uax29_long(s in "[a-zA-Z0-9_.,;:'\"\\-]{0,150}") {
            prop_assert_eq!(fast(&s), reference(&s));
        }

        #[test]
        fn ascii_fast_path_matches_uax29_any_ascii(s in "[\\x00-\\x7f]{0,60}") {
            // Whitespace-free chunks are what the fast path sees.
            for part in s.split(|c: char| c.is_ascii_whitespace()) {
                prop_assert_eq!(fast(part), reference(part));
            }
        }

        #[test]
        fn trigger_jumps_match_chunk_scan(s in "([a-cw .:@/\t\n]|www\\.|://|a@b\\.c){0,40}") {
            prop_assert_eq!(pieces_of(&s), pieces_by_chunk(&s));
        }

        #[test]
        fn trigger_jumps_match_chunk_scan_any_ascii(s in "[\\x00-\\x7f]{0,80}") {
            prop_assert_eq!(pieces_of(&s), pieces_by_chunk(&s));
        }

        #[test]
        fn finds_triggers(s in "[a@:.w ]{0,40}|([aw.:]|www\\.){0,20}|([a-z ]|ww|www\\.|@|:){0,60}", from in 0usize..45) {
            let b = s.as_bytes();
            let want = (from.min(b.len())..b.len())
                .find(|&i| matches!(b[i], b'@' | b':') || b[i..].starts_with(b"www."))
                .unwrap_or(b.len());
            prop_assert_eq!(find_trigger(b, from), want);
        }

        #[test]
        fn finds_at_or_colon(s in "[a@:.]{0,40}", from in 0usize..45) {
            let b = s.as_bytes();
            let want = (from.min(b.len())..b.len()).find(|&i| matches!(b[i], b'@' | b':')).unwrap_or(b.len());
            prop_assert_eq!(find_at_or_colon(b, from), want);
        }

        #[test]
        fn pieces_never_panic_and_lie_inside_the_text(s in "\\PC{0,80}") {
            let base = s.as_ptr() as usize;
            for p in all(&s) {
                let w = match p { Piece::Word(w) | Piece::AsciiWord(w, _) | Piece::Url(w) | Piece::Email(w) => w };
                let off = w.as_ptr() as usize - base;
                prop_assert!(off + w.len() <= s.len());
                prop_assert!(!w.is_empty());
            }
        }
    }
}
