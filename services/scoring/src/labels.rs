//! Learning from the label stream: the labeled documents, the classifier on their topic
//! mixtures, its refits and its learning curve.
//!
//! Every scoring replica reads the whole labels topic and refits deterministically, so replicas
//! agree without coordination. Only human-sourced labels (human, consensus, gold, import) train
//! the classifier: learning from its own auto-labels would only reinforce its mistakes.
//!
//! Split by stable hash of the document id: `evaluation_fraction` never trained on (the learning
//! curve is measured there), `calibration_fraction` only calibrates, the rest trains. Features
//! are recomputed with the current topic model at every refit, so a model swap never leaves the
//! classifier reading features from a different topic space.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, RwLock};

use latentlabel_classify::curve::{CurvePoint, LearningCurve};
use latentlabel_classify::labels::LabelSet;
use latentlabel_classify::metrics::{evaluate, Evaluation};
use latentlabel_classify::model::{Classifier, Example, Prediction};
use latentlabel_classify::{ClassifyError, HashedTfIdf};
use latentlabel_common::split;
use serde::{Deserialize, Serialize};

use crate::config::ScoringConfig;
use crate::model::TopicModel;

pub type Terms = Vec<(String, u32)>;

/// A document's words as scoring uses them: `terms` feed the topic model, `terms` and
/// `context` (Subject, quoted replies; see `latentlabel_text::Prepared`) the word features.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Words {
    pub terms: Terms,
    pub context: Terms,
}

/// `bag` as the borrowed `(term, count)` slice the topic model and the word features take.
pub fn borrow_terms(bag: &[(String, u32)]) -> Vec<(&str, u32)> {
    bag.iter().map(|(w, c)| (w.as_str(), *c)).collect()
}

impl Words {
    pub fn from_prepared(p: latentlabel_text::Prepared) -> Self {
        Self {
            terms: p.processed.terms,
            context: p.context_terms,
        }
    }

    /// Every (term, count) the word features hash: the topic terms, then the context.
    pub fn features(&self) -> impl Iterator<Item = (&str, u32)> + Clone {
        self.terms
            .iter()
            .chain(&self.context)
            .map(|(w, c)| (w.as_str(), *c))
    }
}

/// Which slice of the labels a document belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Slice {
    Train,
    Calibration,
    Evaluation,
}

pub fn slice_of(doc_id: &str, config: &ScoringConfig) -> Slice {
    let u = split::unit_hash(doc_id, "classifier-split");
    if u < config.evaluation_fraction {
        Slice::Evaluation
    } else if u < config.evaluation_fraction + config.calibration_fraction {
        Slice::Calibration
    } else {
        Slice::Train
    }
}

/// Labels that count as ground truth for training.
pub fn is_trusted_source(source: &str) -> bool {
    matches!(source, "human" | "consensus" | "gold" | "import")
}

#[derive(Clone)]
struct Labeled {
    words: Words,
    label: String,
    /// Probability the label is right (see [`LabelBook::add`]).
    accuracy: f32,
    /// Consensus/gold/import outrank a single human vote for the same document.
    rank: u8,
}

/// The labeled documents seen so far.
#[derive(Default)]
pub struct LabelBook {
    docs: HashMap<String, Labeled>,
    labels: LabelSet,
    new_since_refit: usize,
}

