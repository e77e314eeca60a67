//! The compiled tokenizer: normalisation, segmentation and the token filters.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};
use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

use crate::clean::{clean, clean_noting_quotes, subject_and_body, CleanOptions};
use crate::key::{Key, KeyTable};
use crate::segment::{pieces, Piece};
use crate::stem::Stem;
use crate::{lang, TextError, TokenizerConfig};

thread_local! {
    /// Scratch bag of words for [`Tokenizer::process`].
    static COUNTS: RefCell<Counts> = RefCell::new(Counts::default());
}

/// A compiled [`TokenizerConfig`]: stop-word sets built, languages resolved. Cheap to clone
/// (the sets are shared) and safe to use from many threads at once.
#[derive(Clone, Debug)]
pub struct Tokenizer {
    config: TokenizerConfig,
    /// List words and extra words, normalised like tokens; matched before stemming.
    stop: Arc<StopSet>,
    /// Extra words alone, also matched against stems.
    extra: Arc<FxHashSet<Box<str>>>,
    stem: Option<Stem>,
    clean: CleanOptions,
}

/// One document after preprocessing.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Processed {
    /// The text after header/quote/signature stripping (not normalised or lower-cased), for
    /// showing to annotators.
    pub display_text: String,
    /// Bag of words: each distinct term once, sorted by term, with its count.
    pub terms: Vec<(String, u32)>,
    /// Number of tokens kept, i.e. the sum of the counts.
    pub token_count: u32,
}

/// A document prepared for the whole pipeline: the topic terms of [`Tokenizer::process`], plus
/// what cleaning keeps out of the topics but a reader and a classifier can use.
///
/// On 20 Newsgroups the Subject line and the quoted replies lift a word-feature classifier
/// from ~61 % to ~75 % at 1,500 labels (bench/queue/RESULTS.md); for topics they are noise
/// (quotes repeat another post's words, subjects repeat across a thread).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Prepared {
    /// Topic terms and display text, exactly as [`Tokenizer::process`] gives them.
    pub processed: Processed,
    /// The text to store and show: the Subject line (if there was one) over the body, quotes
    /// and signature included, other headers dropped. Preparing this text again gives the
    /// same `processed.terms` and `context_terms`, so a service that only has the stored text
    /// (a label event, a re-score) computes the same features as ingest did.
    pub text: String,
    /// Terms of the Subject and of the quoted lines (sorted, counted like `terms`): classifier
    /// features only. Empty when the config keeps headers and quotes in the topic terms.
    pub context_terms: Vec<(String, u32)>,
}

impl Tokenizer {
    /// Checks and compiles a config.
    ///
    /// # Errors
    /// [`TextError::UnknownLanguage`] for an unknown stop-word or stemmer language,
    /// [`TextError::InvalidConfig`] if `max_token_len` is 0 or below `min_token_len`.
    pub fn new(config: TokenizerConfig) -> Result<Self, TextError> {
        if config.max_token_len == 0 || config.max_token_len < config.min_token_len {
            return Err(TextError::InvalidConfig(format!(
                "max_token_len ({}) must be >= 1 and >= min_token_len ({})",
                config.max_token_len, config.min_token_len
            )));
        }
        let stem = config
            .stemmer
            .as_deref()
            .map(lang::stemmer)
            .transpose()?
            .map(Stem::new);
        let listed = config
            .stopwords
            .as_deref()
            .map(lang::stopwords)
            .transpose()?
            .unwrap_or_default();

        let mut tokenizer = Self {
            clean: CleanOptions {
                headers: config.strip_headers,
                quotes: config.strip_quotes,
                signatures: config.strip_signatures,
            },
            config,
            stop: Arc::default(),
            extra: Arc::default(),
            stem,
        };
        // Stop words go through the same normalisation as tokens so that "The", "ﬁrst" or
        // "don’t" in a list match what the text yields.
        let mut buf = String::new();
        let mut norm = |w: &str| -> Option<Box<str>> {
            let w = nfkc(w, tokenizer.config.nfkc);
            normalise_into(&w, w.is_ascii(), true, &mut buf);
            (!buf.is_empty()).then(|| buf.as_str().into())
        };
        let extra: FxHashSet<Box<str>> = tokenizer
            .config
            .extra_stopwords
            .iter()
            .filter_map(|w| norm(w))
            .collect();
        let mut stop = StopSet::default();
        for w in listed
            .iter()
            .filter_map(|w| norm(w))
            .chain(extra.iter().cloned())
        {
            stop.insert(w);
        }
        tokenizer.stop = Arc::new(stop);
        tokenizer.extra = Arc::new(extra);
        Ok(tokenizer)
    }

