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
//! No allocation per token on the hot path: borrowed slices, an ASCII byte scanner that also
//! tells whether a word has a letter, short words lower-cased straight into a packed `u128`
//! key for the stop-word set and the bag of words, NFKC skipped when it is the identity, each
//! distinct term of a document stemmed once through a per-thread direct-mapped cache, and one
//! `String` allocated per output term. See `bench/text/RESULTS.md` for figures against
//! scikit-learn, and the `tokenize_bench` example (`--stage clean|tokens|process`) to see
//! where the time goes.

pub mod bench;
mod bytes;
mod clean;
mod config;
mod key;
mod lang;
mod segment;
mod stem;
mod tokenizer;

pub use config::{TextError, TokenizerConfig};
pub use tokenizer::{Processed, Tokenizer};
