//! Configuration. Every struct takes `#[serde(default)]` (a partial file is fine) and
//! `deny_unknown_fields` (a typo is an error, not a silently ignored setting). Each field's doc
//! names its default; [`CurationConfig::validate`] rejects combinations that cannot work.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::CurationError;

/// Everything the [`Curator`](crate::Curator) needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CurationConfig {
    /// The label set, in a fixed order. Default: empty, which [`validate`](Self::validate)
    /// rejects: the service must configure it.
    pub labels: Vec<String>,
    /// When to trust the model. Default: [`RoutingConfig::default`].
    pub routing: RoutingConfig,
    /// The human task queue. Default: [`QueueConfig::default`].
    pub queue: QueueConfig,
    /// Money. Default: [`CostConfig::default`].
    pub cost: CostConfig,
}

/// How informative a document is for the classifier (higher = asked first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplingStrategy {
    /// `1 - confidence` (least-confidence sampling).
    LeastConfidence,
    /// `1 - margin` between the two best labels (margin sampling).
    Margin,
    /// The entropy of the predicted label distribution (entropy sampling).
    Entropy,
    /// A stable pseudo-random order (hash of the doc id): the passive-learning baseline that
    /// active learning is measured against (`latentlabel bench newsgroups`).
    Random,
}

/// Auto-labeling and audit policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoutingConfig {
    /// A machine label with calibrated confidence `>=` this is accepted without a human.
    /// Default: 0.99, deliberately conservative until [`Curator::recalibrate`](crate::Curator::recalibrate)
    /// or [`Curator::calibrate_threshold`](crate::Curator::calibrate_threshold) chooses one.
    pub auto_label_threshold: f64,
    /// Precision the chosen threshold must reach on human-labeled validation items. Default: 0.95.
    pub target_precision: f64,
    /// Minimum number of validation items at or above a threshold for it to be chosen. Default: 50.
    pub min_support: usize,
    /// Threshold used when the validation data cannot support any choice. Default: 0.99.
    pub fallback_threshold: f64,
    /// Fraction of auto-labels sent to humans for audit, chosen by a stable hash of the doc id.
    /// Default: 0.05.
    pub audit_rate: f64,
    /// Informativeness measure that orders the human queue. Default: `margin`.
    pub strategy: SamplingStrategy,
    /// How many (confidence, machine label correct) pairs from audits and human labels are kept
    /// for [`Curator::recalibrate`](crate::Curator::recalibrate). Default: 10000.
    pub validation_window: usize,
    /// Gold answers needed before human labels count as noisy when choosing the threshold:
    /// below it a human label is taken as exact (which understates machine precision: safe
    /// but, with 90 %-accurate annotators, never above 90 %). Per annotator when they have
    /// this many, else pooled over all annotators. 0 turns the correction off. Default: 30.
    pub min_gold_answers: u64,
    /// Lower end of the confidence band just below the threshold that is sampled for
    /// validation (see `validation_rate`). Default: 0.9.
    pub validation_band: f64,
    /// Share of documents with confidence in [`validation_band`, threshold) that are asked
    /// before everything else (stable hash of the doc id). Uncertainty sampling otherwise
    /// never sends a confident document to a human, so the threshold could never be validated
    /// below its current value and would stay at the fallback. These pairs are also the
    /// evidence of the outlier-class test (`suspend_outlier_classes`): at 10 % a 1,500-label
    /// run on 20 Newsgroups collected 54 band pairs, 7 for the class that needed stopping.
    /// Their cost in learning is bounded by `validation_max_share`. 0 turns it off.
    /// Default: 0.3.
    pub validation_rate: f64,
    /// Probing stops while the validation window already holds this many pairs at or above
    /// `validation_band` (enough evidence there; on a confident stream 10 % of the band would
    /// otherwise be a large share of all human work). Default: 1000.
    pub validation_target: usize,
    /// Most of the routine human labels validation probes may take: a probe is queued only
    /// while the probes queued so far are fewer than this share of the routine labels
    /// finalized. Without it, probing grows with the classifier's confidence: at 30 % of
    /// the band, 371 of 1,410 routine labels (26 %) of a 1,500-label run on 20 Newsgroups
    /// went to probes, most of them late, when the strategy's picks are worth the most
    /// (bench/queue/RESULTS.md, session 7). 1 removes the cap. Default: 0.1.
    pub validation_max_share: f64,
    /// When set, the human queue is a weighted random sample instead of strictly most
    /// informative first: items drawn with probability proportional to
    /// informativeness^`sampling_power` (see `ScoredItem::stochastic_priority`); 0 is uniform,
    /// large values approach strictly most informative first. In [0, 100]. Default: none.
    pub sampling_power: Option<f64>,
    /// Standard errors below the estimated precision the chosen threshold must still reach
    /// the target at (one-sided; 1.645 = 95 % confidence, 0 = trust the point estimate).
    /// Also the z of the outlier-class test. Default: 1.645.
    pub precision_confidence_z: f64,
    /// Stop auto-labeling a label whose validation pairs at confidence >= `validation_band`
    /// the humans rejected
    /// significantly more often than the pairs' confidences say, relative to the other labels
    /// (one-sided test at `precision_confidence_z`; `threshold::outlier_classes`), until a
    /// later recalibration clears it; its documents go to humans. One threshold cannot stop
    /// one systematically confused class from sinking the precision of all auto-labels.
    /// Default: true.
    pub suspend_outlier_classes: bool,
    /// Validation pairs a label needs before the outlier test judges it. Default: 10.
    pub class_min_pairs: usize,
    /// The most auto-labels a label may get while the outlier test cannot judge it yet (fewer
    /// than `class_min_pairs` validation pairs at confidence >= `validation_band` at the last
    /// (re)calibration, or none yet); past it, that label's confident documents go to humans
    /// like a suspended label's until it is judged. Bounds what one systematically confused
    /// label can do before the evidence against it exists (one run let 269 wrong auto-labels
    /// through before the test caught the class). `null` = no cap. Default: `null`: the
    /// active-learning figures (bench/queue) were measured without it.
    pub unjudged_class_auto_labels: Option<u64>,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            auto_label_threshold: 0.99,
            target_precision: 0.95,
            min_support: 50,
            fallback_threshold: 0.99,
            audit_rate: 0.05,
            strategy: SamplingStrategy::Margin,
            validation_window: 10_000,
            min_gold_answers: 30,
            validation_band: 0.9,
            validation_rate: 0.3,
            validation_target: 1000,
            validation_max_share: 0.1,
            sampling_power: None,
            precision_confidence_z: 1.645,
            suspend_outlier_classes: true,
            class_min_pairs: 10,
            unjudged_class_auto_labels: None,
        }
    }
}

