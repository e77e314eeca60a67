//! Language names for stop-word lists and Snowball stemmers.

use rust_stemmers::Algorithm;

use crate::TextError;

/// Snowball stemmers, by the names and ISO 639-1 codes a config may use.
const STEMMERS: &[(&str, &str, Algorithm)] = &[
    ("arabic", "ar", Algorithm::Arabic),
    ("danish", "da", Algorithm::Danish),
    ("dutch", "nl", Algorithm::Dutch),
    ("english", "en", Algorithm::English),
    ("finnish", "fi", Algorithm::Finnish),
    ("french", "fr", Algorithm::French),
    ("german", "de", Algorithm::German),
    ("greek", "el", Algorithm::Greek),
    ("hungarian", "hu", Algorithm::Hungarian),
    ("italian", "it", Algorithm::Italian),
    ("norwegian", "no", Algorithm::Norwegian),
    ("portuguese", "pt", Algorithm::Portuguese),
    ("romanian", "ro", Algorithm::Romanian),
    ("russian", "ru", Algorithm::Russian),
    ("spanish", "es", Algorithm::Spanish),
    ("swedish", "sv", Algorithm::Swedish),
    ("tamil", "ta", Algorithm::Tamil),
    ("turkish", "tr", Algorithm::Turkish),
];

/// Stop-word lists (NLTK's, via the `stop-words` crate), by name and the crate's code.
const STOPWORDS: &[(&str, &str)] = &[
    ("albanian", "sq"),
    ("arabic", "ar"),
    ("azerbaijani", "az"),
    ("basque", "eu"),
    ("belarusian", "be"),
    ("bengali", "bn"),
    ("catalan", "ca"),
    ("chinese", "zh"),
    ("danish", "da"),
    ("dutch", "nl"),
    ("english", "en"),
    ("finnish", "fi"),
    ("french", "fr"),
    ("german", "de"),
    ("greek", "el"),
    ("hebrew", "he"),
    ("hinglish", "hinglish"),
    ("hungarian", "hu"),
    ("indonesian", "id"),
    ("italian", "it"),
    ("kazakh", "kk"),
    ("nepali", "ne"),
    ("norwegian", "no"),
    ("portuguese", "pt"),
    ("romanian", "ro"),
    ("russian", "ru"),
    ("slovenian", "sl"),
    ("spanish", "es"),
    ("swedish", "sv"),
    ("tajik", "tg"),
    ("tamil", "ta"),
    ("turkish", "tr"),
    ("uzbek", "uz"),
];

/// English words that NLTK's list lacks but that dominate LDA topics of real mail and news:
/// modal verbs, "also", "us", contractions, and the commonest fillers ("like", "really",
/// "thing"). Written for this crate; no word here names a topic.
const ENGLISH_EXTRA: &[&str] = &[
    "also",
    "would",
    "could",
    "might",
    "must",
    "shall",
    "may",
    "us",
    "much",
    "many",
    "however",
    "yet",
    "still",
    "even",
    "though",
    "although",
    "whether",
    "within",
    "without",
    "upon",
    "onto",
    "among",
    "across",
    "along",
    "around",
    "toward",
    "towards",
    "via",
    "per",
    "etc",
    "every",
    "either",
    "neither",
    "else",
    "ever",
    "never",
    "nothing",
    "something",
    "anything",
    "everything",
    "someone",
    "anyone",
    "everyone",
    "somebody",
    "anybody",
    "everybody",
    "another",
    "others",
    "since",
    "unless",
    "thus",
    "therefore",
    "hence",
    "whereas",
    "whose",
    "whoever",
    "whatever",
    "whenever",
    "wherever",
    "already",
    "almost",
    "always",
    "often",
    "quite",
    "rather",
    "perhaps",
    "cannot",
    "can't",
    "let's",
    "that's",
    "there's",
    "here's",
    "what's",
    "who's",
    "where's",
    "when's",
    "why's",
    "how's",
    "i'd",
    "we'd",
    "they'd",
    "would've",
    "could've",
    "might've",
    "must've",
    "ought",
    "oughtn't",
    "sure",
    "well",
    "really",
    "just",
    "like",
    "one",
    "two",
    "got",
    "get",
    "gets",
    "lot",
    "lots",
    "thing",
    "things",
    "way",
    "actually",
    "anyway",
    "anyways",
    "e.g",
    "i.e",
    "eg",
    "ie",
];

fn known<T>(table: &[T], name: impl Fn(&T) -> &str) -> String {
    table.iter().map(name).collect::<Vec<_>>().join(", ")
}

/// The Snowball algorithm for a language name or code (case-insensitive).
pub(crate) fn stemmer(name: &str) -> Result<Algorithm, TextError> {
    let n = name.trim();
    STEMMERS
        .iter()
        .find(|(full, code, _)| full.eq_ignore_ascii_case(n) || code.eq_ignore_ascii_case(n))
        .map(|&(_, _, a)| a)
        .ok_or_else(|| TextError::UnknownLanguage {
            what: "stemmer",
            name: name.to_owned(),
            known: known(STEMMERS, |s| s.0),
        })
}

/// Index of an algorithm in [`STEMMERS`], for per-language caches.
pub(crate) fn stemmer_index(a: Algorithm) -> usize {
    STEMMERS.iter().position(|s| s.2 == a).unwrap_or(0)
}

/// Number of stemmer languages.
pub(crate) const STEMMER_COUNT: usize = STEMMERS.len();

/// The stop words of one or more languages joined by `,` or `+` (`"english,german"`).
pub(crate) fn stopwords(names: &str) -> Result<Vec<&'static str>, TextError> {
    let mut words = Vec::new();
    for name in names
        .split([',', '+'])
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let code = STOPWORDS
            .iter()
            .find(|(full, code)| full.eq_ignore_ascii_case(name) || code.eq_ignore_ascii_case(name))
            .map(|&(_, code)| code);
        let list = code
            .and_then(stop_words::lookup)
            .ok_or_else(|| TextError::UnknownLanguage {
                what: "stop-word",
                name: name.to_owned(),
                known: known(STOPWORDS, |s| s.0),
            })?;
        words.extend_from_slice(list);
        if code == Some("en") {
            words.extend_from_slice(ENGLISH_EXTRA);
        }
    }
    Ok(words)
}
