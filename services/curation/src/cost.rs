//! Money: pricing one judgment, the running ledger, and the summary the business watches
//! (spend and cost per label by source, budget, accuracy gain per dollar).

use serde::{Deserialize, Serialize};

use crate::config::{CostConfig, Rate};

/// The price of one human action. Per-hour rates pay measured time (capped); per-label rates
/// pay labels only, so a skip is free for them.
pub fn price(rate: Rate, billable_ms: u64, is_label: bool) -> f64 {
    match rate {
        Rate::Label { usd } => {
            if is_label {
                usd
            } else {
                0.0
            }
        }
        Rate::Hour { usd } => usd * billable_ms as f64 / 3_600_000.0,
    }
}

/// Lease-to-action time, capped so an abandoned tab does not run up a bill.
pub fn billable_ms(leased_at_ms: u64, at_ms: u64, cap_ms: u64) -> u64 {
    at_ms.saturating_sub(leased_at_ms).min(cap_ms)
}

/// Running totals. Part of the snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct CostLedger {
    /// Everything paid to annotators: routine, audit and gold judgments, and paid skips.
    pub human_spend_usd: f64,
    pub model_spend_usd: f64,
    /// Finalized human labels (routine and audit tasks).
    pub human_labels: u64,
    /// Machine labels (auto-labels, including audited ones).
    pub model_labels: u64,
    /// Finalized routine human labels (documents that only humans labeled).
    pub human_only_docs: u64,
    /// Human judgments paid for (including gold and each overlapping judgment).
    pub human_judgments: u64,
    /// Total billable time of labeled human judgments, for the per-hour cost estimate.
    pub human_label_ms: u64,
}

/// Spend and unit costs, by source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostSummary {
    pub human_spend_usd: f64,
    pub model_spend_usd: f64,
    pub total_spend_usd: f64,
    /// Finalized human labels (routine + audit). Gold answers and overlap are overhead.
    pub human_labels: u64,
    pub model_labels: u64,
    /// Documents with a label: auto-labeled + human-only routine.
    pub labeled_docs: u64,
    pub human_judgments: u64,
    /// `human_spend / human_labels`: the true price of a human label, overhead included.
    pub cost_per_label_human_usd: Option<f64>,
    /// `model_spend / model_labels`.
    pub cost_per_label_model_usd: Option<f64>,
    /// `total_spend / labeled_docs`.
    pub cost_per_label_all_usd: Option<f64>,
    pub budget_usd: Option<f64>,
    pub budget_remaining_usd: Option<f64>,
    /// Caller-supplied learning-curve slope: accuracy gained per 100 more human labels.
    pub accuracy_gain_per_100_labels: Option<f64>,
    /// `gain_per_100 / (100 * human cost per label)` (measured, else the configured rate).
    pub accuracy_gain_per_usd: Option<f64>,
}

impl CostLedger {
    /// Human cost of one more label: measured if any human label exists, otherwise what the
    /// default rate implies.
    pub fn human_cost_per_label(&self, cfg: &CostConfig) -> f64 {
        if self.human_labels > 0 {
            return self.human_spend_usd / self.human_labels as f64;
        }
        match cfg.default_rate {
            Rate::Label { usd } => usd,
            Rate::Hour { usd } => usd * cfg.assumed_seconds_per_label / 3600.0,
        }
    }

    pub fn total(&self) -> f64 {
        self.human_spend_usd + self.model_spend_usd
    }

    pub fn gain_per_usd(&self, cfg: &CostConfig, gain_per_100: Option<f64>) -> Option<f64> {
        let gain = gain_per_100?;
        let per_label = self.human_cost_per_label(cfg);
        if !gain.is_finite() {
            return None;
        }
        if per_label <= 0.0 {
            // Free labels: any positive gain is infinitely cheap; report it as such.
            return Some(if gain > 0.0 { f64::INFINITY } else { 0.0 });
        }
        Some(gain / (100.0 * per_label))
    }

    pub fn summary(&self, cfg: &CostConfig, gain_per_100: Option<f64>) -> CostSummary {
        let ratio = |spend: f64, n: u64| (n > 0).then(|| spend / n as f64);
        let labeled_docs = self.model_labels + self.human_only_docs;
        CostSummary {
            human_spend_usd: self.human_spend_usd,
            model_spend_usd: self.model_spend_usd,
            total_spend_usd: self.total(),
            human_labels: self.human_labels,
            model_labels: self.model_labels,
            labeled_docs,
            human_judgments: self.human_judgments,
            cost_per_label_human_usd: ratio(self.human_spend_usd, self.human_labels),
            cost_per_label_model_usd: ratio(self.model_spend_usd, self.model_labels),
            cost_per_label_all_usd: ratio(self.total(), labeled_docs),
            budget_usd: cfg.budget_usd,
            budget_remaining_usd: cfg.budget_usd.map(|b| (b - self.total()).max(0.0)),
            accuracy_gain_per_100_labels: gain_per_100,
            accuracy_gain_per_usd: self.gain_per_usd(cfg, gain_per_100),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_label_and_per_hour_pricing() {
        assert_eq!(price(Rate::Label { usd: 0.1 }, 999_999, true), 0.1);
        assert_eq!(price(Rate::Label { usd: 0.1 }, 999_999, false), 0.0);
        // 90 s at 20 USD/h = 0.5 USD.
        assert!((price(Rate::Hour { usd: 20.0 }, 90_000, true) - 0.5).abs() < 1e-12);
        assert_eq!(billable_ms(1_000, 5_000, 60_000), 4_000);
        assert_eq!(billable_ms(0, 10_000_000, 600_000), 600_000);
        assert_eq!(billable_ms(5_000, 1_000, 600_000), 0);
    }

    #[test]
    fn gain_per_usd_uses_measured_cost_once_available() {
        let cfg = CostConfig::default(); // 0.05 USD per label
        let mut ledger = CostLedger::default();
        // 0.01 accuracy per 100 labels at 0.05 USD each = 0.01 / 5 USD.
        let g = ledger.gain_per_usd(&cfg, Some(0.01)).unwrap();
        assert!((g - 0.002).abs() < 1e-12);
        ledger.human_spend_usd = 20.0;
        ledger.human_labels = 100;
        let g = ledger.gain_per_usd(&cfg, Some(0.01)).unwrap();
        assert!((g - 0.0005).abs() < 1e-12);
        assert_eq!(ledger.gain_per_usd(&cfg, None), None);
    }
}
