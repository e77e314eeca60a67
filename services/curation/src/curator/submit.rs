//! Answers: labels, skips and replayed label events, and what they finalize.
//!
//! Every accepted judgment becomes a [`LabelEvent`] and a receipt keyed by (task, annotator).
//! `submit`/`skip` check the caller's lease, then hand the event to [`Curator::record`], which
//! is also what [`Curator::apply_label_event`] calls on replay: live and replayed judgments go
//! through the same code and count exactly once.

use std::collections::BTreeMap;

use super::offer::VALIDATION_PRIORITY;
use super::state::{receipt_key, HistoryItem, Judgment, Task};
use super::Curator;
use crate::config::ConsensusMethod;
use crate::consensus::{argmax, dawid_skene, majority_vote, DsItem};
use crate::cost::{billable_ms, price};
use crate::error::CurationError;
use crate::item::TaskKind;
use crate::records::{
    Action, ApplyOutcome, CompletedLabel, LabelEvent, LabelSource, SubmitOutcome, TaskStatus,
};
use crate::threshold::{wilson_interval, ValidationPair};

impl Curator {
    /// Records `annotator`'s `label` for a task they lease. Retrying with the same label returns
    /// the first outcome (`duplicate: true`) and counts nothing; another label is a `Conflict`.
    /// Publish `outcome.event` (unless `duplicate`) to the label-events topic.
    pub fn submit(
        &mut self,
        task_id: &str,
        annotator: &str,
        label: &str,
        now_ms: u64,
    ) -> Result<SubmitOutcome, CurationError> {
        Self::validate_annotator(annotator)?;
        if self.config.label_index(label).is_none() {
            return Err(CurationError::UnknownLabel {
                label: label.to_string(),
            });
        }
        let action = Action::Label {
            label: label.to_string(),
        };
        if let Some(outcome) = self.receipt(task_id, annotator, &action)? {
            return Ok(outcome);
        }
        self.act(task_id, annotator, action, now_ms)
    }

    /// Skips a leased task: it will not be offered to this annotator again. Idempotent like
    /// `submit`. Per-hour annotators are paid for the time; per-label ones are not.
    pub fn skip(
        &mut self,
        task_id: &str,
        annotator: &str,
        now_ms: u64,
    ) -> Result<SubmitOutcome, CurationError> {
        Self::validate_annotator(annotator)?;
        if let Some(outcome) = self.receipt(task_id, annotator, &Action::Skip)? {
            return Ok(outcome);
        }
        self.act(task_id, annotator, Action::Skip, now_ms)
    }

    /// Applies a label event from the log (rebuild after a crash, or another replica). Needs no
    /// lease and re-prices nothing. Idempotent by (task, annotator); an event whose task is not
    /// known yet is kept until its document is offered (or gold item added).
    pub fn apply_label_event(&mut self, event: &LabelEvent) -> Result<ApplyOutcome, CurationError> {
        Self::validate_annotator(&event.annotator)?;
        if let Action::Label { label } = &event.action {
            if self.config.label_index(label).is_none() {
                return Err(CurationError::UnknownLabel {
                    label: label.clone(),
                });
            }
        }
        if self
            .receipt(&event.task_id, &event.annotator, &event.action)?
            .is_some()
        {
            return Ok(ApplyOutcome::Duplicate);
        }
        if self.task(&event.task_id).is_none() {
            self.defer(event.clone());
            return Ok(ApplyOutcome::Deferred);
        }
        let outcome = self.record(event.clone());
        Ok(ApplyOutcome::Applied {
            status: outcome.status,
        })
    }

    /// The stored outcome of an earlier identical call, a conflict, or `None` (first time).
    fn receipt(
        &mut self,
        task_id: &str,
        annotator: &str,
        action: &Action,
    ) -> Result<Option<SubmitOutcome>, CurationError> {
        let Some(previous) = self.state.receipts.get(&receipt_key(task_id, annotator)) else {
            return Ok(None);
        };
        if previous.event.action != *action {
            return Err(CurationError::Conflict {
                task_id: task_id.to_string(),
                reason: format!("{annotator} already answered {:?}", previous.event.action),
            });
        }
        let mut outcome = previous.clone();
        outcome.duplicate = true;
        self.state.counters.duplicate_submissions += 1;
        Ok(Some(outcome))
    }

