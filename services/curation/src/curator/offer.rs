//! Routing a scored document: auto-label (maybe audit), queue for humans, or drop.

use std::collections::{BTreeMap, BTreeSet};

use super::index::PKey;
use super::state::Task;
use super::Curator;
use crate::error::CurationError;
use crate::hashing::{doc_fingerprint, is_audit_sample, is_validation_sample, task_id_for_doc};
use crate::item::{ScoredItem, TaskKind};
use crate::records::{CompletedLabel, DropReason, Evicted, LabelSource, Routing};

/// Added to a validation probe's priority: above any strategy priority (at most
/// 2^30 versions x freshness 1024 + informativeness 1023 < 2^41), exact in an f64.
pub(super) const VALIDATION_PRIORITY: f64 = (1u64 << 41) as f64;

impl Curator {
    /// Routes one scored document. Idempotent per `doc_id`: a redelivered or replayed document
    /// returns [`Routing::AlreadySeen`] and changes nothing.
    ///
    /// - Model label with confidence `>=` the threshold: a model [`CompletedLabel`] goes to the
    ///   outbox; a stable-hash sample (`audit_rate`) also becomes an audit task.
    /// - Otherwise, unless routine labeling is stopped (plateau, budget, gain per USD), a
    ///   routine task, making room by evicting less informative untouched tasks (per topic
    ///   first, then overall).
    /// - If replayed label events already name this document's task, it is recreated as that
    ///   kind regardless of threshold, stop state or capacity, so a rebuild matches history.
    pub fn offer(&mut self, item: ScoredItem, now_ms: u64) -> Result<Routing, CurationError> {
        self.check_item(&item)?;
        let task_id = task_id_for_doc(&item.doc_id);
        if !self.state.seen.insert(doc_fingerprint(&item.doc_id)) {
            self.state.counters.already_seen += 1;
            return Ok(Routing::AlreadySeen { task_id });
        }
        self.state.counters.offered += 1;

        // A replay tells us how this document was routed the first time.
        let replayed_kind = self
            .state
            .pending_events
            .get(&task_id)
            .and_then(|events| events.first())
            .map(|e| e.kind);

        let confident = item
            .label
            .as_ref()
            .filter(|label| item.confidence >= self.state.threshold && !self.is_suspended(label))
            .cloned();
        let confident = match confident {
            Some(label) if self.is_capped_unjudged(&label) => {
                self.state.counters.capped_unjudged += 1;
                None
            }
            other => other,
        };
        let auto_label = match replayed_kind {
            Some(TaskKind::Routine) => None,
            Some(_) => item.label.clone(),
            None => confident,
        };

        if let Some(label) = auto_label {
            self.emit_model_label(&item, &label, now_ms);
            let audit = match replayed_kind {
                Some(kind) => kind == TaskKind::Audit,
                None => is_audit_sample(&item.doc_id, self.config.routing.audit_rate),
            };
            if audit && self.make_audit_room(replayed_kind.is_some()) {
                self.insert_task(&item, &task_id, TaskKind::Audit, 0.0);
                self.state.counters.audits_created += 1;
                self.apply_pending(&task_id);
                return Ok(Routing::Audit { label, task_id });
            }
            return Ok(Routing::AutoLabeled { label });
        }

        let forced = replayed_kind.is_some();
        if !forced {
            if let Some(reason) = self.routing_stopped() {
                self.state.counters.dropped_routing_stopped += 1;
                return Ok(Routing::Dropped { reason });
            }
        }
        let score = self.routine_priority(&item);
        let topic = item.dominant_topic();
        let candidate: PKey = (
            std::cmp::Reverse(score.to_bits()),
            self.state.next_seq,
            task_id.clone(),
        );
        let evicted = if forced {
            Vec::new()
        } else {
            match self.make_room(&candidate, topic) {
                Ok(evicted) => evicted,
                Err(reason) => {
                    match reason {
                        DropReason::TopicFull => self.state.counters.dropped_topic_full += 1,
                        _ => self.state.counters.dropped_queue_full += 1,
                    }
                    return Ok(Routing::Dropped { reason });
                }
            }
        };
        self.insert_task(&item, &task_id, TaskKind::Routine, score);
        self.state.counters.queued += 1;
        // `score` is the priority the task was queued with: a probe's carries the offset.
        if score >= VALIDATION_PRIORITY {
            self.state.counters.validation_probes_queued += 1;
        }
        self.apply_pending(&task_id);
        Ok(Routing::Queued { task_id, evicted })
    }

    /// A valid item whose label (if any) is in the label set.
    pub(super) fn check_item(&self, item: &ScoredItem) -> Result<(), CurationError> {
        item.validate()?;
        match &item.label {
            Some(label) if self.config.label_index(label).is_none() => {
                Err(CurationError::UnknownLabel {
                    label: label.clone(),
                })
            }
            _ => Ok(()),
        }
    }

    /// A routine task's priority: the strategy's (see [`ScoredItem::priority`]), unless the
    /// document is in the validation sample just below the threshold, which goes first.
    pub(super) fn routine_priority(&self, item: &ScoredItem) -> f64 {
        let (strategy, freshness) = (self.config.routing.strategy, self.config.queue.freshness);
        let base = match self.config.routing.sampling_power {
            Some(power) => item.stochastic_priority(strategy, freshness, power),
            None => item.priority(strategy, freshness),
        };
        if self.is_validation_probe(item) {
            VALIDATION_PRIORITY + base
        } else {
            base
        }
    }

