//! Leases: who may see and answer which task, for how long.
//!
//! Lease order: a gold item when one is due for this annotator (`gold_rate` of their leases,
//! the first lease included, so accuracy is measured early), then the oldest open audit, then
//! routine work by informativeness with round-robin over topic buckets. Routine work is not
//! leased while routing is stopped; audits and gold are.

use std::ops::Bound;

use super::state::{Lease, Task};
use super::Curator;
use crate::config::Diversity;
use crate::error::CurationError;
use crate::item::TaskKind;
use crate::records::{DropReason, ExpiredLease, LeasedTask};

impl Curator {
    /// Leases the next task for `annotator`. At `max_active_leases_per_annotator` it returns the
    /// oldest lease they already hold (a page reload resumes work). `Ok(None)`: nothing for them
    /// now. `Err(BudgetExhausted)`: nothing but routine work, and the budget is spent.
    pub fn lease(
        &mut self,
        annotator: &str,
        now_ms: u64,
    ) -> Result<Option<LeasedTask>, CurationError> {
        Self::validate_annotator(annotator)?;
        self.expire_leases(now_ms);
        let held = self
            .index
            .held
            .get(annotator)
            .and_then(|h| h.first().cloned());
        if self.index.held_by(annotator) >= self.config.queue.max_active_leases_per_annotator {
            if let Some((_, task_id)) = held {
                return self.leased_view(&task_id, annotator).map(Some);
            }
        }

        let chosen = self
            .next_gold(annotator)
            .or_else(|| self.next_audit(annotator));
        let chosen = match chosen {
            Some(id) => Some(id),
            None => match self.routing_stopped() {
                Some(DropReason::BudgetExhausted) if !self.index.all.is_empty() => {
                    let budget = self.config.cost.budget_usd.unwrap_or(0.0);
                    return Err(CurationError::BudgetExhausted {
                        spent_usd: self.state.ledger.total(),
                        budget_usd: budget,
                    });
                }
                Some(_) => None,
                None => self.next_routine(annotator),
            },
        };
        let Some(task_id) = chosen else {
            return Ok(None);
        };

        let ttl = self.config.queue.lease_ttl_ms;
        let lease = Lease {
            leased_at_ms: now_ms,
            expires_at_ms: now_ms.saturating_add(ttl),
        };
        let Some(task) = self.task_mut(&task_id) else {
            return Ok(None);
        };
        task.leases.insert(annotator.to_string(), lease);
        self.index
            .add_lease(&task_id, annotator, lease.leased_at_ms, lease.expires_at_ms);
        let stats = self.annotator_entry(annotator);
        stats.leases_granted += 1;
        self.state.counters.leases_granted += 1;
        self.leased_view(&task_id, annotator).map(Some)
    }

    /// The task as its lessee sees it; anyone else gets `NotLeasedByCaller`.
    pub fn leased_task(
        &mut self,
        task_id: &str,
        annotator: &str,
        now_ms: u64,
    ) -> Result<LeasedTask, CurationError> {
        self.check_lease(task_id, annotator, now_ms)?;
        self.leased_view(task_id, annotator)
    }

    /// Extends the caller's lease to `now_ms + lease_ttl_ms`.
    pub fn extend(
        &mut self,
        task_id: &str,
        annotator: &str,
        now_ms: u64,
    ) -> Result<LeasedTask, CurationError> {
        let lease = self.check_lease(task_id, annotator, now_ms)?;
        let new_expiry = now_ms.saturating_add(self.config.queue.lease_ttl_ms);
        self.index
            .remove_lease(task_id, annotator, lease.leased_at_ms, lease.expires_at_ms);
        self.index
            .add_lease(task_id, annotator, lease.leased_at_ms, new_expiry);
        if let Some(l) = self
            .task_mut(task_id)
            .and_then(|t| t.leases.get_mut(annotator))
        {
            l.expires_at_ms = new_expiry;
        }
        self.leased_view(task_id, annotator)
    }