    /// Live path: check the lease, price the work, record it.
    fn act(
        &mut self,
        task_id: &str,
        annotator: &str,
        action: Action,
        now_ms: u64,
    ) -> Result<SubmitOutcome, CurationError> {
        let lease = self.check_lease(task_id, annotator, now_ms)?;
        let (doc_id, kind) = match self.task(task_id) {
            Some(t) => (t.doc_id.clone(), t.kind),
            None => {
                return Err(CurationError::NotFound {
                    task_id: task_id.to_string(),
                })
            }
        };
        let billable = billable_ms(lease.leased_at_ms, now_ms, self.config.cost.max_billable_ms);
        let is_label = matches!(action, Action::Label { .. });
        let cost_usd = price(self.config.cost.rate_for(annotator), billable, is_label);
        let event = LabelEvent {
            task_id: task_id.to_string(),
            doc_id,
            kind,
            annotator: annotator.to_string(),
            action,
            leased_at_ms: lease.leased_at_ms,
            at_ms: now_ms,
            billable_ms: billable,
            cost_usd,
        };
        Ok(self.record(event))
    }

    /// Counts one judgment whose task exists and which has no receipt yet.
    fn record(&mut self, event: LabelEvent) -> SubmitOutcome {
        let task_id = event.task_id.clone();
        let annotator = event.annotator.clone();
        if let Some(lease) = self
            .task(&task_id)
            .and_then(|t| t.leases.get(&annotator).copied())
        {
            self.drop_lease(&task_id, &annotator, lease);
        }
        let cost = if event.cost_usd.is_finite() {
            event.cost_usd.max(0.0)
        } else {
            0.0
        };
        let stats = self.annotator_entry(&annotator);
        stats.time_spent_ms += event.billable_ms;
        stats.cost_usd += cost;
        self.state.ledger.human_spend_usd += cost;

        let status = match &event.action {
            Action::Skip => self.record_skip(&task_id, &annotator),
            Action::Label { label } => {
                self.state.ledger.human_judgments += 1;
                self.state.ledger.human_label_ms += event.billable_ms;
                let is_gold = self
                    .task(&task_id)
                    .is_some_and(|t| t.kind == TaskKind::Gold);
                if is_gold {
                    self.record_gold(&task_id, &annotator, label, cost)
                } else {
                    self.record_label(&task_id, &annotator, label, cost, event.at_ms)
                }
            }
        };
        let outcome = SubmitOutcome {
            event,
            status,
            duplicate: false,
        };
        self.remember(&task_id, &annotator, outcome.clone());
        outcome
    }

    fn record_skip(&mut self, task_id: &str, annotator: &str) -> TaskStatus {
        self.annotator_entry(annotator).skips += 1;
        self.state.counters.skips += 1;
        let max_skips = self.config.queue.max_skips_per_task;
        let Some(task) = self.task_mut(task_id) else {
            return TaskStatus::Skipped { dropped: false };
        };
        task.skipped_by.insert(annotator.to_string());
        let hopeless =
            task.kind != TaskKind::Gold && task.skipped_by.len() >= max_skips && task.evictable();
        if hopeless {
            self.remove_task(task_id);
            self.state.counters.dropped_after_skips += 1;
        }
        TaskStatus::Skipped { dropped: hopeless }
    }

    fn record_gold(
        &mut self,
        task_id: &str,
        annotator: &str,
        label: &str,
        cost: f64,
    ) -> TaskStatus {
        let truth = self.task(task_id).and_then(|t| t.gold_label.clone());
        let correct = truth.as_deref() == Some(label);
        let stats = self.annotator_entry(annotator);
        stats.gold_answered += 1;
        stats.gold_correct += u64::from(correct);
        self.state.counters.gold_answers += 1;
        if let Some(task) = self.state.gold.get_mut(task_id) {
            task.judgments.push(Judgment {
                annotator: annotator.to_string(),
                label: label.to_string(),
                cost_usd: cost,
            });
        }
        // Gold answers anchor Dawid–Skene's confusion matrices.
        if let (Some(given), Some(truth)) = (
            self.config.label_index(label),
            truth.as_deref().and_then(|t| self.config.label_index(t)),
        ) {
            self.push_history(HistoryItem {
                votes: vec![(annotator.to_string(), given)],
                truth: Some(truth),
            });
        }
        TaskStatus::Gold { correct }
    }

    fn record_label(
        &mut self,
        task_id: &str,
        annotator: &str,
        label: &str,
        cost: f64,
        now_ms: u64,
    ) -> TaskStatus {
        self.annotator_entry(annotator).labels += 1;
        self.state.counters.labels_submitted += 1;
        let Some(task) = self.state.tasks.get_mut(task_id) else {
            return TaskStatus::Pending { have: 0, need: 0 };
        };
        task.judgments.push(Judgment {
            annotator: annotator.to_string(),
            label: label.to_string(),
            cost_usd: cost,
        });
        if task.judgments.len() < task.need {
            return TaskStatus::Pending {
                have: task.judgments.len(),
                need: task.need,
            };
        }
        self.try_finalize(task_id, now_ms)
    }

