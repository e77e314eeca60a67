//! Per-pipeline preprocessing settings and the errors a bad setting raises.

use serde::{Deserialize, Serialize};

/// How one pipeline turns raw documents into display text and a bag of words.
///
/// Every field has a default (see [`TokenizerConfig::default`]), so a pipeline's JSON/TOML
/// only names what it changes; unknown fields are rejected so a typo cannot silently fall
/// back to a default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenizerConfig {
    /// Apply Unicode NFKC normalisation before segmenting (ligatures, full-width forms and
    /// compatibility digits become their plain forms). Default: `true`.
    pub nfkc: bool,
    /// Lower-case every token (full Unicode lower-casing). Default: `true`.
    pub lowercase: bool,
    /// Drop tokens shorter than this many characters (counted after lower-casing, before
    /// stemming). Default: `2`.
    pub min_token_len: usize,
    /// Drop tokens longer than this many characters: these are almost always uuencoded or
    /// base64 debris, hashes or run-together junk. Must be `>= 1` and `>= min_token_len`.
    /// Default: `40`.
    pub max_token_len: usize,
    /// Stop-word list(s) to drop, by language name (`"english"`, `"german"`, ...; several may
    /// be joined with `,` or `+`). `None` drops no list words. Default: `Some("english")`.
    pub stopwords: Option<String>,
    /// Extra words to drop, matched after NFKC and lower-casing, against the token and against
    /// its stem (so a stem seen in a topic listing can be pasted here). Default: empty.
    pub extra_stopwords: Vec<String>,
    /// Snowball stemmer language (`"english"`, `"german"`, ...). `None` keeps surface forms.
    /// Default: `Some("english")`.
    pub stemmer: Option<String>,
    /// Keep tokens that contain no letter (`"1993"`, `"3.14"`, `"1,000"`). Mixed tokens such as
    /// `"mp3"` or `"x86"` are always kept. Default: `false`.
    pub keep_numbers: bool,
    /// Keep URLs as single tokens (`"http://example.com/a"`); when `false` they are dropped
    /// whole, so their fragments do not pollute the vocabulary. Default: `false`.
    pub keep_urls: bool,
    /// Keep e-mail addresses (and news message-ids, which look the same) as single tokens;
    /// when `false` they are dropped whole. Default: `false`.
    pub keep_emails: bool,
    /// Remove a leading RFC-822 header block (`From: ...`, `Subject: ...`) ending at the
    /// first blank line. Default: `true`.
    pub strip_headers: bool,
    /// Remove quoted reply lines (`> ...`, `| ...`), attribution lines (`... writes:`,
    /// `... wrote:`, `In article <...>`) and forwarded originals. Default: `true`.
    pub strip_quotes: bool,
    /// Remove a trailing signature after a `-- ` delimiter or a short closing rule line.
    /// Default: `true`.
    pub strip_signatures: bool,
    /// Keep what stripping removes from the topic terms for the classifier and the reader:
    /// ingest stores the post (Subject line, body with quotes and signature) and sends the
    /// Subject's and the quoted lines' terms as `context_terms`, which scoring adds to its word
    /// features (docs/DESIGN.md, "Context terms"). `false` stores the stripped display text
    /// and sends no context: ~1.5x faster preprocessing on 20 Newsgroups, ~14 points lower
    /// classifier accuracy there. Default: `true`.
    pub classifier_context: bool,
}

impl Default for TokenizerConfig {
    /// Defaults aimed at topic modelling of English prose: normalised, lower-cased, stop words
    /// removed, Porter2-stemmed, numbers/URLs/e-mails dropped, headers, quotes and
    /// signatures stripped.
    fn default() -> Self {
        Self {
            nfkc: true,
            lowercase: true,
            min_token_len: 2,
            max_token_len: 40,
            stopwords: Some("english".to_owned()),
            extra_stopwords: Vec::new(),
            stemmer: Some("english".to_owned()),
            keep_numbers: false,
            keep_urls: false,
            keep_emails: false,
            strip_headers: true,
            strip_quotes: true,
            strip_signatures: true,
            classifier_context: true,
        }
    }
}