    /// Gives the task back without answering (not a skip: it may come back to the caller).
    /// Idempotent: `Ok(false)` when the caller holds no lease on the task (any more).
    pub fn release(
        &mut self,
        task_id: &str,
        annotator: &str,
        now_ms: u64,
    ) -> Result<bool, CurationError> {
        match self.check_lease(task_id, annotator, now_ms) {
            Ok(lease) => {
                self.drop_lease(task_id, annotator, lease);
                Ok(true)
            }
            Err(CurationError::LeaseExpired { .. } | CurationError::NotLeasedByCaller { .. }) => {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Returns every lease that expired at or before `now_ms` to the queue. Called by every
    /// lease; call it from a timer too so metrics see expiries promptly.
    pub fn expire_leases(&mut self, now_ms: u64) -> Vec<ExpiredLease> {
        let mut expired = Vec::new();
        while let Some((expires_at, task_id, annotator)) = self.index.expiry.first().cloned() {
            if expires_at > now_ms {
                break;
            }
            let lease = self
                .task_mut(&task_id)
                .and_then(|t| t.leases.get(&annotator).copied());
            match lease {
                Some(lease) => self.drop_lease(&task_id, &annotator, lease),
                // Index entry without a task: clean it up rather than loop forever.
                None => {
                    self.index.expiry.pop_first();
                    continue;
                }
            }
            self.annotator_entry(&annotator).leases_expired += 1;
            self.state.counters.leases_expired += 1;
            expired.push(ExpiredLease {
                task_id,
                annotator,
                expired_at_ms: expires_at,
            });
        }
        expired
    }

    /// The caller's live lease on the task. An expired one is removed and reported as such.
    pub(super) fn check_lease(
        &mut self,
        task_id: &str,
        annotator: &str,
        now_ms: u64,
    ) -> Result<Lease, CurationError> {
        Self::validate_annotator(annotator)?;
        let Some(task) = self.task(task_id) else {
            return Err(CurationError::NotFound {
                task_id: task_id.to_string(),
            });
        };
        let Some(lease) = task.leases.get(annotator).copied() else {
            return Err(CurationError::NotLeasedByCaller {
                task_id: task_id.to_string(),
                annotator: annotator.to_string(),
            });
        };
        if lease.expires_at_ms <= now_ms {
            self.drop_lease(task_id, annotator, lease);
            self.annotator_entry(annotator).leases_expired += 1;
            self.state.counters.leases_expired += 1;
            return Err(CurationError::LeaseExpired {
                task_id: task_id.to_string(),
                annotator: annotator.to_string(),
            });
        }
        Ok(lease)
    }

    pub(super) fn drop_lease(&mut self, task_id: &str, annotator: &str, lease: Lease) {
        if let Some(task) = self.task_mut(task_id) {
            task.leases.remove(annotator);
        }
        self.index
            .remove_lease(task_id, annotator, lease.leased_at_ms, lease.expires_at_ms);
    }

    pub(super) fn task(&self, task_id: &str) -> Option<&Task> {
        self.state
            .tasks
            .get(task_id)
            .or_else(|| self.state.gold.get(task_id))
    }

    pub(super) fn task_mut(&mut self, task_id: &str) -> Option<&mut Task> {
        match self.state.tasks.get_mut(task_id) {
            Some(t) => Some(t),
            None => self.state.gold.get_mut(task_id),
        }
    }

    fn leased_view(&self, task_id: &str, annotator: &str) -> Result<LeasedTask, CurationError> {
        let task = self.task(task_id).ok_or_else(|| CurationError::NotFound {
            task_id: task_id.to_string(),
        })?;
        let lease = task
            .leases
            .get(annotator)
            .ok_or_else(|| CurationError::NotLeasedByCaller {
                task_id: task_id.to_string(),
                annotator: annotator.to_string(),
            })?;
        Ok(LeasedTask {
            task_id: task.task_id.clone(),
            doc_id: task.doc_id.clone(),
            text: task.text.clone(),
            labels: self.config.labels.clone(),
            annotator: annotator.to_string(),
            leased_at_ms: lease.leased_at_ms,
            expires_at_ms: lease.expires_at_ms,
        })
    }

    /// A gold item is due on the annotator's n-th lease when `ceil((n + 1) r) > ceil(n r)`:
    /// exactly a share `r` of leases, starting with the first.
    fn next_gold(&self, annotator: &str) -> Option<String> {
        let rate = self.config.queue.gold_rate;
        let n = self
            .state
            .annotators
            .get(annotator)
            .map_or(0, |a| a.leases_granted) as f64;
        if rate <= 0.0 || ((n + 1.0) * rate).ceil() <= (n * rate).ceil() {
            return None;
        }
        self.state
            .gold
            .values()
            .filter(|t| t.open_to(annotator))
            .min_by_key(|t| t.seq)
            .map(|t| t.task_id.clone())
    }

    fn next_audit(&self, annotator: &str) -> Option<String> {
        self.index
            .audits
            .iter()
            .map(|(_, id)| id)
            .find(|id| {
                self.state
                    .tasks
                    .get(*id)
                    .is_some_and(|t| t.open_to(annotator))
            })
            .cloned()
    }

    /// Most informative open routine task, rotating over topic buckets under `round_robin`.
    fn next_routine(&mut self, annotator: &str) -> Option<String> {
        let open = |id: &String| {
            self.state
                .tasks
                .get(id)
                .is_some_and(|t| t.open_to(annotator))
        };
        match self.config.queue.diversity {
            Diversity::None => self
                .index
                .all
                .iter()
                .map(|k| &k.2)
                .find(|id| open(id))
                .cloned(),
            Diversity::RoundRobin => {
                // Buckets after the cursor, then from the start up to and including it.
                let (after, upto) = match self.state.rr_cursor {
                    Some(cursor) => (
                        self.index
                            .buckets
                            .range((Bound::Excluded(cursor), Bound::Unbounded)),
                        self.index
                            .buckets
                            .range((Bound::Unbounded, Bound::Included(cursor))),
                    ),
                    None => (
                        self.index.buckets.range(..),
                        self.index
                            .buckets
                            .range((Bound::Unbounded, Bound::Excluded(None))),
                    ),
                };
                let found = after.chain(upto).find_map(|(topic, keys)| {
                    keys.iter()
                        .map(|k| &k.2)
                        .find(|id| open(id))
                        .map(|id| (*topic, id.clone()))
                });
                let (topic, id) = found?;
                self.state.rr_cursor = Some(topic);
                Some(id)
            }
        }
    }

    pub(super) fn annotator_entry(&mut self, annotator: &str) -> &mut crate::stats::AnnotatorStats {
        self.state
            .annotators
            .entry(annotator.to_string())
            .or_insert_with(|| crate::stats::AnnotatorStats {
                annotator: annotator.to_string(),
                ..Default::default()
            })
    }

    /// Kind of an open task or gold item, for the service's metrics.
    pub fn task_kind(&self, task_id: &str) -> Option<TaskKind> {
        self.task(task_id).map(|t| t.kind)
    }
}