    /// Combines the judgments of a task that has all it needs.
    fn try_finalize(&mut self, task_id: &str, now_ms: u64) -> TaskStatus {
        let Some(task) = self.state.tasks.get(task_id) else {
            return TaskStatus::Pending { have: 0, need: 0 };
        };
        let n_labels = self.config.labels.len();
        let votes: Vec<(String, usize)> = task
            .judgments
            .iter()
            .filter_map(|j| {
                self.config
                    .label_index(&j.label)
                    .map(|l| (j.annotator.clone(), l))
            })
            .collect();
        let (label, confidence, agreement) = match self.dawid_skene_label(&votes) {
            Some(result) => result,
            None => {
                let labels: Vec<usize> = votes.iter().map(|v| v.1).collect();
                let Some(m) = majority_vote(&labels, n_labels) else {
                    return TaskStatus::Pending {
                        have: task.judgments.len(),
                        need: task.need,
                    };
                };
                if m.tied && task.need < self.config.queue.max_overlap {
                    // A tie is no answer: ask one more annotator.
                    let have = task.judgments.len();
                    let need = task.need + 1;
                    if let Some(t) = self.state.tasks.get_mut(task_id) {
                        t.need = need;
                    }
                    self.state.counters.tie_escalations += 1;
                    return TaskStatus::Pending { have, need };
                }
                (m.label, m.agreement, m.agreement)
            }
        };
        let Some(task) = self.remove_task(task_id) else {
            return TaskStatus::Pending { have: 0, need: 0 };
        };
        let final_label = self.config.labels[label].clone();
        let completed = self.finalize(task, &votes, final_label, confidence, agreement, now_ms);
        TaskStatus::Finalized {
            label: Box::new(completed),
        }
    }

    /// Dawid–Skene over the recent history plus this item: `(label, posterior, agreement)`, or
    /// `None` when not configured, single-annotator, or the history is too short to trust.
    fn dawid_skene_label(&self, votes: &[(String, usize)]) -> Option<(usize, f64, f64)> {
        let q = &self.config.queue;
        if q.consensus != ConsensusMethod::DawidSkene || votes.len() < 2 {
            return None;
        }
        let multi = self
            .state
            .history
            .iter()
            .filter(|h| h.votes.len() >= 2)
            .count();
        if multi < q.dawid_skene_min_items {
            return None;
        }
        // Annotator names to dense indices, in order of first appearance (deterministic).
        let mut annotators: BTreeMap<String, usize> = BTreeMap::new();
        let mut to_item = |votes: &[(String, usize)], truth: Option<usize>| DsItem {
            votes: votes
                .iter()
                .map(|(a, l)| {
                    let next = annotators.len();
                    (*annotators.entry(a.clone()).or_insert(next), *l)
                })
                .collect(),
            truth,
        };
        let mut items: Vec<DsItem> = self
            .state
            .history
            .iter()
            .map(|h| to_item(&h.votes, h.truth))
            .collect();
        items.push(to_item(votes, None));
        let n_annotators = annotators.len();
        let ds = dawid_skene(
            &items,
            n_annotators,
            self.config.labels.len(),
            q.dawid_skene_iterations,
        );
        let posterior = ds.posteriors.last()?;
        let label = argmax(posterior);
        let agreement = votes.iter().filter(|v| v.1 == label).count() as f64 / votes.len() as f64;
        Some((label, posterior[label], agreement))
    }

