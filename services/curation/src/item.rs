//! Inputs: scored documents from the scoring service and gold items from the operator.

use serde::{Deserialize, Serialize};

use crate::config::SamplingStrategy;
use crate::error::CurationError;

/// One document as published on `documents.scored`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredItem {
    /// Document id (the Kafka key). Must be non-empty.
    pub doc_id: String,
    /// The text shown to annotators.
    pub text: String,
    /// The model's label, if the classifier has one yet (none before the first training).
    #[serde(default)]
    pub label: Option<String>,
    /// Calibrated probability of `label`, in [0, 1].
    pub confidence: f64,
    /// Probability gap between the best and second-best label, in [0, 1].
    pub margin: f64,
    /// Entropy (nats) of the predicted label distribution, >= 0.
    pub entropy: f64,
    /// Dominant topic; when absent the largest entry of `topics` is used.
    #[serde(default)]
    pub top_topic: Option<u32>,
    /// Topic mixture (topic, weight), usually sparse.
    #[serde(default)]
    pub topics: Vec<(u32, f32)>,
    #[serde(default)]
    pub model_version: String,
    #[serde(default)]
    pub classifier_version: String,
}

impl ScoredItem {
    /// Rejects what would poison ordering or arithmetic (NaN, out-of-range probabilities).
    pub fn validate(&self) -> Result<(), CurationError> {
        let bad = |m: String| Err(CurationError::InvalidItem(m));
        if self.doc_id.is_empty() {
            return bad("doc_id is empty".into());
        }
        if !(0.0..=1.0).contains(&self.confidence) {
            return bad(format!("confidence {} not in [0, 1]", self.confidence));
        }
        if !(0.0..=1.0).contains(&self.margin) {
            return bad(format!("margin {} not in [0, 1]", self.margin));
        }
        if !(self.entropy.is_finite() && self.entropy >= 0.0) {
            return bad(format!("entropy {} not finite and >= 0", self.entropy));
        }
        if self.topics.iter().any(|(_, w)| !w.is_finite()) {
            return bad("topic weights must be finite".into());
        }
        Ok(())
    }

    /// The topic bucket used for diversity.
    pub fn dominant_topic(&self) -> Option<u32> {
        self.top_topic.or_else(|| {
            self.topics
                .iter()
                .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
                .map(|(t, _)| *t)
        })
    }

    /// Queue priority, higher = asked first: informativeness plus `freshness` per classifier
    /// version that scored the item. An uncertainty measured by a classifier that has since
    /// been refitted is stale; the oldest items (scored before any classifier existed) all
    /// look maximally uncertain and would otherwise be asked first forever. A small
    /// `freshness` lets a recent window of versions compete on informativeness (a larger
    /// pool to choose from); one at or above the largest informativeness orders strictly by
    /// version first. Adding a per-version constant keeps keys static: ordering by
    /// `informativeness - freshness * (current - version)` is the same order.
    pub fn priority(&self, strategy: SamplingStrategy, freshness: f64) -> f64 {
        let informativeness = self.informativeness(strategy).min(MAX_INFORMATIVENESS);
        self.version_offset(freshness) + informativeness
    }

    /// Like [`Self::priority`], but the order among items is a weighted random sample
    /// without replacement, each item drawn with probability proportional to
    /// informativeness^`power` (Gumbel-top-k on `power * ln(informativeness)`; the Gumbel
    /// noise is a stable hash of the doc id and classifier version, so a replay rebuilds the
    /// same order). Greedy top-k asks a whole batch of near-identical items when one
    /// classifier ranks the pool; sampling spreads the batch ("stochastic batch acquisition",
    /// Kirsch et al. 2023).
    pub fn stochastic_priority(
        &self,
        strategy: SamplingStrategy,
        freshness: f64,
        power: f64,
    ) -> f64 {
        let informativeness = self
            .informativeness(strategy)
            .clamp(1e-6, MAX_INFORMATIVENESS);
        let key = format!("{}\u{1f}{}", self.doc_id, self.classifier_version);
        let u = crate::hashing::unit_interval("latentlabel.sampling", &key).max(1e-300);
        let gumbel = -(-u.ln()).ln();
        // Dividing by max(power, 1) keeps the order among items and keeps the key on the scale
        // of ln(informativeness) for any power, so (a) the freshness bonus means the same at
        // every power and (b) the key stays positive (priorities must be): ln(informativeness)
        // is in [-13.9, 6.9] and the Gumbel draw in (-6.6, 36.8), so the key is in
        // (-20.5, 43.7) before the offset. (Without the division, power 8 pushed every item
        // below informativeness ~0.005 to the clamp at 0, in a tie.)
        let scaled = (power * informativeness.ln() + gumbel) / power.max(1.0);
        let sampled = (scaled + 21.0).clamp(0.0, MAX_INFORMATIVENESS);
        self.version_offset(freshness) + sampled
    }

    /// `freshness` per classifier version that scored the item.
    fn version_offset(&self, freshness: f64) -> f64 {
        // Capped so version * freshness stays exact in an f64 with room for the fraction.
        let version = classifier_version_number(&self.classifier_version).min(1 << 30);
        version as f64 * freshness.clamp(0.0, 1024.0)
    }