/// How leases are spread over topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Diversity {
    /// Strictly most informative first, whatever the topic.
    None,
    /// Leases rotate over dominant-topic buckets; within a bucket, most informative first.
    RoundRobin,
}

/// How the labels of several annotators become one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsensusMethod {
    /// Majority vote; an exact tie asks one more annotator (up to `max_overlap`).
    Majority,
    /// Dawid–Skene EM over the recent multi-annotator history (and gold answers), which
    /// down-weights unreliable annotators. Falls back to majority until the history holds
    /// `dawid_skene_min_items` items.
    DawidSkene,
}

/// Default [`QueueConfig::freshness`]: roughly the last 20 classifier versions' tasks compete
/// on informativeness. On 20 Newsgroups with the Subject/quote words, margin sampling then
/// needed 16-23 % fewer labels than random for random's final accuracy in four of five seeds
/// (the fifth 0.1 point short), against 6-19 % and once not reached with strictly
/// newest-first 1.0 (bench/queue/RESULTS.md, session 5). Those runs let the annotators choose
/// before each streamed chunk reached the queue; after that fix and the probe cap
/// (`validation_max_share`), margin needs 14-15 % fewer labels at 500-760 labels and ~8 % at
/// random's final accuracy (session 7, seven runs). 1.0 has not been rerun on the fixed bench.
pub const FRESHNESS_DEFAULT: f64 = 0.05;

