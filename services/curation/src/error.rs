//! The one error type of the crate. Every variant maps to exactly one HTTP status so the
//! labeling-queue service can turn a `CurationError` into a response without a match of its own.

use serde::{Deserialize, Serialize};

/// Why an operation on the curation state was refused. Refusals never change the state.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CurationError {
    /// The configuration cannot work (e.g. an empty label set, a rate outside [0, 1]).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A scored document is malformed (empty id, NaN confidence, ...).
    #[error("invalid item: {0}")]
    InvalidItem(String),
    /// An annotator name is empty or otherwise unusable.
    #[error("invalid annotator: {0}")]
    InvalidAnnotator(String),
    /// A label (from an annotator, the model or a gold item) is not in the configured label set.
    #[error("unknown label {label:?}")]
    UnknownLabel { label: String },
    /// No open task (or gold item) has this id, e.g. it was finalized, evicted or never existed.
    #[error("task {task_id} not found")]
    NotFound { task_id: String },
    /// The caller holds no lease on this task. Other annotators' leases are invisible to them.
    #[error("task {task_id} is not leased by {annotator}")]
    NotLeasedByCaller { task_id: String, annotator: String },
    /// The caller's lease ran out before this call; the task went back to the queue.
    #[error("lease of {annotator} on task {task_id} expired")]
    LeaseExpired { task_id: String, annotator: String },
    /// The request contradicts what was already recorded (a different label for a task the
    /// annotator already answered, a gold item re-added with another answer, ...).
    #[error("conflict on {task_id}: {reason}")]
    Conflict { task_id: String, reason: String },
    /// The budget is spent and nothing but routine work is left, which is no longer leased.
    #[error("budget exhausted: spent {spent_usd:.4} of {budget_usd:.4} USD")]
    BudgetExhausted { spent_usd: f64, budget_usd: f64 },
}

impl CurationError {
    /// The HTTP status an API should answer with.
    pub fn http_status(&self) -> u16 {
        match self {
            CurationError::InvalidConfig(_) => 500,
            CurationError::InvalidItem(_) | CurationError::InvalidAnnotator(_) => 400,
            CurationError::UnknownLabel { .. } => 422,
            CurationError::NotFound { .. } => 404,
            CurationError::NotLeasedByCaller { .. } => 403,
            CurationError::LeaseExpired { .. } => 410,
            CurationError::Conflict { .. } => 409,
            CurationError::BudgetExhausted { .. } => 402,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_distinct_per_client_error_kind() {
        let e = CurationError::NotLeasedByCaller {
            task_id: "t".into(),
            annotator: "a".into(),
        };
        assert_eq!(e.http_status(), 403);
        let c = CurationError::Conflict {
            task_id: "t".into(),
            reason: "x".into(),
        };
        assert_eq!(c.http_status(), 409);
        assert_eq!(
            CurationError::NotFound {
                task_id: "t".into()
            }
            .http_status(),
            404
        );
    }
}