    /// Informativeness under `strategy`: finite and >= 0 for a validated item, higher = ask first.
    pub fn informativeness(&self, strategy: SamplingStrategy) -> f64 {
        let raw = match strategy {
            SamplingStrategy::LeastConfidence => 1.0 - self.confidence,
            SamplingStrategy::Margin => 1.0 - self.margin,
            SamplingStrategy::Entropy => self.entropy,
            // Uniform in [0, 1) and stable per document, so a replay rebuilds the same order.
            SamplingStrategy::Random => {
                crate::hashing::unit_interval("random-sampling", &self.doc_id)
            }
        };
        raw.max(0.0)
    }
}

/// A classifier version as a number (versions are decimal; none or unparsable = 0, older
/// than any fitted classifier).
pub(crate) fn classifier_version_number(version: &str) -> u64 {
    version.parse().unwrap_or(0)
}

/// Informativeness is capped here (entropy is at most ln C) so priorities stay well-scaled.
const MAX_INFORMATIVENESS: f64 = 1023.0;

/// A document with a known answer, served to annotators (unannounced) to measure accuracy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoldItem {
    /// Shown to annotators as the doc id: make it look like any other document id.
    pub gold_id: String,
    pub text: String,
    /// The known answer; must be in the label set.
    pub label: String,
}

/// What a human task is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// An uncertain document that needs a human label.
    Routine,
    /// A sampled auto-label checked by a human (measures machine precision).
    Audit,
    /// A gold item with a known answer (measures annotator accuracy).
    Gold,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> ScoredItem {
        ScoredItem {
            doc_id: "d".into(),
            text: "t".into(),
            label: Some("a".into()),
            confidence: 0.7,
            margin: 0.4,
            entropy: 0.5,
            top_topic: None,
            topics: vec![(3, 0.2), (7, 0.6), (1, 0.2)],
            model_version: String::new(),
            classifier_version: String::new(),
        }
    }

    /// Gumbel-top-k: an item with informativeness 0.8 outranks one with 0.2 in 80 % of
    /// independent draws at power 1, 94 % at power 2 (0.64 / 0.68), and half at power 0;
    /// and at power 8 even nearly certain items (informativeness 1e-3 vs 1e-4) keep their
    /// order instead of tying at the bottom of the key's range.
    #[test]
    fn stochastic_priority_samples_in_proportion_to_informativeness_to_the_power() {
        let eight = |a: f64, b: f64| a.powi(8) / (a.powi(8) + b.powi(8));
        for (power, (weak, strong), want) in [
            (1.0, (0.2, 0.8), 0.8),
            (2.0, (0.2, 0.8), 0.64 / 0.68),
            (0.0, (0.2, 0.8), 0.5),
            (8.0, (0.2, 0.8), eight(0.8, 0.2)),
            (8.0, (0.999, 0.9999), eight(1e-3, 1e-4)),
        ] {
            let n = 4000;
            let wins = (0..n)
                .filter(|i| {
                    let with_margin = |doc: String, margin: f64| ScoredItem {
                        doc_id: doc,
                        margin,
                        classifier_version: "3".into(),
                        ..item()
                    };
                    let a = with_margin(format!("a{i}"), weak);
                    let b = with_margin(format!("b{i}"), strong);
                    a.stochastic_priority(SamplingStrategy::Margin, 1.0, power)
                        > b.stochastic_priority(SamplingStrategy::Margin, 1.0, power)
                })
                .count();
            let share = wins as f64 / n as f64;
            // Binomial sd at n = 4000 is < 0.008; 0.03 is ~4 sd.
            assert!(
                (share - want).abs() < 0.03,
                "power {power}: {share} vs {want}"
            );
        }
    }

    #[test]
    fn dominant_topic_falls_back_to_largest_weight() {
        assert_eq!(item().dominant_topic(), Some(7));
        let explicit = ScoredItem {
            top_topic: Some(1),
            ..item()
        };
        assert_eq!(explicit.dominant_topic(), Some(1));
    }

    #[test]
    fn strategies_rank_by_their_measure() {
        let i = item();
        assert!((i.informativeness(SamplingStrategy::LeastConfidence) - 0.3).abs() < 1e-12);
        assert!((i.informativeness(SamplingStrategy::Margin) - 0.6).abs() < 1e-12);
        assert!((i.informativeness(SamplingStrategy::Entropy) - 0.5).abs() < 1e-12);
        let mut newer = i.clone();
        newer.classifier_version = "7".into();
        newer.confidence = 0.99;
        newer.margin = 0.99;
        assert!(
            newer.priority(SamplingStrategy::Margin, 1.0)
                > i.priority(SamplingStrategy::Margin, 1.0),
            "a fresher score outranks a more uncertain stale one"
        );
        assert!(
            newer.priority(SamplingStrategy::Margin, 0.0)
                < i.priority(SamplingStrategy::Margin, 0.0)
        );
        let r = i.informativeness(SamplingStrategy::Random);
        assert!((0.0..1.0).contains(&r));
        assert_eq!(r, i.clone().informativeness(SamplingStrategy::Random));
    }

    #[test]
    fn nan_and_ranges_are_rejected() {
        assert!(item().validate().is_ok());
        let nan = ScoredItem {
            confidence: f64::NAN,
            ..item()
        };
        assert!(nan.validate().is_err());
        let empty = ScoredItem {
            doc_id: String::new(),
            ..item()
        };
        assert!(empty.validate().is_err());
    }
}
