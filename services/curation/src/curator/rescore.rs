//! Re-ranking open tasks under a newer classifier.
//!
//! A task's priority is the uncertainty of the classifier that scored it when it streamed by.
//! After a refit that number is stale: the pool is ranked by many different, mostly outdated
//! classifiers, and `queue.freshness` can only prefer the newest scores, which shrinks the
//! pool active learning chooses from to the documents that arrived since the last refit. The
//! service re-scores untouched tasks with the current classifier (through the scoring API)
//! and hands the results back here, so the whole pool is ranked by one, current model, as
//! pool-based active learning assumes.

use super::Curator;
use crate::error::CurationError;
use crate::hashing::task_id_for_doc;
use crate::item::{classifier_version_number, ScoredItem, TaskKind};

/// A task to re-score: its document id and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleTask {
    pub doc_id: String,
    pub text: String,
}

impl Curator {
    /// Up to `limit` open routine tasks nobody has leased or judged yet whose classifier
    /// version is not `current`, oldest classifier version first (then queue order).
    pub fn stale_tasks(&self, current: &str, limit: usize) -> Vec<StaleTask> {
        let mut stale: Vec<(u64, u64, &str, &str)> = self
            .state
            .tasks
            .values()
            .filter(|t| {
                t.kind == TaskKind::Routine && t.evictable() && t.classifier_version != current
            })
            .map(|t| {
                (
                    classifier_version_number(&t.classifier_version),
                    t.seq,
                    t.doc_id.as_str(),
                    t.text.as_str(),
                )
            })
            .collect();
        stale.sort_unstable();
        stale
            .into_iter()
            .take(limit)
            .map(|(_, _, doc_id, text)| StaleTask {
                doc_id: doc_id.to_string(),
                text: text.to_string(),
            })
            .collect()
    }

    /// Replaces an open, untouched routine task's machine label, confidence, topic and
    /// priority with `item`'s (a fresh score of the same document). Returns false, changing
    /// nothing, when the task is gone, leased, judged or not routine (it may have been leased
    /// while the score was computed). The text is kept.
    pub fn rescore(&mut self, item: &ScoredItem) -> Result<bool, CurationError> {
        self.check_item(item)?;
        let task_id = task_id_for_doc(&item.doc_id);
        let Some(task) = self.state.tasks.get(&task_id) else {
            return Ok(false);
        };
        if task.kind != TaskKind::Routine || !task.evictable() {
            return Ok(false);
        }
        let mut task = task.clone();
        self.index.remove_task(&task);
        task.machine_label = item.label.clone();
        task.confidence = item.confidence;
        task.score = self.routine_priority(item);
        task.topic = item.dominant_topic();
        task.model_version = item.model_version.clone();
        task.classifier_version = item.classifier_version.clone();
        self.index.insert_task(&task);
        self.state.tasks.insert(task_id, task);
        self.state.counters.rescored += 1;
        Ok(true)
    }
}
