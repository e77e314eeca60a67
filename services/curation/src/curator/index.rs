//! In-memory indexes over the task maps: priority order per topic bucket, audit order, lease
//! expiry and who holds what. Never serialized: [`Index::rebuild`] derives it from the state, so
//! a snapshot cannot disagree with its own index.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use super::state::{State, Task};
use crate::item::TaskKind;

/// Priority key: most informative first, then oldest first. Informativeness is finite and
/// >= 0 (validated), and for such floats the bit pattern orders like the value.
pub(crate) type PKey = (Reverse<u64>, u64, String);

pub(crate) fn pkey(task: &Task) -> PKey {
    (
        Reverse(task.score.max(0.0).to_bits()),
        task.seq,
        task.task_id.clone(),
    )
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    /// Open routine tasks per dominant topic.
    pub buckets: BTreeMap<Option<u32>, BTreeSet<PKey>>,
    /// All open routine tasks.
    pub all: BTreeSet<PKey>,
    /// Open audit tasks, oldest first.
    pub audits: BTreeSet<(u64, String)>,
    /// (expires_at_ms, task_id, annotator) of every lease.
    pub expiry: BTreeSet<(u64, String, String)>,
    /// annotator -> (leased_at_ms, task_id) of the leases they hold.
    pub held: BTreeMap<String, BTreeSet<(u64, String)>>,
}

impl Index {
    pub fn rebuild(state: &State) -> Index {
        let mut index = Index::default();
        for task in state.tasks.values() {
            index.insert_task(task);
        }
        for task in state.tasks.values().chain(state.gold.values()) {
            for (annotator, lease) in &task.leases {
                index.add_lease(
                    &task.task_id,
                    annotator,
                    lease.leased_at_ms,
                    lease.expires_at_ms,
                );
            }
        }
        index
    }

    pub fn insert_task(&mut self, task: &Task) {
        match task.kind {
            TaskKind::Routine => {
                let key = pkey(task);
                self.buckets
                    .entry(task.topic)
                    .or_default()
                    .insert(key.clone());
                self.all.insert(key);
            }
            TaskKind::Audit => {
                self.audits.insert((task.seq, task.task_id.clone()));
            }
            TaskKind::Gold => {}
        }
    }

    /// Removes the task and all its leases.
    pub fn remove_task(&mut self, task: &Task) {
        match task.kind {
            TaskKind::Routine => {
                let key = pkey(task);
                if let Some(bucket) = self.buckets.get_mut(&task.topic) {
                    bucket.remove(&key);
                    if bucket.is_empty() {
                        self.buckets.remove(&task.topic);
                    }
                }
                self.all.remove(&key);
            }
            TaskKind::Audit => {
                self.audits.remove(&(task.seq, task.task_id.clone()));
            }
            TaskKind::Gold => {}
        }
        for (annotator, lease) in &task.leases {
            self.remove_lease(
                &task.task_id,
                annotator,
                lease.leased_at_ms,
                lease.expires_at_ms,
            );
        }
    }

    pub fn add_lease(&mut self, task_id: &str, annotator: &str, leased_at: u64, expires_at: u64) {
        self.expiry
            .insert((expires_at, task_id.to_string(), annotator.to_string()));
        self.held
            .entry(annotator.to_string())
            .or_default()
            .insert((leased_at, task_id.to_string()));
    }

    pub fn remove_lease(
        &mut self,
        task_id: &str,
        annotator: &str,
        leased_at: u64,
        expires_at: u64,
    ) {
        self.expiry
            .remove(&(expires_at, task_id.to_string(), annotator.to_string()));
        if let Some(held) = self.held.get_mut(annotator) {
            held.remove(&(leased_at, task_id.to_string()));
            if held.is_empty() {
                self.held.remove(annotator);
            }
        }
    }

    pub fn held_by(&self, annotator: &str) -> usize {
        self.held.get(annotator).map_or(0, |h| h.len())
    }
}
