//! Does ingest tokenize the way this replica does?
//!
//! Scoring turns label-event texts (and re-score requests) into words with its own
//! tokenizer, but scores the stream with the words ingest produced. If the two
//! configurations differ (say `classifier_context` on one side only), the classifier trains
//! on other features than it serves, silently. Ingest stamps each document with its
//! tokenizer's fingerprint; this compares it with ours. A mismatch is a deployment error,
//! not bad input: the document is still scored (nothing is lost), counted in
//! `latentlabel_scoring_tokenizer_mismatch_total`, and logged once per foreign fingerprint.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::metrics;

/// Foreign fingerprints remembered for logging; beyond this, mismatches are only counted.
const MAX_REMEMBERED: usize = 16;

pub struct TokenizerCheck {
    own: String,
    seen: Mutex<HashSet<String>>,
}

/// What one document's fingerprint says.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Same settings as this replica.
    Same,
    /// From a producer that predates fingerprints: nothing to compare.
    Unknown,
    /// Other settings; `first` when this fingerprint was not seen before (log it).
    Different { first: bool },
}

impl TokenizerCheck {
    pub fn new(own_fingerprint: String) -> Self {
        Self {
            own: own_fingerprint,
            seen: Mutex::new(HashSet::new()),
        }
    }

    /// Judges one document's fingerprint, counting and logging a mismatch.
    pub fn check(&self, doc_id: &str, fingerprint: Option<&str>) -> Verdict {
        let Some(theirs) = fingerprint else {
            return Verdict::Unknown;
        };
        if theirs == self.own {
            return Verdict::Same;
        }
        metrics::TOKENIZER_MISMATCH.inc();
        let first = match self.seen.lock() {
            Ok(mut seen) if seen.len() < MAX_REMEMBERED => seen.insert(theirs.to_owned()),
            _ => false,
        };
        if first {
            tracing::error!(
                doc = doc_id,
                ingest = theirs,
                scoring = %self.own,
                "document tokenized with other settings than scoring's `tokenizer` section: \
                 the classifier trains on label texts tokenized one way and scores documents \
                 tokenized another; make ingest's and scoring's `tokenizer` sections equal"
            );
        }
        Verdict::Different { first }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latentlabel_text::TokenizerConfig;

    #[test]
    fn a_foreign_fingerprint_is_counted_every_time_and_reported_once() {
        let ours = TokenizerConfig::default();
        let theirs = TokenizerConfig {
            classifier_context: false,
            ..ours.clone()
        };
        let check = TokenizerCheck::new(ours.fingerprint());
        let before = metrics::TOKENIZER_MISMATCH.get();
        assert_eq!(check.check("a", Some(&ours.fingerprint())), Verdict::Same);
        assert_eq!(check.check("b", None), Verdict::Unknown);
        assert_eq!(
            check.check("c", Some(&theirs.fingerprint())),
            Verdict::Different { first: true }
        );
        assert_eq!(
            check.check("d", Some(&theirs.fingerprint())),
            Verdict::Different { first: false }
        );
        // Other tests in this binary may count too; ours added exactly two.
        assert!(metrics::TOKENIZER_MISMATCH.get() >= before + 2);
    }
}
