//! Reading the state (stats, costs, agreement) and the caller's control knobs (plateau,
//! learning-curve gain, threshold, gold items, outbox acknowledgement).

use std::collections::{BTreeMap, BTreeSet};

use super::state::Task;
use super::Curator;
use crate::agreement::{cohen_kappa, fleiss_counts, fleiss_kappa};
use crate::cost::CostSummary;
use crate::error::CurationError;
use crate::hashing::task_id_for_gold;
use crate::item::{GoldItem, TaskKind};
use crate::records::{CompletedLabel, DropReason, StopReason};
use crate::stats::{AgreementReport, AnnotatorStats, QueueStats};
use crate::threshold::{
    choose_auto_label_threshold, judged_classes, outlier_classes, ThresholdChoice, ValidationPair,
};

impl Curator {
    /// Why routine items do not go to humans right now, if they do not.
    pub fn routing_stopped(&self) -> Option<StopReason> {
        let cost = &self.config.cost;
        if self.state.plateaued {
            return Some(DropReason::Plateaued);
        }
        if cost
            .budget_usd
            .is_some_and(|b| self.state.ledger.total() >= b)
        {
            return Some(DropReason::BudgetExhausted);
        }
        let gain = self
            .state
            .ledger
            .gain_per_usd(cost, self.state.gain_per_100_labels);
        if let (Some(min), Some(gain)) = (cost.min_gain_per_usd, gain) {
            if gain < min {
                return Some(DropReason::LowGainPerUsd);
            }
        }
        None
    }

    /// The classifier's learning curve has plateaued (or recovered): more routine human labels
    /// would (not) be wasted. Audits and gold continue either way.
    pub fn set_plateaued(&mut self, plateaued: bool) {
        self.state.plateaued = plateaued;
    }

    /// The learning-curve slope from the scoring service: accuracy gained per 100 more labels
    /// (e.g. 0.004 = +0.4 points). Feeds `accuracy_gain_per_usd` and `min_gain_per_usd`.
    pub fn set_learning_curve_gain(&mut self, gain_per_100_labels: Option<f64>) {
        self.state.gain_per_100_labels = gain_per_100_labels.filter(|g| g.is_finite());
    }

    pub fn auto_label_threshold(&self) -> f64 {
        self.state.threshold
    }

    pub fn set_auto_label_threshold(&mut self, threshold: f64) -> Result<(), CurationError> {
        if !(0.0..=1.0).contains(&threshold) {
            return Err(CurationError::InvalidConfig(format!(
                "auto-label threshold {threshold} not in [0, 1]"
            )));
        }
        self.state.threshold = threshold;
        Ok(())
    }

    /// Chooses and adopts the threshold from an external human-labeled validation set, with the
    /// configured target precision, minimum support and fallback.
    /// Labels whose validation pairs disagree with humans significantly more often than their
    /// confidences say, relative to the other labels, stop being auto-labeled
    /// (`routing.suspend_outlier_classes`, [`outlier_classes`]).
    pub fn calibrate_threshold(&mut self, validation: &[ValidationPair]) -> ThresholdChoice {
        let r = &self.config.routing;
        let mut choice = choose_auto_label_threshold(
            validation,
            r.target_precision,
            r.min_support,
            r.fallback_threshold,
            self.config.labels.len(),
            r.precision_confidence_z,
        );
        choice.judged = judged_classes(
            validation,
            &self.config.labels,
            r.validation_band,
            r.class_min_pairs,
        );
        if r.suspend_outlier_classes {
            choice.suspended = outlier_classes(
                validation,
                &self.config.labels,
                r.validation_band,
                r.class_min_pairs,
                r.precision_confidence_z,
            );
        }
        self.state.threshold = choice.threshold;
        self.state.threshold_choice = Some(choice.clone());
        choice
    }

    /// The evidence behind the last threshold chosen from validation data, if any.
    pub fn threshold_choice(&self) -> Option<&ThresholdChoice> {
        self.state.threshold_choice.as_ref()
    }

    /// Whether `label` has had its `routing.unjudged_class_auto_labels` auto-labels while the
    /// last threshold choice could not judge it (so it is not auto-labeled until it is).
    pub fn is_capped_unjudged(&self, label: &str) -> bool {
        let Some(cap) = self.config.routing.unjudged_class_auto_labels else {
            return false;
        };
        let judged = self
            .threshold_choice()
            .is_some_and(|choice| choice.judged.iter().any(|l| l == label));
        let given = self.state.auto_labels_by_class.get(label).copied();
        !judged && given.unwrap_or(0) >= cap
    }

    /// Labels held back by [`is_capped_unjudged`](Self::is_capped_unjudged) now.
    pub fn capped_unjudged_labels(&self) -> Vec<String> {
        self.config
            .labels
            .iter()
            .filter(|label| self.is_capped_unjudged(label))
            .cloned()
            .collect()
    }

    /// Whether `label` is an outlier class of the last threshold choice (not auto-labeled).
    pub fn is_suspended(&self, label: &str) -> bool {
        self.threshold_choice()
            .is_some_and(|choice| choice.suspended.iter().any(|s| s.label == label))
    }

    /// Like [`calibrate_threshold`](Self::calibrate_threshold) on the pairs the queue collected
    /// itself (finalized audits and human-labeled routine items that had a model label).
    /// Caveat: audits sample above the threshold at `audit_rate` while routine items cover
    /// what is below it, so precision estimates that straddle the current threshold weigh the
    /// two regions unequally; a dedicated validation set is better when one exists.
    pub fn recalibrate(&mut self) -> ThresholdChoice {
        let pairs: Vec<ValidationPair> = self.state.validation.iter().copied().collect();
        let band = self.config.routing.validation_band;
        self.state.band_pairs = pairs.iter().filter(|p| p.confidence >= band).count();
        self.calibrate_threshold(&pairs)
    }