impl LabelBook {
    /// Records a label from `source`, right with probability `accuracy` (1 for exact labels;
    /// calibration discounts the rest). Returns false when it changed nothing (a replay or a
    /// weaker source).
    pub fn add(
        &mut self,
        doc_id: &str,
        label: &str,
        source: &str,
        words: Words,
        accuracy: f32,
    ) -> bool {
        let rank = match source {
            "human" => 1,
            _ => 2,
        };
        if let Some(existing) = self.docs.get(doc_id) {
            if existing.rank > rank || (existing.rank == rank && existing.label == label) {
                return false;
            }
        }
        self.labels.intern(label);
        self.docs.insert(
            doc_id.to_string(),
            Labeled {
                words,
                label: label.to_string(),
                accuracy: if accuracy.is_finite() {
                    accuracy.clamp(0.0, 1.0)
                } else {
                    1.0
                },
                rank,
            },
        );
        self.new_since_refit += 1;
        true
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    pub fn new_since_refit(&self) -> usize {
        self.new_since_refit
    }

    pub fn labels(&self) -> &LabelSet {
        &self.labels
    }

    /// Examples per slice of `docs` with features from `model` (and `text`, when given).
    fn examples(
        &self,
        docs: &[(&String, &Labeled)],
        model: &TopicModel,
        text: Option<&HashedTfIdf>,
        config: &ScoringConfig,
    ) -> [Vec<Example>; 3] {
        let mut out = [Vec::new(), Vec::new(), Vec::new()];
        for &(id, labeled) in docs {
            let Some(label) = self.labels.index_of(&labeled.label) else {
                continue;
            };
            let terms = labeled.words.terms.iter().map(|(w, c)| (w.as_str(), *c));
            let (doc, _) = model.document(terms);
            let features = model.inference.infer(&doc);
            let sparse = text
                .map(|t| t.transform(labeled.words.features(), config.text_features.scale))
                .unwrap_or_default();
            let slot = match slice_of(id, config) {
                Slice::Train => 0,
                Slice::Calibration => 1,
                Slice::Evaluation => 2,
            };
            out[slot].push(Example {
                features,
                sparse,
                label,
                label_accuracy: if config.classifier.noisy_label_calibration {
                    labeled.accuracy
                } else {
                    1.0
                },
            });
        }
        out
    }

    /// Labeled documents by id: a deterministic order regardless of arrival, so replicas fit
    /// identical models.
    fn sorted(&self) -> Vec<(&String, &Labeled)> {
        let mut docs: Vec<(&String, &Labeled)> = self.docs.iter().collect();
        docs.sort_by(|a, b| a.0.cmp(b.0));
        docs
    }

    /// The idf of the word features, fitted on the documents of `docs` the classifier trains on.
    fn text_features(docs: &[(&String, &Labeled)], config: &ScoringConfig) -> Option<HashedTfIdf> {
        if !config.text_features.enabled {
            return None;
        }
        let fitting = docs
            .iter()
            .filter(|(id, _)| slice_of(id, config) != Slice::Evaluation)
            .map(|(_, l)| l.words.features());
        Some(HashedTfIdf::fit(fitting, config.text_features.buckets))
    }

    /// Fits a classifier on the current labels. `Ok(None)` while there are too few labels.
    pub fn refit(
        &mut self,
        model: &TopicModel,
        config: &ScoringConfig,
    ) -> anyhow::Result<Option<Fitted>> {
        self.new_since_refit = 0;
        let docs = self.sorted();
        let text = Self::text_features(&docs, config);
        let [train, calibration, evaluation] = self.examples(&docs, model, text.as_ref(), config);
        let classifier =
            match Classifier::fit(&train, &calibration, self.labels.len(), &config.classifier) {
                Ok(c) => c,
                Err(
                    ClassifyError::InsufficientLabels { .. } | ClassifyError::TooFewClasses { .. },
                ) => return Ok(None),
                Err(e) => return Err(anyhow::anyhow!("fitting classifier: {e}")),
            };
        let eval = if evaluation.is_empty() {
            None
        } else {
            Some(
                evaluate(&classifier, &evaluation, config.classifier.ece_bins)
                    .map_err(|e| anyhow::anyhow!("evaluating classifier: {e}"))?,
            )
        };
        Ok(Some(Fitted {
            classifier,
            text,
            text_scale: config.text_features.scale,
            labels: self.labels.clone(),
            training_labels: train.len() + calibration.len(),
            evaluation_labels: evaluation.len(),
            evaluation: eval,
            model_version: model.version,
        }))
    }
}

/// A fitted classifier and how it did on held-out labels.
pub struct Fitted {
    pub classifier: Classifier,
    /// The word features it was trained with (None: theta only).
    pub text: Option<HashedTfIdf>,
    pub text_scale: f32,
    pub labels: LabelSet,
    pub training_labels: usize,
    pub evaluation_labels: usize,
    pub evaluation: Option<Evaluation>,
    pub model_version: u64,
}

impl Fitted {
    /// The calibrated prediction for a document with topic mixture `theta`, topic terms
    /// `terms` and classifier-only `context` terms.
    pub fn predict(
        &self,
        theta: &[f32],
        terms: &[(&str, u32)],
        context: &[(&str, u32)],
    ) -> Option<Prediction> {
        let sparse = self
            .text
            .as_ref()
            .map(|t| t.transform(terms.iter().chain(context).copied(), self.text_scale))
            .unwrap_or_default();
        self.classifier.predict_with(theta, &sparse).ok()
    }
}

/// The classifier in use and its history.
pub struct ClassifierState {
    pub version: u64,
    pub fitted: Option<Fitted>,
    pub curve: LearningCurve,
}

impl ClassifierState {
    pub fn plateaued(&self, epsilon: f64) -> bool {
        self.curve.plateaued(epsilon)
    }
}

#[derive(Clone)]
pub struct ClassifierSlot {
    current: Arc<RwLock<Arc<ClassifierState>>>,
}

impl ClassifierSlot {
    pub fn new(window: usize) -> Self {
        Self {
            current: Arc::new(RwLock::new(Arc::new(ClassifierState {
                version: 0,
                fitted: None,
                curve: LearningCurve::new(window),
            }))),
        }
    }