    fn finalize(
        &mut self,
        task: Task,
        votes: &[(String, usize)],
        label: String,
        confidence: f64,
        agreement: f64,
        now_ms: u64,
    ) -> CompletedLabel {
        let multi = task.judgments.len() > 1;
        for j in &task.judgments {
            if multi {
                let stats = self.annotator_entry(&j.annotator);
                stats.consensus_compared += 1;
                stats.consensus_agreed += u64::from(j.label == label);
            }
        }
        if multi {
            self.push_history(HistoryItem {
                votes: votes.to_vec(),
                truth: None,
            });
        }
        let ledger = &mut self.state.ledger;
        ledger.human_labels += 1;
        match task.kind {
            TaskKind::Audit => self.state.counters.finalized_audit += 1,
            _ => {
                ledger.human_only_docs += 1;
                self.state.counters.finalized_routine += 1;
                if task.score >= VALIDATION_PRIORITY {
                    self.state.counters.finalized_validation_probes += 1;
                }
            }
        }
        if let Some(machine) = &task.machine_label {
            let correct = *machine == label;
            if task.kind == TaskKind::Audit {
                self.state.counters.audits_agreed += u64::from(correct);
            }
            let label_accuracy = match task.judgments.as_slice() {
                [only] => self.human_accuracy_bound(&only.annotator),
                // A consensus label is taken as exact: it is more accurate than one
                // annotator, and understating its accuracy would overstate precision.
                _ => None,
            };
            let machine_class = self.config.label_index(machine).map(|i| i as u32);
            self.push_validation(ValidationPair {
                confidence: task.confidence,
                correct,
                label_accuracy,
                machine_class,
            });
        }
        // One judgment is as sure as its annotator: the gold-measured accuracy (an upper
        // bound, so downstream calibration discounts it too little rather than too much).
        let confidence = match task.judgments.as_slice() {
            [only] => self
                .human_accuracy_bound(&only.annotator)
                .unwrap_or(confidence),
            _ => confidence,
        };
        let completed = CompletedLabel {
            label_id: format!("{}/human", task.doc_id),
            doc_id: task.doc_id.clone(),
            text: task.text.clone(),
            task_id: Some(task.task_id.clone()),
            label,
            source: if multi {
                LabelSource::Consensus
            } else {
                LabelSource::Human
            },
            confidence,
            agreement: Some(agreement),
            annotators: task.judgments.iter().map(|j| j.annotator.clone()).collect(),
            machine_label: task.machine_label.clone(),
            supersedes_model: task.kind == TaskKind::Audit,
            cost_usd: task.judgments.iter().map(|j| j.cost_usd).sum(),
            model_version: task.model_version.clone(),
            classifier_version: task.classifier_version.clone(),
            finalized_at_ms: now_ms,
        };
        self.state.outbox.push_back(completed.clone());
        completed
    }

    fn push_history(&mut self, item: HistoryItem) {
        self.state.history.push_back(item);
        while self.state.history.len() > self.config.queue.history_window {
            self.state.history.pop_front();
        }
    }

    /// An upper confidence bound (90 %, one-sided Wilson) on the accuracy of `annotator`'s
    /// labels from gold answers: their own once they have `min_gold_answers`, else everyone's
    /// pooled; `None` while there are too few. An upper bound because overstating human
    /// accuracy can only understate machine precision (see [`crate::threshold`]).
    fn human_accuracy_bound(&self, annotator: &str) -> Option<f64> {
        let min = self.config.routing.min_gold_answers;
        if min == 0 {
            return None;
        }
        let own = self
            .state
            .annotators
            .get(annotator)
            .map(|a| (a.gold_correct, a.gold_answered))
            .filter(|&(_, n)| n >= min);
        let (correct, answered) = own.unwrap_or_else(|| {
            self.state.annotators.values().fold((0, 0), |(c, n), a| {
                (c + a.gold_correct, n + a.gold_answered)
            })
        });
        (answered >= min).then(|| wilson_interval(correct as f64, answered as f64, 1.2816).1)
    }

    fn push_validation(&mut self, pair: ValidationPair) {
        self.state.validation.push_back(pair);
        while self.state.validation.len() > self.config.routing.validation_window {
            self.state.validation.pop_front();
        }
    }

    fn remember(&mut self, task_id: &str, annotator: &str, outcome: SubmitOutcome) {
        let key = receipt_key(task_id, annotator);
        if self.state.receipts.insert(key.clone(), outcome).is_none() {
            self.state.receipt_order.push_back(key);
        }
        while self.state.receipt_order.len() > self.config.queue.receipt_window {
            if let Some(old) = self.state.receipt_order.pop_front() {
                self.state.receipts.remove(&old);
            }
        }
    }

    fn defer(&mut self, event: LabelEvent) {
        let entry = self
            .state
            .pending_events
            .entry(event.task_id.clone())
            .or_default();
        if entry
            .iter()
            .any(|e| e.annotator == event.annotator && e.action == event.action)
        {
            return;
        }
        if entry.is_empty() {
            self.state.pending_order.push_back(event.task_id.clone());
        }
        entry.push(event);
        while self.state.pending_order.len() > self.config.queue.pending_event_window {
            if let Some(old) = self.state.pending_order.pop_front() {
                self.state.pending_events.remove(&old);
            }
        }
    }

    /// Applies events that arrived before their task (replay order).
    pub(super) fn apply_pending(&mut self, task_id: &str) {
        let Some(events) = self.state.pending_events.remove(task_id) else {
            return;
        };
        self.state.pending_order.retain(|id| id != task_id);
        for event in events {
            // Events were validated when deferred; a conflict here means the log itself holds
            // two answers by one annotator, and the first one wins.
            let _ = self.apply_label_event(&event);
        }
    }
}
