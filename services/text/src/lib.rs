//! Text intake for latentlabel: turns a raw document (a support ticket, a mailing-list post, a
//! news article) into the text shown to annotators and the bag of words the topic model learns
//! from. Pure and synchronous: no I/O except in [`bench`](mod@bench).
//!
//! ```
//! use latentlabel_text::{Tokenizer, TokenizerConfig};
//! let tok = Tokenizer::new(TokenizerConfig::default()).unwrap();
//! let doc = tok.process("From: a@b.org\nSubject: cars\n\nThe engines were running.\n> quoted\n-- \nBob");
//! assert_eq!(doc.display_text, "The engines were running.");
//! assert_eq!(doc.terms, vec![("engin".to_string(), 1), ("run".to_string(), 1)]);
//! ```
//!
//! # Layout
//! - `config`: [`TokenizerConfig`] (what a pipeline sets) and [`TextError`].
//! - `tokenizer`: [`Tokenizer`], which compiles a config and runs the stages below in order.
//! - `clean`: header, quote and signature stripping.
//! - `segment`: URL/e-mail detection and UAX #29 word segmentation (ASCII fast path).
//! - `lang`: language names, stop-word lists. `stem`: cached Snowball stemming.
//! - `key`: short tokens packed into a `u128`, the key of the hot sets and maps.
//! - `bytes`: SIMD byte searches for the cleaning pass.
//! - [`bench`](mod@bench): single-thread throughput over a JSONL corpus.
//!
//! # Stages and their rules
//! 1. **Clean** ([`Tokenizer::clean`], each step switchable). A leading header block is removed
//!    only if the text starts with RFC-822 `Key: value` lines (plus indented continuations, an
//!    optional mbox `From ` line) up to a blank line and one of them is a well-known field
//!    (`From`, `Subject`, `X-...`): prose such as "Note: ..." survives. Quoted lines (`>`,
//!    `|`, `JD>`), attribution lines (`... writes:`, `... wrote:`, `In article <...>`, Gmail's
//!    two-line `On ... wrote:`) and everything below `-----Original Message-----` are dropped:
//!    quoted text belongs to another document and would double-count its words. A signature is
//!    cut at an RFC 3676 `-- ` line within the last 15 non-empty lines, else at the last rule
//!    line (`--Joe`, `-----`, `=====`) within the last 8: signatures repeat across every post of
//!    an author and would become "topics" of their own. The result is the display text.
//! 2. **Normalise**: Unicode NFKC, so ligatures (`ﬁ`), full-width forms and compatibility
//!    digits become one spelling. Skipped for ASCII text, where it is the identity.
//! 3. **Segment**: URLs (`scheme://...`, `www....`) and e-mail addresses are found first and
//!    kept whole or dropped whole, never split into fragments; the rest follows UAX #29 word
//!    boundaries, so "can't", "U.S.A" and "3.14" stay single tokens whatever the script.
//! 4. **Filter** each word: numbers (no letter at all) dropped unless kept; lower-cased
//!    (typographic apostrophes made ASCII); dropped outside `min_token_len..=max_token_len`
//!    characters (the upper bound removes uuencoded/base64 debris); dropped if a stop word.
//! 5. **Stem** with Snowball (Porter2 for English), behind a per-thread cache; extra stop words
//!    are checked again against the stem.
//!
//! Every stage is deterministic and total: no input or config panics (property-tested).
//!
//! # Speed
//! No allocation per token on the hot path. Cleaning walks the lines once, finding newlines
//! sixteen bytes at a time, and in ASCII text looks closely only at lines whose first and last
//! bytes allow a quote, attribution or original-message marker; it copies only once a line
//! drops. ASCII text is segmented in 64-byte blocks turned into byte-class bit masks (SSE2 on
//! x86-64), words being runs of ones; only whitespace-free chunks around `@`, `:` or `www.`
//! (found sixteen bytes at a time) go through the URL/e-mail finder. Each short word is packed,
//! lower-cased, straight from the text into a `u128` key (one 16-byte load) for the stop-word
//! set and the per-document bag of words (open addressing, scratch reused per thread). Each
//! distinct term of a document is stemmed once through a per-thread two-way set-associative
//! cache whose sets are prefetched for the whole document before they are probed; the only
//! allocations per document are the display text, the term list and one `String` per output
//! term. NFKC is skipped when it is the identity. Every fast path is property-tested against
//! the code it replaced, and `tests/newsgroups_golden.rs` pins the output over all of 20
//! Newsgroups. See `bench/text/RESULTS.md` for figures against scikit-learn, and the
//! `tokenize_bench` example (`--stage clean|tokens|process`) to see where the time goes.

pub mod bench;
mod bytes;
mod clean;
mod config;
mod key;
mod lang;
mod segment;
mod stem;
mod tokenizer;

pub use config::{fnv1a, TextError, TokenizerConfig, FNV_OFFSET, TOKENIZER_REVISION};
pub use tokenizer::{Prepared, Processed, Tokenizer};