    pub fn get(&self) -> Arc<ClassifierState> {
        self.current
            .read()
            .map(|g| g.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Installs a new fit as the next version, extending the learning curve.
    pub fn install(&self, fitted: Fitted) -> Arc<ClassifierState> {
        let previous = self.get();
        let mut curve = previous.curve.clone();
        if let Some(e) = &fitted.evaluation {
            curve.push(CurvePoint {
                training_labels: fitted.training_labels,
                accuracy: e.accuracy,
                macro_f1: e.macro_f1,
                ece: e.ece,
            });
        }
        let state = Arc::new(ClassifierState {
            version: previous.version + 1,
            fitted: Some(fitted),
            curve,
        });
        if let Ok(mut g) = self.current.write() {
            *g = state.clone();
        }
        state
    }
}

/// Bounded memory of recently scored documents' terms, for labels that arrive without text.
pub struct RecentDocuments {
    capacity: usize,
    map: HashMap<String, Words>,
    order: VecDeque<String>,
}

impl RecentDocuments {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    pub fn remember(&mut self, id: &str, words: Words) {
        if self.capacity == 0 || self.map.contains_key(id) {
            return;
        }
        if self.order.len() >= self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
        self.order.push_back(id.to_string());
        self.map.insert(id.to_string(), words);
    }

    pub fn get(&self, id: &str) -> Option<&Words> {
        self.map.get(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stronger_sources_win_and_replays_are_noops() {
        let mut book = LabelBook::default();
        assert!(book.add("d", "a", "human", Words::default(), 1.0));
        assert!(
            !book.add("d", "a", "human", Words::default(), 1.0),
            "replay"
        );
        assert!(book.add("d", "b", "consensus", Words::default(), 1.0));
        assert!(
            !book.add("d", "c", "human", Words::default(), 1.0),
            "a single vote does not override consensus"
        );
        assert_eq!(book.len(), 1);
        assert_eq!(book.new_since_refit(), 2);
    }

    #[test]
    fn slices_follow_the_configured_fractions() {
        let config = ScoringConfig::default();
        let n = 10_000;
        let eval = (0..n)
            .filter(|i| slice_of(&format!("d{i}"), &config) == Slice::Evaluation)
            .count();
        let cal = (0..n)
            .filter(|i| slice_of(&format!("d{i}"), &config) == Slice::Calibration)
            .count();
        assert!((1300..1700).contains(&eval), "{eval}");
        assert!((800..1200).contains(&cal), "{cal}");
    }

    #[test]
    fn recent_documents_are_bounded() {
        let mut r = RecentDocuments::new(2);
        r.remember("a", Words::default());
        r.remember("b", Words::default());
        r.remember("c", Words::default());
        assert!(r.get("a").is_none() && r.get("b").is_some() && r.get("c").is_some());
    }
}
