//! Output of `Tokenizer::process` and `Tokenizer::tokens` over the whole 20 Newsgroups corpus
//! (train + test, 18,846 real posts), pinned as digests taken with the tokenizer before the
//! speed work of 2026-11-28 evening. Any fast path that changes a single term, count or display
//! text of any post under any of these configs fails here.
//!
//! Skips with a printed reason when `../shared/data/20newsgroups` is missing.

use std::path::PathBuf;

use latentlabel_text::bench::load_texts;
use latentlabel_text::{fnv1a, Tokenizer, TokenizerConfig, FNV_OFFSET};

/// The crate's FNV-1a, as a running digest.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Self(FNV_OFFSET)
    }
    fn bytes(&mut self, b: &[u8]) {
        self.0 = fnv1a(self.0, b);
    }
    fn u32(&mut self, n: u32) {
        self.bytes(&n.to_le_bytes());
    }
}

fn corpus() -> Option<Vec<String>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/20newsgroups");
    let mut texts = Vec::new();
    for name in ["train.jsonl.gz", "test.jsonl.gz"] {
        let path = dir.join(name);
        if !path.exists() {
            println!("SKIPPED: {} not found", path.display());
            return None;
        }
        texts.extend(load_texts(&path).expect("readable corpus"));
    }
    Some(texts)
}

fn configs() -> Vec<(&'static str, TokenizerConfig)> {
    let d = TokenizerConfig::default;
    vec![
        ("default", d()),
        (
            "no-stem",
            TokenizerConfig {
                stemmer: None,
                ..d()
            },
        ),
        (
            "keep-all",
            TokenizerConfig {
                keep_numbers: true,
                keep_urls: true,
                keep_emails: true,
                min_token_len: 1,
                max_token_len: 20,
                ..d()
            },
        ),
        (
            "raw-case",
            TokenizerConfig {
                lowercase: false,
                strip_headers: false,
                strip_quotes: false,
                strip_signatures: false,
                ..d()
            },
        ),
        (
            "german-extra",
            TokenizerConfig {
                nfkc: false,
                stemmer: Some("german".into()),
                stopwords: Some("english+german".into()),
                extra_stopwords: vec!["Subject".into(), "would".into(), "articl".into()],
                ..d()
            },
        ),
    ]
}

/// Digest of `process` over every post, and of `tokens` over every raw post.
fn digests(texts: &[String], config: &TokenizerConfig) -> (u64, u64, u64) {
    let t = Tokenizer::new(config.clone()).expect("valid config");
    let mut p = Fnv::new();
    let mut k = Fnv::new();
    let mut total = 0u64;
    for text in texts {
        let doc = t.process(text);
        p.bytes(doc.display_text.as_bytes());
        p.bytes(&[0xff]);
        for (term, n) in &doc.terms {
            p.bytes(term.as_bytes());
            p.bytes(&[0xfe]);
            p.u32(*n);
        }
        p.u32(doc.token_count);
        total += u64::from(doc.token_count);
        t.for_each_token(text, |tok| {
            k.bytes(tok.as_bytes());
            k.bytes(&[0xfe]);
        });
    }
    (p.0, k.0, total)
}

#[test]
fn newsgroups_output_is_unchanged() {
    let Some(texts) = corpus() else { return };
    // (name, process digest, tokens digest, tokens kept by process)
    let want: &[(&str, u64, u64, u64)] = &[
        ("default", 0x5b19472e805da208, 0x74bed4bde21fa91c, 1858353),
        ("no-stem", 0x2caa2b6a54faae92, 0x2f9f3172be866944, 1858353),
        ("keep-all", 0xc28c73d7636710d4, 0x75ea9e9beef79dfe, 2116476),
        ("raw-case", 0x280215cd220a83c7, 0xa6727c6c07fec8ac, 2779953),
        (
            "german-extra",
            0x52d3e0660a401227,
            0xd3aefda9b26bfa59,
            1851203,
        ),
    ];
    let mut got = Vec::new();
    for (name, config) in configs() {
        let (p, k, n) = digests(&texts, &config);
        got.push((name, p, k, n));
    }
    assert_eq!(got, want);
}

/// Scoring re-tokenizes the text ingest stored (label events, re-scores) and must get the words
/// ingest sent: preparing the stored text again gives the same topic terms and context terms,
/// for every real post.
#[test]
fn newsgroups_stored_text_prepares_to_the_same_words() {
    let Some(texts) = corpus() else { return };
    let t = Tokenizer::new(TokenizerConfig::default()).expect("valid config");
    let mut with_context = 0usize;
    for text in &texts {
        let once = t.prepare(text);
        let again = t.prepare(&once.text);
        assert_eq!(again.processed.terms, once.processed.terms, "{text}");
        assert_eq!(again.context_terms, once.context_terms, "{text}");
        with_context += usize::from(!once.context_terms.is_empty());
    }
    // Nearly every post has a Subject; the test must not pass on an empty context.
    assert!(with_context > texts.len() * 9 / 10, "{with_context}");
}