/// The human task queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueConfig {
    /// Maximum open routine tasks; beyond it the least informative untouched task is evicted.
    /// Default: 10000.
    pub capacity: usize,
    /// Maximum share of `capacity` one dominant topic may hold (at least one task). Default: 0.25.
    pub max_topic_share: f64,
    /// Lease order across topics. Default: `none` (strict priority; `max_topic_share` still
    /// keeps one topic from flooding the queue). Measured on 20 Newsgroups, rotating over
    /// topic buckets undid uncertainty sampling: margin sampling then needed *more* labels than
    /// random for the same accuracy (bench/queue/RESULTS.md).
    pub diversity: Diversity,
    /// Priority a task gains per classifier version that scored it, on top of its
    /// informativeness (see [`ScoredItem::priority`](crate::ScoredItem::priority)): 0 ignores
    /// staleness; >= 1 asks everything the newest classifier scored first (margin and
    /// least-confidence informativeness are at most 1). Default: 0.05 ([`FRESHNESS_DEFAULT`]).
    pub freshness: f64,
    /// Maximum open audit tasks; beyond it the oldest untouched audit is evicted. Default: 1000.
    pub audit_capacity: usize,
    /// Lease time to live, and what an extension adds from the time of the call. Default: 300000 (5 min).
    pub lease_ttl_ms: u64,
    /// Leases one annotator may hold at once; at the limit `lease` returns the oldest held one
    /// again (a page reload resumes work). Default: 1.
    pub max_active_leases_per_annotator: usize,
    /// Distinct annotators per routine task. Default: 1.
    pub overlap: usize,
    /// Distinct annotators per audit task. Default: 1.
    pub audit_overlap: usize,
    /// Majority ties add one annotator, up to this many in total. Default: 5.
    pub max_overlap: usize,
    /// A task skipped by this many annotators (without any label) is dropped. Default: 3.
    pub max_skips_per_task: usize,
    /// Fraction of each annotator's leases that are gold items (when one they have not seen
    /// exists). Default: 0.05.
    pub gold_rate: f64,
    /// Consensus method for overlapping labels. Default: `majority`.
    pub consensus: ConsensusMethod,
    /// EM iterations of Dawid–Skene. Default: 10.
    pub dawid_skene_iterations: usize,
    /// Multi-annotator items the history needs before Dawid–Skene is trusted. Default: 20.
    pub dawid_skene_min_items: usize,
    /// Finalized multi-annotator (and gold) items kept for Dawid–Skene and kappa. Default: 2000.
    pub history_window: usize,
    /// Submission receipts kept for idempotent retries and replays. Default: 100000.
    pub receipt_window: usize,
    /// Label events for tasks not yet seen (replay order) kept until their document arrives.
    /// Default: 10000.
    pub pending_event_window: usize,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            capacity: 10_000,
            max_topic_share: 0.25,
            diversity: Diversity::None,
            freshness: FRESHNESS_DEFAULT,
            audit_capacity: 1_000,
            lease_ttl_ms: 300_000,
            max_active_leases_per_annotator: 1,
            overlap: 1,
            audit_overlap: 1,
            max_overlap: 5,
            max_skips_per_task: 3,
            gold_rate: 0.05,
            consensus: ConsensusMethod::Majority,
            dawid_skene_iterations: 10,
            dawid_skene_min_items: 20,
            history_window: 2_000,
            receipt_window: 100_000,
            pending_event_window: 10_000,
        }
    }
}

/// How an annotator is paid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "per", rename_all = "snake_case", deny_unknown_fields)]
pub enum Rate {
    /// A fixed amount per submitted label (skips are free).
    Label { usd: f64 },
    /// Measured time from lease to submit (or skip), capped per item.
    Hour { usd: f64 },
}