    /// The config this tokenizer was built from.
    pub fn config(&self) -> &TokenizerConfig {
        &self.config
    }

    /// Header, quote and signature stripping only (as configured); borrows unless quoted lines
    /// had to be cut out of the middle.
    pub fn clean<'a>(&self, text: &'a str) -> Cow<'a, str> {
        clean(text, self.clean)
    }

    /// The tokens of already-cleaned text, in order, after every filter.
    pub fn tokens(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.for_each_token(text, |t| out.push(t.to_owned()));
        out
    }

    /// Cleans, tokenizes and counts one document.
    pub fn process(&self, text: &str) -> Processed {
        self.process_noting_quotes(text, None)
    }

    /// [`process`](Self::process), also appending the quoted lines cleaning drops to
    /// `quoted` (see `clean::clean_noting_quotes`): the classifier's context is then read
    /// off the same single pass over the body.
    fn process_noting_quotes(&self, text: &str, quoted: Option<&mut String>) -> Processed {
        let display = clean_noting_quotes(text, self.clean, quoted);
        let (terms, token_count) = self.bag(&display);
        Processed {
            display_text: display.into_owned(),
            terms,
            token_count,
        }
    }

    /// [`process`](Self::process), plus the stored text and the classifier's context terms
    /// (see [`Prepared`]).
    pub fn prepare(&self, text: &str) -> Prepared {
        if !self.config.classifier_context {
            let processed = self.process(text);
            return Prepared {
                text: processed.display_text.clone(),
                processed,
                context_terms: Vec::new(),
            };
        }
        let mut quoted = String::new();
        let processed = self.process_noting_quotes(text, Some(&mut quoted));
        let (subject, body) = if self.clean.headers {
            subject_and_body(text)
        } else {
            (None, text)
        };
        let stored = match &subject {
            // The blank line ends the one-field header block that `clean` strips again.
            Some(s) => format!("Subject: {s}\n\n{body}"),
            None => body.to_owned(),
        };
        // The Subject counts twice: it is the author's own one-line summary, and weighting it
        // up is what the measured gain was taken with (bench/queue/RESULTS.md).
        let mut context = subject.map(|s| format!("{s}\n{s}")).unwrap_or_default();
        if !quoted.is_empty() {
            context.push('\n');
            context.push_str(&quoted);
        }
        let context_terms = if context.is_empty() {
            Vec::new()
        } else {
            self.bag(&context).0
        };
        Prepared {
            processed,
            text: stored,
            context_terms,
        }
    }

    /// The counted terms of `text`. The counting map is reused per thread: clearing keeps its
    /// capacity, so a document costs one allocation per distinct term (the output `String`) and
    /// no rehashing.
    fn bag(&self, text: &str) -> (Vec<(String, u32)>, u32) {
        COUNTS.with(|cell| match cell.try_borrow_mut() {
            Ok(mut counts) => self.count(text, &mut counts),
            Err(_) => self.count(text, &mut Counts::default()),
        })
    }

    /// Counts surface forms first and stems each distinct one once: a document repeats its
    /// words, and stemming (even cached) costs more than counting.
    fn count(&self, text: &str, counts: &mut Counts) -> (Vec<(String, u32)>, u32) {
        let Counts {
            short: table,
            long: long_counts,
            buf,
            stem_buf,
            stems: short,
        } = counts;
        table.clear_and_fit();
        long_counts.clear();
        let text = nfkc(text, self.config.nfkc);
        let base: &str = &text;
        pieces(base, base.is_ascii(), &mut |piece| {
            let token = match piece {
                Piece::AsciiWord(w, letter) => match self.ascii_fast_in(base, w, letter) {
                    Fast::Drop => return,
                    Fast::Keep(k) => {
                        table.add(k, 1);
                        return;
                    }
                    Fast::Slow => self.surface(w, buf),
                },
                Piece::Word(w) => self.surface(w, buf),
                Piece::Url(u) if self.config.keep_urls => Some(self.link(u, buf)),
                Piece::Email(e) if self.config.keep_emails => Some(self.link(e, buf)),
                Piece::Url(_) | Piece::Email(_) => None,
            };
            let Some(t) = token else { return };
            let n = match Key::new(t) {
                Some(k) => {
                    table.add(k, 1);
                    return;
                }
                None => match long_counts.get_mut(t) {
                    Some(n) => n,
                    None => long_counts.entry(t.to_owned()).or_insert(0),
                },
            };
            *n = n.saturating_add(1);
        });
        // Stem each distinct term once; keep short results packed so that sorting and merging
        // are integer work, and build each output `String` exactly once at the end.
        short.clear();
        let mut long: Vec<(String, u32)> = Vec::new();
        if let Some(stem) = self.stem {
            stem.prefetch(table.iter().map(|(k, _)| k));
        }
        let mut push = |term: &str, n: u32, short: &mut Vec<(Key, u32)>| match Key::new(term) {
            Some(k) => short.push((k, n)),
            None => long.push((term.to_owned(), n)),
        };
        for (k, n) in table.iter() {
            // Links are never stemmed.
            let Some(stem) = self.stem.filter(|_| !k.is_link()) else {
                short.push((k, n));
                continue;
            };
            // As `stem_of`, on packed terms.
            match stem.stem_key(k, stem_buf) {
                Some(s) => {
                    let mut raw = [0u8; 16];
                    if s.len() == 0
                        || (!self.extra.is_empty() && self.extra.contains(s.as_str(&mut raw)))
                    {
                        continue;
                    }
                    short.push((s, n));
                }
                None => {
                    if stem_buf.is_empty()
                        || (!self.extra.is_empty() && self.extra.contains(stem_buf.as_str()))
                    {
                        continue;
                    }
                    push(stem_buf, n, short);
                }
            }
        }
        for (term, n) in long_counts.drain() {
            if self.stem.is_none() || is_link(&term) {
                push(&term, n, short);
            } else if let Some(stem) = self.stem_of(&term, stem_buf) {
                push(stem, n, short);
            }
        }
        // Different surface forms may share a stem ("run", "running"): sort, then merge.
        short.sort_unstable_by_key(|e| e.0);
        merge_runs(short);
        long.sort_unstable();
        merge_runs(&mut long);
        let terms = merge_sorted(short, long);
        let token_count = terms.iter().fold(0u32, |acc, t| acc.saturating_add(t.1));
        (terms, token_count)
    }

    /// Calls `f` with every kept token of already-cleaned text, in order, without allocating
    /// per token: the token lives in a buffer reused for the next one.
    pub fn for_each_token(&self, text: &str, mut f: impl FnMut(&str)) {
        let mut buf = String::with_capacity(64);
        let mut stem_buf = String::with_capacity(64);
        let mut raw = [0u8; 16];
        // A kept surface form goes out stemmed (if configured).
        let mut emit = |t: &str, f: &mut dyn FnMut(&str)| match self.stem {
            None => f(t),
            Some(_) => {
                if let Some(s) = self.stem_of(t, &mut stem_buf) {
                    f(s);
                }
            }
        };
        self.for_each_piece(text, |piece| match piece {
            Piece::AsciiWord(w, letter) => match self.ascii_fast(w, letter) {
                Fast::Drop => {}
                Fast::Keep(k) => emit(k.as_str(&mut raw), &mut f),
                Fast::Slow => {
                    if let Some(t) = self.surface(w, &mut buf) {
                        emit(t, &mut f);
                    }
                }
            },
            Piece::Word(w) => {
                if let Some(t) = self.surface(w, &mut buf) {
                    emit(t, &mut f);
                }
            }
            Piece::Url(u) if self.config.keep_urls => f(self.link(u, &mut buf)),
            Piece::Email(e) if self.config.keep_emails => f(self.link(e, &mut buf)),
            Piece::Url(_) | Piece::Email(_) => {}
        });
    }

    /// NFKC, then segmentation into words and links.
    fn for_each_piece(&self, text: &str, mut f: impl FnMut(Piece<'_>)) {
        let text = nfkc(text, self.config.nfkc);
        pieces(&text, text.is_ascii(), &mut f);
    }

    /// Kept links are single tokens exempt from length limits, stop words and stemming: they
    /// are identifiers, not words.
    fn link<'b>(&self, link: &str, buf: &'b mut String) -> &'b str {
        buf.clear();
        buf.push_str(link);
        if self.config.lowercase {
            lowercase_in_place(buf);
        }
        buf
    }

    /// [`Tokenizer::ascii_fast`] for a word borrowed from `text`, packed straight from the
    /// text (see [`Key::ascii_lower_in`]).
    #[inline(always)]
    fn ascii_fast_in(&self, text: &str, word: &str, letter: bool) -> Fast {
        if let Some(verdict) = self.ascii_prefilter(word, letter) {
            return verdict;
        }
        let start = word.as_ptr() as usize - text.as_ptr() as usize;
        match Key::ascii_lower_in(text, start, word.len()) {
            None => Fast::Slow,
            Some(k) if self.stop.short.contains(k) => Fast::Drop,
            Some(k) => Fast::Keep(k),
        }
    }

    /// The checks both ASCII fast paths make before packing: number and length filters, and
    /// whether lower-casing is on. `None` = go on and pack the word.
    #[inline(always)]
    fn ascii_prefilter(&self, word: &str, letter: bool) -> Option<Fast> {
        let c = &self.config;
        if (!c.keep_numbers && !letter)
            || word.len() < c.min_token_len
            || word.len() > c.max_token_len
        {
            return Some(Fast::Drop);
        }
        (!c.lowercase).then_some(Fast::Slow)
    }

    /// The filters before stemming for a short ASCII word, with no copy: the segmenter already
    /// knows whether it has a letter, ASCII length is character length, and lower-casing and
    /// packing into a [`Key`] are one step. Anything unusual goes the general way.
    #[inline]
    fn ascii_fast(&self, word: &str, letter: bool) -> Fast {
        if let Some(verdict) = self.ascii_prefilter(word, letter) {
            return verdict;
        }
        match Key::ascii_lower(word) {
            None => Fast::Slow,
            Some(k) if self.stop.short.contains(k) => Fast::Drop,
            Some(k) => Fast::Keep(k),
        }
    }

    /// The filters before stemming, cheapest rejection first: numbers, length, stop words.
    /// Returns the normalised token, if kept.
    fn surface<'b>(&self, word: &str, buf: &'b mut String) -> Option<&'b str> {
        let c = &self.config;
        let ascii = word.is_ascii();
        // Numbers: a token with no letter at all ("1993", "3.14", "1,000").
        if !c.keep_numbers && !has_letter(word, ascii) {
            return None;
        }
        // ASCII lower-casing keeps the length, so over-long junk goes before any copy.
        if ascii && (word.len() < c.min_token_len || word.len() > c.max_token_len) {
            return None;
        }
        normalise_into(word, ascii, c.lowercase, buf);
        if !ascii {
            let chars = buf.chars().count();
            if chars < c.min_token_len || chars > c.max_token_len {
                return None;
            }
        }
        if self.is_stop(buf) {
            return None;
        }
        Some(buf)
    }

    /// The stem of a kept surface form, unless the stem is an extra stop word.
    fn stem_of<'b>(&self, surface: &str, stem_buf: &'b mut String) -> Option<&'b str> {
        let stem = self.stem?;
        stem.stem_into(surface, stem_buf);
        if stem_buf.is_empty() || (!self.extra.is_empty() && self.extra.contains(stem_buf.as_str()))
        {
            return None;
        }
        Some(stem_buf)
    }

    fn is_stop(&self, token: &str) -> bool {
        if self.stop.is_empty() {
            return false;
        }
        if self.stop.contains(token) {
            return true;
        }
        if self.config.lowercase {
            return false;
        }
        // Lists are lower-case; with case kept, "The" must still match "the".
        let lower = token.to_lowercase();
        lower != token && self.stop.contains(&lower)
    }
}