    /// Confident enough to be a candidate for a lower threshold, not confident enough to be
    /// auto-labeled now, in the stable-hash sample, the band still short of evidence, and
    /// probes below their share of the human work.
    fn is_validation_probe(&self, item: &ScoredItem) -> bool {
        let r = &self.config.routing;
        let counters = &self.state.counters;
        self.state.band_pairs < r.validation_target
            && (r.validation_max_share >= 1.0
                || (counters.validation_probes_queued as f64)
                    < r.validation_max_share * counters.finalized_routine as f64)
            && item.label.is_some()
            && item.confidence >= r.validation_band
            && item.confidence < self.state.threshold
            && is_validation_sample(&item.doc_id, r.validation_rate)
    }

    fn emit_model_label(&mut self, item: &ScoredItem, label: &str, now_ms: u64) {
        let cost = self.config.cost.model_cost_per_label_usd;
        self.state.ledger.model_spend_usd += cost;
        self.state.ledger.model_labels += 1;
        self.state.counters.auto_labeled += 1;
        *self
            .state
            .auto_labels_by_class
            .entry(label.to_string())
            .or_default() += 1;
        self.state.outbox.push_back(CompletedLabel {
            label_id: format!("{}/model", item.doc_id),
            doc_id: item.doc_id.clone(),
            text: item.text.clone(),
            task_id: None,
            label: label.to_string(),
            source: LabelSource::Model,
            confidence: item.confidence,
            agreement: None,
            annotators: Vec::new(),
            machine_label: Some(label.to_string()),
            supersedes_model: false,
            cost_usd: cost,
            model_version: item.model_version.clone(),
            classifier_version: item.classifier_version.clone(),
            finalized_at_ms: now_ms,
        });
    }

    /// Queues `item` as a task of `kind` with priority `score` (the one its eviction key was
    /// built from; audits are ordered by age alone and take 0).
    fn insert_task(&mut self, item: &ScoredItem, task_id: &str, kind: TaskKind, score: f64) {
        let need = match kind {
            TaskKind::Routine => self.config.queue.overlap,
            _ => self.config.queue.audit_overlap,
        };
        let task = Task {
            task_id: task_id.to_string(),
            doc_id: item.doc_id.clone(),
            kind,
            text: item.text.clone(),
            machine_label: item.label.clone(),
            confidence: item.confidence,
            score,
            topic: item.dominant_topic(),
            seq: self.next_seq(),
            model_version: item.model_version.clone(),
            classifier_version: item.classifier_version.clone(),
            need,
            leases: BTreeMap::new(),
            judgments: Vec::new(),
            skipped_by: BTreeSet::new(),
            gold_label: None,
        };
        self.index.insert_task(&task);
        self.state.tasks.insert(task.task_id.clone(), task);
    }

    /// Frees a slot in the audit queue by evicting the oldest untouched audit; false when the
    /// queue is full of audits in progress (the model label stands unaudited). `force` (replay)
    /// always makes room by overfilling.
    fn make_audit_room(&mut self, force: bool) -> bool {
        if force || self.index.audits.len() < self.config.queue.audit_capacity {
            return true;
        }
        let victim = self
            .index
            .audits
            .iter()
            .map(|(_, id)| id)
            .find(|id| self.state.tasks.get(*id).is_some_and(Task::evictable))
            .cloned();
        self.state.counters.audits_evicted += 1;
        match victim {
            Some(id) => {
                self.remove_task(&id);
                true
            }
            None => false,
        }
    }

    /// Decides which untouched tasks to evict so `candidate` fits: first within its topic's
    /// share, then overall. Nothing changes unless the candidate is admitted; ties keep the
    /// older task.
    fn make_room(
        &mut self,
        candidate: &PKey,
        topic: Option<u32>,
    ) -> Result<Vec<Evicted>, DropReason> {
        let q = &self.config.queue;
        let topic_cap = ((q.max_topic_share * q.capacity as f64).ceil() as usize).max(1);
        let least_informative = |keys: &mut dyn DoubleEndedIterator<Item = &PKey>,
                                 skip: Option<&PKey>|
         -> Option<PKey> {
            keys.rev()
                .filter(|k| Some(*k) != skip)
                .find(|k| self.state.tasks.get(&k.2).is_some_and(Task::evictable))
                .cloned()
        };

        let mut victims: Vec<PKey> = Vec::new();
        let bucket_len = self.index.buckets.get(&topic).map_or(0, |b| b.len());
        if bucket_len >= topic_cap {
            let victim = self
                .index
                .buckets
                .get(&topic)
                .and_then(|b| least_informative(&mut b.iter(), None));
            match victim {
                Some(v) if v > *candidate => victims.push(v),
                _ => return Err(DropReason::TopicFull),
            }
        }
        if self.index.all.len() - victims.len() >= q.capacity {
            let victim = least_informative(&mut self.index.all.iter(), victims.first());
            match victim {
                Some(v) if v > *candidate => victims.push(v),
                _ => return Err(DropReason::QueueFull),
            }
        }

        let mut evicted = Vec::new();
        for key in victims {
            if let Some(task) = self.remove_task(&key.2) {
                self.state.counters.evicted += 1;
                evicted.push(Evicted {
                    task_id: task.task_id,
                    doc_id: task.doc_id,
                    kind: task.kind,
                    informativeness: task.score,
                });
            }
        }
        Ok(evicted)
    }

    /// Removes an open task and its index entries and leases.
    pub(super) fn remove_task(&mut self, task_id: &str) -> Option<Task> {
        let task = self.state.tasks.remove(task_id)?;
        self.index.remove_task(&task);
        Some(task)
    }
}
