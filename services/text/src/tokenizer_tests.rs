//! Tokenizer behaviour: each filter on and off, languages, NFKC, and properties.

use super::*;
use proptest::prelude::*;

fn tok(config: TokenizerConfig) -> Tokenizer {
    Tokenizer::new(config).expect("valid config")
}

/// Everything off except segmentation and lower-casing, to test one filter at a time.
fn bare() -> TokenizerConfig {
    TokenizerConfig {
        stopwords: None,
        stemmer: None,
        min_token_len: 1,
        strip_headers: false,
        strip_quotes: false,
        strip_signatures: false,
        ..TokenizerConfig::default()
    }
}

#[test]
fn defaults_are_the_documented_ones() {
    let c = TokenizerConfig::default();
    assert!(c.nfkc && c.lowercase && c.strip_headers && c.strip_quotes && c.strip_signatures);
    assert_eq!((c.min_token_len, c.max_token_len), (2, 40));
    assert_eq!(c.stopwords.as_deref(), Some("english"));
    assert_eq!(c.stemmer.as_deref(), Some("english"));
    assert!(!c.keep_numbers && !c.keep_urls && !c.keep_emails);
}

#[test]
fn config_json_fills_defaults_and_rejects_typos() {
    let c: TokenizerConfig =
        serde_json::from_str(r#"{"stemmer": null, "min_token_len": 3}"#).unwrap();
    assert_eq!(
        c,
        TokenizerConfig {
            stemmer: None,
            min_token_len: 3,
            ..TokenizerConfig::default()
        }
    );
    assert!(serde_json::from_str::<TokenizerConfig>(r#"{"stemer": null}"#).is_err());
}

#[test]
fn stemming_on_and_off() {
    let text = "The runners were running quickly through connected networks";
    assert_eq!(
        tok(TokenizerConfig {
            stopwords: None,
            ..bare()
        })
        .tokens(text),
        [
            "the",
            "runners",
            "were",
            "running",
            "quickly",
            "through",
            "connected",
            "networks"
        ]
    );
    let stemmed = tok(TokenizerConfig {
        stemmer: Some("english".into()),
        ..bare()
    })
    .tokens(text);
    assert_eq!(
        stemmed,
        ["the", "runner", "were", "run", "quick", "through", "connect", "network"]
    );
    let german = tok(TokenizerConfig {
        stemmer: Some("de".into()),
        ..bare()
    })
    .tokens("Katzen laufen");
    assert_eq!(german, ["katz", "lauf"]);
}

#[test]
fn stop_words_lists_and_extras() {
    let text = "The cat and THE dog can't stay; however, Acme wins";
    let english = tok(TokenizerConfig {
        stopwords: Some("english".into()),
        ..bare()
    });
    assert_eq!(english.tokens(text), ["cat", "dog", "stay", "acme", "wins"]);
    // Extras are normalised like tokens (case, NFKC) and also matched against stems.
    let extra = tok(TokenizerConfig {
        stopwords: Some("english".into()),
        extra_stopwords: vec!["ACME".into(), "win".into()],
        stemmer: Some("english".into()),
        ..bare()
    });
    assert_eq!(extra.tokens(text), ["cat", "dog", "stay"]);
    // Several lists at once; typographic apostrophes match the ASCII list entry.
    let multi = tok(TokenizerConfig {
        stopwords: Some("english, german".into()),
        ..bare()
    });
    assert_eq!(multi.tokens("der Hund und the dog don’t"), ["hund", "dog"]);
    // Case kept: list words still match.
    let cased = tok(TokenizerConfig {
        lowercase: false,
        stopwords: Some("english".into()),
        ..bare()
    });
    assert_eq!(cased.tokens("The Dog"), ["Dog"]);
}

#[test]
fn numbers_urls_and_emails_drop_or_keep() {
    let text = "Call 555-1234 or visit https://Example.com/Path?x=1. Mail bob@cs.cmu.edu about 3.14 mp3 x86 1,000";
    let drop = tok(bare());
    assert_eq!(
        drop.tokens(text),
        ["call", "or", "visit", "mail", "about", "mp3", "x86"]
    );
    let keep = tok(TokenizerConfig {
        keep_numbers: true,
        keep_urls: true,
        keep_emails: true,
        ..bare()
    });
    assert_eq!(
        keep.tokens(text),
        [
            "call",
            "555",
            "1234",
            "or",
            "visit",
            "https://example.com/path?x=1",
            "mail",
            "bob@cs.cmu.edu",
            "about",
            "3.14",
            "mp3",
            "x86",
            "1,000"
        ]
    );
    // Kept links are exempt from stemming and length limits.
    let stem = tok(TokenizerConfig {
        keep_urls: true,
        stemmer: Some("english".into()),
        max_token_len: 7,
        ..bare()
    });
    assert_eq!(
        stem.tokens("www.running-examples.org running"),
        ["www.running-examples.org", "run"]
    );
}

#[test]
fn nfkc_folds_compatibility_forms() {
    let text = "The ﬁnal ﬂow: ＦＵＬＬ width ２０２４ and ① Ⅻ";
    let on = tok(TokenizerConfig {
        keep_numbers: true,
        ..bare()
    });
    assert_eq!(
        on.tokens(text),
        ["the", "final", "flow", "full", "width", "2024", "and", "1", "xii"]
    );
    let off = tok(TokenizerConfig {
        nfkc: false,
        keep_numbers: true,
        ..bare()
    });
    assert_eq!(off.tokens("ﬁnal ＦＵＬＬ"), ["ﬁnal", "ｆｕｌｌ"]);
}

#[test]
fn token_length_limits_count_characters() {
    let t = tok(TokenizerConfig {
        min_token_len: 3,
        max_token_len: 5,
        ..bare()
    });
    assert_eq!(
        t.tokens("a ab abc abcde abcdef ñññ ñññññ ññññññ"),
        ["abc", "abcde", "ñññ", "ñññññ"]
    );
}

#[test]
fn unknown_languages_and_bad_lengths_are_errors() {
    let e = Tokenizer::new(TokenizerConfig {
        stemmer: Some("klingon".into()),
        ..TokenizerConfig::default()
    });
    assert!(
        matches!(e, Err(TextError::UnknownLanguage { what: "stemmer", ref name, .. }) if name == "klingon")
    );
    let e = Tokenizer::new(TokenizerConfig {
        stopwords: Some("english,elvish".into()),
        ..TokenizerConfig::default()
    });
    assert!(
        matches!(e, Err(TextError::UnknownLanguage { what: "stop-word", ref name, .. }) if name == "elvish")
    );
    assert!(e.unwrap_err().to_string().contains("english"));
    let e = Tokenizer::new(TokenizerConfig {
        min_token_len: 5,
        max_token_len: 4,
        ..TokenizerConfig::default()
    });
    assert!(matches!(e, Err(TextError::InvalidConfig(_))));
    let e = Tokenizer::new(TokenizerConfig {
        min_token_len: 0,
        max_token_len: 0,
        ..TokenizerConfig::default()
    });
    assert!(matches!(e, Err(TextError::InvalidConfig(_))));
}

#[test]
fn process_cleans_counts_and_sorts() {
    let t = tok(TokenizerConfig::default());
    let doc = t.process(
        "From: a@b.org\nSubject: engines\n\nRunning engines run; the engine runs.\n> quoted engine\n-- \nBob, engines-R-us",
    );
    assert_eq!(doc.display_text, "Running engines run; the engine runs.");
    assert_eq!(
        doc.terms,
        vec![("engin".to_string(), 2), ("run".to_string(), 3)]
    );
    assert_eq!(doc.token_count, 5);
}

#[test]
fn process_merges_long_and_short_terms_in_order() {
    let t = tok(TokenizerConfig {
        max_token_len: 100,
        ..bare()
    });
    let doc = t.process("zz aaaaaaaaaaaaaaaaaaaaaa b aaaaaaaaaaaaaaaaaaaaaa a b");
    assert_eq!(
        doc.terms,
        vec![
            ("a".to_string(), 1),
            ("aaaaaaaaaaaaaaaaaaaaaa".to_string(), 2),
            ("b".to_string(), 2),
            ("zz".to_string(), 1)
        ]
    );
}

#[test]
fn tokenizer_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Tokenizer>();
    let t = tok(TokenizerConfig::default());
    let here = t.process(NEWSY);
    let there = std::thread::scope(|s| s.spawn(|| t.clone().process(NEWSY)).join().unwrap());
    assert_eq!(here, there);
}

const NEWSY: &str =
    "Subject: hockey\nFrom: x@y.edu\n\nThe Penguins beat the Rangers 4-2; Lemieux scored twice.";

/// Any config the type can express, with valid lengths and known languages or none.
fn any_config() -> impl Strategy<Value = TokenizerConfig> {
    let lang = prop::option::of(prop::sample::select(vec![
        "english", "german", "french", "russian", "en",
    ]));
    (
        (any::<bool>(), any::<bool>(), 0usize..6, 0usize..50),
        (lang.clone(), prop::collection::vec("\\PC{0,8}", 0..3), lang),
        (any::<bool>(), any::<bool>(), any::<bool>()),
        (any::<bool>(), any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |((nfkc, lowercase, min, extra_len), (stop, extra, stem), (n, u, e), (h, q, s))| {
                TokenizerConfig {
                    nfkc,
                    lowercase,
                    min_token_len: min,
                    max_token_len: min.max(1) + extra_len,
                    stopwords: stop.map(str::to_owned),
                    extra_stopwords: extra,
                    stemmer: stem.map(str::to_owned),
                    keep_numbers: n,
                    keep_urls: u,
                    keep_emails: e,
                    strip_headers: h,
                    strip_quotes: q,
                    strip_signatures: s,
                    classifier_context: h || q,
                }
            },
        )
}

const MAIL: &str = "From: jo@example.org\nSubject: Re: Engine noise\n  at idle\nLines: 9\n\n\
In article <1@x.org> bo@y.org writes:\n> My carburetor leaks.\n\nThe engines were running.\n-- \nJo\n";

#[test]
fn prepare_keeps_subject_and_quotes_out_of_the_topic_terms() {
    let t = tok(TokenizerConfig::default());
    let p = t.prepare(MAIL);
    assert_eq!(p.processed, t.process(MAIL));
    assert_eq!(
        p.processed.terms,
        vec![("engin".to_string(), 1), ("run".to_string(), 1)]
    );
    // The folded Subject is unfolded; "Re" is a stop word; the attribution's e-mail is dropped.
    let context: Vec<(&str, u32)> = p
        .context_terms
        .iter()
        .map(|(w, n)| (w.as_str(), *n))
        .collect();
    assert_eq!(
        context,
        [
            ("articl", 1),
            ("carburetor", 1),
            ("engin", 2),
            ("idl", 2),
            ("leak", 1),
            ("nois", 2),
            ("write", 1)
        ]
    );
    assert!(p
        .text
        .starts_with("Subject: Re: Engine noise at idle\n\nIn article"));
    assert!(p.text.contains("> My carburetor leaks.") && p.text.ends_with("Jo\n"));
    assert!(!p.text.contains("Lines:"));
}

/// A forwarded original (Outlook's marker and everything below it) is dropped from the topic
/// terms and read into the context whole, from the same pass that drops it.
#[test]
fn prepare_reads_a_forwarded_original_into_the_context() {
    let t = tok(TokenizerConfig::default());
    let mail = "Subject: budget\n\nSee below.\n-----Original Message-----\nFrom: A\n\
                Telescopes arrive Monday.\n> quoted twice\n";
    let p = t.prepare(mail);
    let words =
        |terms: &[(String, u32)]| -> Vec<String> { terms.iter().map(|(w, _)| w.clone()).collect() };
    assert_eq!(words(&p.processed.terms), ["see"]);
    let context = words(&p.context_terms);
    for w in [
        "budget", "telescop", "arriv", "monday", "quot", "origin", "messag",
    ] {
        assert!(context.contains(&w.to_string()), "{w} in {context:?}");
    }
}

#[test]
fn prepare_without_stripping_has_no_context() {
    let t = tok(TokenizerConfig {
        strip_headers: false,
        strip_quotes: false,
        ..TokenizerConfig::default()
    });
    let p = t.prepare(MAIL);
    assert!(p.context_terms.is_empty());
    assert_eq!(p.text, MAIL);
    assert!(p.processed.terms.iter().any(|(w, _)| w == "carburetor"));
}

#[test]
fn without_classifier_context_the_display_text_is_stored() {
    let t = tok(TokenizerConfig {
        classifier_context: false,
        ..TokenizerConfig::default()
    });
    let p = t.prepare(MAIL);
    assert_eq!(p.text, "The engines were running.");
    assert!(p.context_terms.is_empty());
    assert_eq!(p.processed, t.process(MAIL));
}

#[test]
fn a_text_without_headers_is_stored_as_is() {
    let t = tok(TokenizerConfig::default());
    let p = t.prepare("Just a note.\n> quoted line\n");
    assert_eq!(p.text, "Just a note.\n> quoted line\n");
    assert_eq!(
        p.context_terms,
        vec![("line".to_string(), 1), ("quot".to_string(), 1)]
    );
}

proptest! {
    #[test]
    fn preparing_the_stored_text_again_gives_the_same_features(
        subject in "[ -~]{0,30}",
        body in "(The |engines |run |> |\n|-- \n|Jo writes:\n|[a-zA-Z]{1,12}|[ -~]){0,120}",
    ) {
        let t = tok(TokenizerConfig::default());
        let mail = format!("From: a@b.org\nSubject: {subject}\n\n{body}");
        let once = t.prepare(&mail);
        let again = t.prepare(&once.text);
        prop_assert_eq!(&again.processed.terms, &once.processed.terms);
        prop_assert_eq!(&again.context_terms, &once.context_terms);
        prop_assert_eq!(&again.text, &once.text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_and_counts_add_up(config in any_config(), text in "(\\PC|\n|> |@|://|www\\.|-- \n){0,120}") {
        let t = tok(config);
        let doc = t.process(&text);
        let tokens = t.tokens(&doc.display_text);
        prop_assert_eq!(doc.token_count as usize, tokens.len());
        prop_assert_eq!(doc.terms.iter().map(|(_, n)| *n as usize).sum::<usize>(), tokens.len());
        // Sorted, distinct, and the same multiset as the token stream.
        prop_assert!(doc.terms.windows(2).all(|w| w[0].0 < w[1].0));
        let mut sorted = tokens.clone();
        sorted.sort();
        let mut expanded: Vec<String> = Vec::new();
        for (term, n) in &doc.terms {
            expanded.extend(std::iter::repeat_n(term.clone(), *n as usize));
        }
        prop_assert_eq!(expanded, sorted);
        // Deterministic.
        prop_assert_eq!(t.process(&text), doc);
    }

    /// The same check on mostly-ASCII text, where `process` takes its fast paths (block
    /// scanner, packed keys, stop words entered at zero in the bag of words, links in the
    /// string map) and `tokens` its general one.
    #[test]
    fn process_matches_tokens_on_ascii_text(
        config in any_config(),
        extra in prop::collection::vec("(the|www\\.a\\.b|a@b\\.cd|run|[a-z]{1,3})", 0..3),
        text in "(The |the |and |running |Runs |www\\.a\\.b |http://x\\.y/z |a@b\\.cd |> |\n|-- \n|12 |3\\.5 |x86 |can't |U\\.S\\.A |[a-zA-Z]{1,20}|[ -~]){0,150}",
    ) {
        let t = tok(TokenizerConfig { extra_stopwords: extra, ..config });
        let doc = t.process(&text);
        let mut bag: std::collections::BTreeMap<String, u32> = Default::default();
        for token in t.tokens(&doc.display_text) {
            *bag.entry(token).or_default() += 1;
        }
        let want: Vec<(String, u32)> = bag.into_iter().collect();
        prop_assert_eq!(&doc.terms, &want);
        prop_assert_eq!(doc.token_count, want.iter().map(|e| e.1).sum::<u32>());
    }

    #[test]
    fn unstemmed_tokens_are_a_fixed_point(text in "[ -~\n]{0,200}", min in 1usize..4, keep: bool) {
        // Re-tokenizing the output, joined by spaces, gives it back: every token is a whole
        // word (or link) that survives its own filters.
        let t = tok(TokenizerConfig { stemmer: None, min_token_len: min, keep_numbers: keep, keep_urls: keep, keep_emails: keep, ..TokenizerConfig::default() });
        let once = t.tokens(&text);
        prop_assert_eq!(t.tokens(&once.join(" ")), once);
    }

    #[test]
    fn unicode_text_with_any_config_never_panics(config in any_config(), text in any::<String>()) {
        let t = tok(config);
        let _ = t.process(&text);
        let _ = t.tokens(&text);
        let prepared = t.prepare(&text);
        prop_assert_eq!(t.prepare(&prepared.text).processed.terms, prepared.processed.terms);
    }
}

/// A post that goes through every stage: headers, an attribution line, quotes, a signature,
/// URLs, e-mail addresses, numbers, NFKC ligatures, accents, stems and stop words.
const SAMPLE: &str = "From: Jane Doe <jane@example.org>
Subject: Re: Running faster GPUs \u{2014} \u{fb01}nal numbers
Organization: Example University
Lines: 12

In article <1234@example.org> bob@example.com (Bob) writes:
> The cards were running at 1.5GHz, see http://example.com/specs.
> Isn't that the fastest?

Yes: the newest cards run 20% faster than last year's models.
Stra\u{df}e, na\u{ef}ve caf\u{e9}, \u{c9}COLE and \u{3a9}-3 fatty acids don't matter here...
Contact me at jane.doe@example.org or visit https://example.org/~jane.
Numbers like 3.14159, 2026 and 1e-3 are dropped by default.

--
Jane Doe | Example University | +1 555 0100
";

/// FNV-1a of everything `prepare` and `tokens` give for [`SAMPLE`] under a few configs.
fn sample_digest() -> u64 {
    use crate::config::{fnv1a, FNV_OFFSET};
    // Each field followed by a separator, so moving bytes between fields changes the digest.
    fn eat(h: &mut u64, bytes: &[u8]) {
        *h = fnv1a(fnv1a(*h, bytes), &[0xff]);
    }
    let configs = [
        TokenizerConfig::default(),
        TokenizerConfig {
            keep_numbers: true,
            keep_urls: true,
            keep_emails: true,
            min_token_len: 1,
            ..TokenizerConfig::default()
        },
        TokenizerConfig {
            classifier_context: false,
            ..bare()
        },
        TokenizerConfig {
            stemmer: Some("german".into()),
            stopwords: Some("english+german".into()),
            nfkc: false,
            ..TokenizerConfig::default()
        },
    ];
    let mut h = FNV_OFFSET;
    for config in configs {
        let t = tok(config);
        let p = t.prepare(SAMPLE);
        eat(&mut h, p.text.as_bytes());
        eat(&mut h, p.processed.display_text.as_bytes());
        for (term, n) in p.processed.terms.iter().chain(&p.context_terms) {
            eat(&mut h, term.as_bytes());
            eat(&mut h, &n.to_le_bytes());
        }
        eat(&mut h, &p.processed.token_count.to_le_bytes());
        for token in t.tokens(SAMPLE) {
            eat(&mut h, token.as_bytes());
        }
    }
    h
}

/// `TOKENIZER_REVISION` and the output it names, pinned together.
const PINNED: (u32, u64) = (1, 0xdc26_6ada_8e81_0a50);

/// Any change to what the tokenizer makes of a text fails here until `TOKENIZER_REVISION` is
/// bumped (and this pin updated), so a behaviour change always changes the fingerprint that
/// scoring checks ingest's documents against. (`tests/newsgroups_golden.rs` pins the output
/// over all of 20 Newsgroups when the corpus is present; this needs no data.)
#[test]
fn output_is_pinned_to_the_revision() {
    let got = sample_digest();
    assert_eq!(
        (crate::TOKENIZER_REVISION, got),
        PINNED,
        "the tokenizer's output on SAMPLE changed, or TOKENIZER_REVISION did without a new pin. \
         If the output change is intended: bump TOKENIZER_REVISION (config.rs), then pin \
         (TOKENIZER_REVISION, {got:#018x}) here."
    );
}