/// Money.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CostConfig {
    /// Rate of annotators without an entry in `annotator_rates`. Default: 0.05 USD per label.
    pub default_rate: Rate,
    /// Per-annotator rates. Default: empty.
    pub annotator_rates: BTreeMap<String, Rate>,
    /// Billable time per item is capped here (a forgotten tab is not paid). Default: 600000 (10 min).
    pub max_billable_ms: u64,
    /// Cost of one machine label (compute). Default: 0.0001 USD.
    pub model_cost_per_label_usd: f64,
    /// Total spend (human + model) after which routine items stop going to humans; audits and
    /// gold continue. Default: none (unlimited).
    pub budget_usd: Option<f64>,
    /// Stop routine human labeling when the estimated accuracy gain per USD falls below this.
    /// Default: none (never).
    pub min_gain_per_usd: Option<f64>,
    /// Assumed seconds per label for per-hour rates before any label is measured. Default: 30.
    pub assumed_seconds_per_label: f64,
}

impl Default for CostConfig {
    fn default() -> Self {
        CostConfig {
            default_rate: Rate::Label { usd: 0.05 },
            annotator_rates: BTreeMap::new(),
            max_billable_ms: 600_000,
            model_cost_per_label_usd: 0.0001,
            budget_usd: None,
            min_gain_per_usd: None,
            assumed_seconds_per_label: 30.0,
        }
    }
}

impl CostConfig {
    /// The rate that applies to `annotator`.
    pub fn rate_for(&self, annotator: &str) -> Rate {
        self.annotator_rates
            .get(annotator)
            .copied()
            .unwrap_or(self.default_rate)
    }
}

fn check(ok: bool, what: &str) -> Result<(), CurationError> {
    if ok {
        Ok(())
    } else {
        Err(CurationError::InvalidConfig(what.to_string()))
    }
}

fn unit(x: f64) -> bool {
    (0.0..=1.0).contains(&x)
}

fn rate_ok(rate: &Rate) -> bool {
    match rate {
        Rate::Label { usd } | Rate::Hour { usd } => usd.is_finite() && *usd >= 0.0,
    }
}