/// Outcome of [`Tokenizer::ascii_fast`].
enum Fast {
    Drop,
    /// Kept, lower-cased and packed.
    Keep(Key),
    /// Needs [`Tokenizer::surface`].
    Slow,
}

/// Per-thread scratch of [`Tokenizer::count`]: the bag of words (short terms packed, long
/// ones as strings), token buffers and the list of packed stems, kept between documents so
/// that a document allocates only its output.
#[derive(Default)]
struct Counts {
    short: KeyTable,
    long: FxHashMap<String, u32>,
    buf: String,
    stem_buf: String,
    stems: Vec<(Key, u32)>,
}

/// Stop words, short ones packed as [`Key`]s for a fast lookup.
#[derive(Debug, Default)]
struct StopSet {
    short: KeyTable,
    long: FxHashSet<Box<str>>,
}

impl StopSet {
    fn insert(&mut self, word: Box<str>) {
        match Key::new(&word) {
            Some(k) => self.short.add(k, 1),
            None => {
                self.long.insert(word);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.short.is_empty() && self.long.is_empty()
    }

    #[inline]
    fn contains(&self, token: &str) -> bool {
        match Key::new(token) {
            Some(k) => self.short.contains(k),
            None => !self.long.is_empty() && self.long.contains(token),
        }
    }
}

/// Adds up the counts of adjacent equal terms of a sorted list, keeping one of each.
fn merge_runs<T: PartialEq>(terms: &mut Vec<(T, u32)>) {
    terms.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            kept.1 = kept.1.saturating_add(later.1);
        }
        same
    });
}