    /// The collected (confidence, machine label correct) pairs, oldest first.
    pub fn validation_pairs(&self) -> Vec<ValidationPair> {
        self.state.validation.iter().copied().collect()
    }

    /// Adds (or confirms) a gold item. Idempotent; the same id with another answer is a
    /// `Conflict`. Returns the gold task id.
    pub fn add_gold(&mut self, gold: GoldItem) -> Result<String, CurationError> {
        if gold.gold_id.is_empty() {
            return Err(CurationError::InvalidItem("gold_id is empty".into()));
        }
        if self.config.label_index(&gold.label).is_none() {
            return Err(CurationError::UnknownLabel { label: gold.label });
        }
        let task_id = task_id_for_gold(&gold.gold_id);
        if let Some(existing) = self.state.gold.get(&task_id) {
            if existing.gold_label.as_deref() != Some(gold.label.as_str()) {
                return Err(CurationError::Conflict {
                    task_id,
                    reason: format!("gold item {} has another answer", gold.gold_id),
                });
            }
            return Ok(task_id);
        }
        let seq = self.next_seq();
        self.state.gold.insert(
            task_id.clone(),
            Task {
                task_id: task_id.clone(),
                doc_id: gold.gold_id,
                kind: TaskKind::Gold,
                text: gold.text,
                machine_label: None,
                confidence: 0.0,
                score: 0.0,
                topic: None,
                seq,
                model_version: String::new(),
                classifier_version: String::new(),
                need: 0,
                leases: BTreeMap::new(),
                judgments: Vec::new(),
                skipped_by: BTreeSet::new(),
                gold_label: Some(gold.label),
            },
        );
        self.apply_pending(&task_id);
        Ok(task_id)
    }

    /// Finalized labels not yet acknowledged, oldest first (model, human and consensus).
    pub fn completed_labels(&self) -> impl Iterator<Item = &CompletedLabel> {
        self.state.outbox.iter()
    }

    /// Forgets the oldest `count` completed labels once the service has durably published or
    /// committed them. Safe with concurrent appends: only the first `count` are removed.
    pub fn ack_completed(&mut self, count: usize) {
        let n = count.min(self.state.outbox.len());
        self.state.outbox.drain(..n);
    }

    /// Takes every completed label out (for callers that publish synchronously).
    pub fn drain_completed(&mut self) -> Vec<CompletedLabel> {
        self.state.outbox.drain(..).collect()
    }

    /// Documents with an open routine or audit task (gold items excluded).
    pub fn open_doc_ids(&self) -> impl Iterator<Item = &str> {
        self.state.tasks.values().map(|t| t.doc_id.as_str())
    }

    pub fn stats(&self) -> QueueStats {
        let c = &self.state.counters;
        let audits = c.finalized_audit;
        QueueStats {
            open_routine: self.index.all.len(),
            open_audit: self.index.audits.len(),
            gold_items: self.state.gold.len(),
            active_leases: self.index.expiry.len(),
            topic_buckets: self.index.buckets.len(),
            largest_topic_bucket: self
                .index
                .buckets
                .values()
                .map(|b| b.len())
                .max()
                .unwrap_or(0),
            outbox: self.state.outbox.len(),
            auto_label_threshold: self.state.threshold,
            audit_precision: (audits > 0).then(|| c.audits_agreed as f64 / audits as f64),
            routing_stopped: self.routing_stopped(),
            plateaued: self.state.plateaued,
            counters: c.clone(),
        }
    }

    pub fn annotator_stats(&self, annotator: &str) -> Option<AnnotatorStats> {
        self.state.annotators.get(annotator).cloned()
    }

    /// Every annotator, by name.
    pub fn all_annotator_stats(&self) -> Vec<AnnotatorStats> {
        self.state.annotators.values().cloned().collect()
    }

    pub fn cost_summary(&self) -> CostSummary {
        self.state
            .ledger
            .summary(&self.config.cost, self.state.gain_per_100_labels)
    }

    /// Fleiss' kappa over recent finalized multi-annotator items with the most common number of
    /// raters (Fleiss needs a constant count).
    pub fn agreement(&self) -> AgreementReport {
        let items: Vec<Vec<usize>> = self
            .state
            .history
            .iter()
            .filter(|h| h.truth.is_none() && h.votes.len() >= 2)
            .map(|h| h.votes.iter().map(|v| v.1).collect())
            .collect();
        let mut by_raters: BTreeMap<usize, usize> = BTreeMap::new();
        for item in &items {
            *by_raters.entry(item.len()).or_default() += 1;
        }
        // Most items; on a tie, more raters.
        let raters = by_raters
            .iter()
            .max_by_key(|(r, n)| (**n, **r))
            .map(|(r, _)| *r);
        let Some(raters) = raters else {
            return AgreementReport {
                items: 0,
                raters: None,
                fleiss_kappa: None,
            };
        };
        let counts = fleiss_counts(&items, raters, self.config.labels.len());
        AgreementReport {
            items: counts.len(),
            raters: Some(raters),
            fleiss_kappa: fleiss_kappa(&counts),
        }
    }

    /// Cohen's kappa between two annotators over the recent items both labeled.
    pub fn cohen_kappa_between(&self, a: &str, b: &str) -> Option<f64> {
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for h in self.state.history.iter().filter(|h| h.truth.is_none()) {
            let x = h.votes.iter().find(|v| v.0 == a);
            let y = h.votes.iter().find(|v| v.0 == b);
            if let (Some(x), Some(y)) = (x, y) {
                xs.push(x.1);
                ys.push(y.1);
            }
        }
        cohen_kappa(&xs, &ys, self.config.labels.len())
    }
}