impl CurationConfig {
    /// Rejects configurations that cannot work, naming the first offending field.
    pub fn validate(&self) -> Result<(), CurationError> {
        check(!self.labels.is_empty(), "labels must not be empty")?;
        let mut sorted = self.labels.clone();
        sorted.sort();
        sorted.dedup();
        check(sorted.len() == self.labels.len(), "labels must be distinct")?;
        check(
            self.labels.iter().all(|l| !l.is_empty()),
            "labels must be non-empty strings",
        )?;
        let r = &self.routing;
        check(
            unit(r.auto_label_threshold),
            "routing.auto_label_threshold must be in [0, 1]",
        )?;
        check(
            unit(r.target_precision),
            "routing.target_precision must be in [0, 1]",
        )?;
        check(
            unit(r.fallback_threshold),
            "routing.fallback_threshold must be in [0, 1]",
        )?;
        check(unit(r.audit_rate), "routing.audit_rate must be in [0, 1]")?;
        check(
            unit(r.validation_band),
            "routing.validation_band must be in [0, 1]",
        )?;
        check(
            unit(r.validation_rate),
            "routing.validation_rate must be in [0, 1]",
        )?;
        check(
            unit(r.validation_max_share),
            "routing.validation_max_share must be in [0, 1]",
        )?;
        check(
            r.sampling_power
                .is_none_or(|p| p.is_finite() && (0.0..=100.0).contains(&p)),
            "routing.sampling_power must be in [0, 100]",
        )?;
        check(
            r.precision_confidence_z.is_finite()
                && (0.0..=10.0).contains(&r.precision_confidence_z),
            "routing.precision_confidence_z must be in [0, 10]",
        )?;
        let q = &self.queue;
        check(q.capacity >= 1, "queue.capacity must be >= 1")?;
        check(
            q.freshness.is_finite() && q.freshness >= 0.0,
            "queue.freshness must be finite and >= 0",
        )?;
        check(
            q.max_topic_share > 0.0 && q.max_topic_share <= 1.0,
            "queue.max_topic_share must be in (0, 1]",
        )?;
        check(q.lease_ttl_ms >= 1, "queue.lease_ttl_ms must be >= 1")?;
        check(
            q.max_active_leases_per_annotator >= 1,
            "queue.max_active_leases_per_annotator must be >= 1",
        )?;
        check(q.overlap >= 1, "queue.overlap must be >= 1")?;
        check(q.audit_overlap >= 1, "queue.audit_overlap must be >= 1")?;
        check(
            q.max_overlap >= q.overlap.max(q.audit_overlap),
            "queue.max_overlap must be >= overlap and audit_overlap",
        )?;
        check(
            q.max_skips_per_task >= 1,
            "queue.max_skips_per_task must be >= 1",
        )?;
        check(unit(q.gold_rate), "queue.gold_rate must be in [0, 1]")?;
        check(
            q.dawid_skene_iterations >= 1,
            "queue.dawid_skene_iterations must be >= 1",
        )?;
        let c = &self.cost;
        check(
            rate_ok(&c.default_rate),
            "cost.default_rate must be finite and >= 0",
        )?;
        check(
            c.annotator_rates.values().all(rate_ok),
            "cost.annotator_rates must be finite and >= 0",
        )?;
        check(
            c.model_cost_per_label_usd.is_finite() && c.model_cost_per_label_usd >= 0.0,
            "cost.model_cost_per_label_usd must be finite and >= 0",
        )?;
        check(
            c.budget_usd.is_none_or(|b| b.is_finite() && b >= 0.0),
            "cost.budget_usd must be finite and >= 0",
        )?;
        check(
            c.assumed_seconds_per_label.is_finite() && c.assumed_seconds_per_label > 0.0,
            "cost.assumed_seconds_per_label must be > 0",
        )?;
        Ok(())
    }

    /// Index of `label` in the label set.
    pub fn label_index(&self, label: &str) -> Option<usize> {
        self.labels.iter().position(|l| l == label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_json_uses_documented_defaults() {
        let cfg: CurationConfig =
            serde_json::from_str(r#"{"labels":["a","b"],"queue":{"overlap":3}}"#).unwrap();
        assert_eq!(cfg.queue.overlap, 3);
        assert_eq!(cfg.queue.capacity, 10_000);
        assert_eq!(cfg.routing.target_precision, 0.95);
        assert_eq!(cfg.routing.audit_rate, 0.05);
        assert_eq!(cfg.cost.default_rate, Rate::Label { usd: 0.05 });
        cfg.validate().unwrap();
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = serde_json::from_str::<CurationConfig>(r#"{"queue":{"overlapp":3}}"#);
        assert!(err.is_err());
    }

    #[test]
    fn rates_parse_from_tagged_json() {
        let cfg: CostConfig = serde_json::from_str(
            r#"{"default_rate":{"per":"hour","usd":12.0},"annotator_rates":{"ann":{"per":"label","usd":0.1}}}"#,
        )
        .unwrap();
        assert_eq!(cfg.rate_for("x"), Rate::Hour { usd: 12.0 });
        assert_eq!(cfg.rate_for("ann"), Rate::Label { usd: 0.1 });
    }

    #[test]
    fn validation_names_the_field() {
        let cfg = CurationConfig::default();
        assert!(
            matches!(cfg.validate(), Err(CurationError::InvalidConfig(m)) if m.contains("labels"))
        );
        let mut cfg = CurationConfig {
            labels: vec!["a".into()],
            ..Default::default()
        };
        cfg.queue.overlap = 9;
        assert!(
            matches!(cfg.validate(), Err(CurationError::InvalidConfig(m)) if m.contains("max_overlap"))
        );
    }
}