/// Merges sorted packed terms (at most [`Key::MAX`] bytes) and sorted long terms (longer, so
/// never equal to a packed one) into one sorted list of strings.
fn merge_sorted(short: &[(Key, u32)], long: Vec<(String, u32)>) -> Vec<(String, u32)> {
    if long.is_empty() {
        // The usual case: no term longer than a key.
        return short
            .iter()
            .map(|&(k, n)| (k.to_owned_string(), n))
            .collect();
    }
    let mut out = Vec::with_capacity(short.len() + long.len());
    let mut long = long.into_iter().peekable();
    for &(k, n) in short {
        let raw = k.bytes();
        let key_bytes = &raw[..k.len()];
        while let Some(l) = long.next_if(|l| l.0.as_bytes() < key_bytes) {
            out.push(l);
        }
        out.push((k.to_owned_string(), n));
    }
    out.extend(long);
    out
}

/// NFKC, skipped when it is the identity: always for ASCII, and for text the quick check
/// already proves normalised.
fn nfkc(text: &str, enabled: bool) -> Cow<'_, str> {
    if !enabled || text.is_ascii() || is_nfkc_quick(text.chars()) == IsNormalized::Yes {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfkc().collect())
    }
}

/// Copies `word` into `buf`, lower-cased if asked, with typographic apostrophes made ASCII
/// (UAX #29 keeps "don’t" as one word; stop lists spell it "don't").
fn normalise_into(word: &str, ascii: bool, lowercase: bool, buf: &mut String) {
    buf.clear();
    if ascii {
        buf.push_str(word);
        if lowercase {
            buf.make_ascii_lowercase();
        }
        return;
    }
    for ch in word.chars() {
        match ch {
            '\u{2019}' | '\u{2018}' | '\u{02BC}' => buf.push('\''),
            _ if lowercase => buf.extend(ch.to_lowercase()),
            _ => buf.push(ch),
        }
    }
}

fn lowercase_in_place(buf: &mut String) {
    if buf.is_ascii() {
        buf.make_ascii_lowercase();
    } else {
        *buf = buf.to_lowercase();
    }
}

/// Whether a counted term is a kept URL or e-mail address (words never contain these bytes
/// in this combination: UAX #29 splits at `/` and `@`).
fn is_link(term: &str) -> bool {
    term.contains("://") || term.contains('@') || term.starts_with("www.")
}

fn has_letter(word: &str, ascii: bool) -> bool {
    if ascii {
        word.bytes().any(|b| b.is_ascii_alphabetic())
    } else {
        word.chars().any(char::is_alphabetic)
    }
}

#[cfg(test)]
#[path = "tokenizer_tests.rs"]
mod tests;