/// Revision of the tokenizer's behaviour: which terms the code makes of a text under given
/// settings. Bump it with any change that alters some output (a stop list, a stemmer, a
/// cleaning rule, a fast path that is not exact); `tokenizer_tests::output_is_pinned_to_the_revision`
/// fails until it is. It is part of [`TokenizerConfig::fingerprint`], so ingest and scoring
/// built from code that tokenizes differently disagree just as differing settings do.
pub const TOKENIZER_REVISION: u32 = 1;

impl TokenizerConfig {
    /// A short, stable identifier of these settings and of the code's
    /// [`TOKENIZER_REVISION`]: 16 hex digits of FNV-1a over the configuration's JSON (fields
    /// in declaration order), then the revision. Ingest stamps it on every tokenized
    /// document; scoring, which re-tokenizes label texts with its own configuration,
    /// compares it with its own, because two services that tokenize differently give the
    /// classifier other features at training than at serving, and nothing else would notice.
    pub fn fingerprint(&self) -> String {
        fingerprint_at(self, TOKENIZER_REVISION)
    }
}

/// [`TokenizerConfig::fingerprint`] as revision `revision` computes it. Revision 1 hashes the
/// settings alone, as fingerprints did before revisions existed, so documents stamped then
/// still match.
fn fingerprint_at(config: &TokenizerConfig, revision: u32) -> String {
    // Serialising plain fields, strings and options cannot fail; an empty input would still
    // give a valid (if useless) fingerprint.
    let mut hash = fnv1a(FNV_OFFSET, &serde_json::to_vec(config).unwrap_or_default());
    if revision > 1 {
        hash = fnv1a(hash, &revision.to_le_bytes());
    }
    format!("{hash:016x}")
}

/// FNV-1a's starting state.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a (64 bit) of `bytes`, continuing from `hash`: stable across Rust versions and
/// platforms, unlike `DefaultHasher`. Config fingerprints and the tokenizer's golden digests
/// use it.
pub fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Why a [`TokenizerConfig`] could not be turned into a [`crate::Tokenizer`].
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    /// A stop-word or stemmer language that this crate does not know.
    #[error("unknown {what} language {name:?}; known: {known}")]
    UnknownLanguage {
        /// `"stop-word"` or `"stemmer"`.
        what: &'static str,
        /// The name as given.
        name: String,
        /// Comma-separated names that would have been accepted.
        known: String,
    },
    /// Any other inconsistent setting (e.g. `max_token_len < min_token_len`).
    #[error("invalid tokenizer config: {0}")]
    InvalidConfig(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_identifies_the_settings() {
        let default = TokenizerConfig::default();
        let fp = default.fingerprint();
        assert_eq!(fp.len(), 16);
        assert!(fp.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(fp, default.clone().fingerprint());
        // Parsed from a file that names only some fields: the same settings, the same print.
        let parsed: TokenizerConfig = serde_json::from_str(r#"{"lowercase": true}"#).unwrap();
        assert_eq!(parsed.fingerprint(), fp);
        for changed in [
            TokenizerConfig {
                classifier_context: false,
                ..default.clone()
            },
            TokenizerConfig {
                stemmer: None,
                ..default.clone()
            },
            TokenizerConfig {
                extra_stopwords: vec!["subject".into()],
                ..default.clone()
            },
            TokenizerConfig {
                min_token_len: 3,
                ..default.clone()
            },
        ] {
            assert_ne!(changed.fingerprint(), fp, "{changed:?}");
        }
    }

    /// The revision is part of the print (from revision 2 on; revision 1 is the settings
    /// alone, which is what documents stamped before revisions carry).
    #[test]
    fn fingerprint_changes_with_the_revision() {
        let default = TokenizerConfig::default();
        assert_ne!(fingerprint_at(&default, 2), fingerprint_at(&default, 1));
        assert_ne!(fingerprint_at(&default, 3), fingerprint_at(&default, 2));
        assert_eq!(
            default.fingerprint(),
            fingerprint_at(&default, TOKENIZER_REVISION)
        );
    }
}
