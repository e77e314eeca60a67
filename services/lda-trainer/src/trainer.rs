//! The streaming loop: read tokenized documents, hold some out, train mini-batches, publish
//! snapshots, checkpoint with offsets.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use latentlabel_common::records::{ModelSnapshot, TokenizedDocument};
use latentlabel_common::{metrics as common_metrics, split, OutRecord, ServiceContext};
use latentlabel_lda::{coherence, Document, OnlineLda, Vocabulary, FLOPS_PER_PAIR};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::checkpoint::{self, Checkpoint};
use crate::config::TrainerConfig;
use crate::snapshot::{self, Evaluation};
use crate::{metrics, SERVICE};

type Terms = Vec<(String, u32)>;

/// Bounded memory of recently trained document ids, oldest evicted first. Ingest delivers at
/// least once, so after an ingest crash the same document can arrive twice; training it twice
/// would count it twice in lambda.
#[derive(Default)]
struct RecentIds {
    capacity: usize,
    order: VecDeque<String>,
    set: std::collections::HashSet<String>,
}

impl RecentIds {
    fn new(capacity: usize, ids: Vec<String>) -> Self {
        let mut recent = Self {
            capacity,
            ..Self::default()
        };
        for id in ids {
            recent.insert(id);
        }
        recent
    }

    fn contains(&self, id: &str) -> bool {
        self.set.contains(id)
    }

    fn insert(&mut self, id: String) {
        if self.capacity == 0 || !self.set.insert(id.clone()) {
            return;
        }
        self.order.push_back(id);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
    }
}

/// Trainer state between batches.
pub struct Trainer {
    config: TrainerConfig,
    model: OnlineLda,
    vocabulary: Vocabulary,
    /// Next offset per partition covered by `model` + `heldout`.
    offsets: BTreeMap<i32, i64>,
    /// Positions read so far, including the pending batch.
    read_positions: BTreeMap<i32, i64>,
    heldout: VecDeque<(String, Terms)>,
    pending: Vec<Terms>,
    /// Ids in `pending`: trained ids move to `recent` only once their update is applied, so a
    /// shutdown with a pending batch does not mark untrained documents as seen.
    pending_ids: std::collections::HashSet<String>,
    recent: RecentIds,
    snapshot_version: u64,
    updates_since_snapshot: u64,
    updates_since_checkpoint: u64,
}

impl Trainer {
    pub async fn restore(ctx: &ServiceContext, config: TrainerConfig) -> anyhow::Result<Self> {
        let restored = checkpoint::load(&ctx.storage, &config.model_name).await?;
        // A snapshot may have been published after the last checkpoint (crash in between), so
        // numbering continues after whatever is in storage.
        let published = ctx
            .storage
            .latest_version(&snapshot::model_prefix(&config.model_name))
            .await?
            .unwrap_or(0);
        let (model, vocabulary, offsets, heldout, snapshot_version, recent_ids) = match restored {
            Some(c) => {
                tracing::info!(
                    updates = c.model.updates(),
                    docs_seen = c.model.docs_seen(),
                    "resuming from checkpoint"
                );
                (
                    c.model,
                    c.vocabulary,
                    c.offsets,
                    c.heldout.into(),
                    c.snapshot_version.max(published),
                    c.recent_ids,
                )
            }
            None => {
                let model = OnlineLda::new(config.lda.clone(), 0)
                    .map_err(|e| anyhow::anyhow!("lda-trainer: {e}"))?;
                (
                    model,
                    Vocabulary::new(config.max_vocabulary),
                    BTreeMap::new(),
                    VecDeque::new(),
                    published,
                    Vec::new(),
                )
            }
        };
        if snapshot_version > 0 {
            let path = format!(
                "{}/manifest.json",
                snapshot::snapshot_dir(&config.model_name, snapshot_version)
            );
            match ctx
                .storage
                .get_json::<snapshot::SnapshotManifest>(&path)
                .await
            {
                Ok(m) => metrics::export_snapshot(m.version, m.created_at_ms, &m.evaluation),
                Err(e) => tracing::warn!(
                    error = format!("{e:#}"),
                    "newest snapshot's manifest unreadable; its metrics start unknown"
                ),
            }
        }
        metrics::DOCS_SEEN.inc_by(model.docs_seen());
        metrics::UPDATES.inc_by(model.updates());
        metrics::VOCABULARY.set(vocabulary.len() as i64);
        Ok(Self {
            read_positions: offsets.clone(),
            offsets,
            model,
            vocabulary,
            heldout,
            pending: Vec::new(),
            pending_ids: Default::default(),
            recent: RecentIds::new(config.dedup_window, recent_ids),
            snapshot_version,
            updates_since_snapshot: 0,
            updates_since_checkpoint: 0,
            config,
        })
    }

    pub fn model(&self) -> &OnlineLda {
        &self.model
    }

    /// Assigns every partition of the tokens topic at the checkpointed positions.
    pub fn assign(&self, consumer: &StreamConsumer, topic: &str) -> anyhow::Result<()> {
        latentlabel_common::kafka::assign_partitions(consumer, topic, |p| {
            self.offsets
                .get(&p)
                .map_or(Offset::Beginning, |o| Offset::Offset(*o))
        })
    }

    /// Handles one consumed record. Returns a dead letter to send when it cannot be decoded.
    pub fn accept(
        &mut self,
        ctx: &ServiceContext,
        msg: &rdkafka::message::BorrowedMessage<'_>,
    ) -> Option<OutRecord> {
        self.read_positions
            .insert(msg.partition(), msg.offset() + 1);
        let payload = msg.payload().unwrap_or_default();
        let doc: TokenizedDocument = match ctx.codec.decode_cached(payload) {
            Ok(d) => d,
            Err(e) => {
                let record = latentlabel_common::pipeline::Incoming::from_message(&msg.detach());
                return latentlabel_common::deadletter::dead_letter(
                    SERVICE,
                    &ctx.codec,
                    &ctx.topics,
                    &record,
                    e.reason(),
                    &e.to_string(),
                )
                .ok();
            }
        };
        let terms: Terms = doc
            .terms
            .into_iter()
            .filter(|t| t.count > 0)
            .map(|t| (t.term, t.count as u32))
            .collect();
        if terms.is_empty() {
            return None;
        }
        if split::in_sample(&doc.id, "lda-heldout", self.config.heldout_fraction) {
            if !self.heldout.iter().any(|(id, _)| id == &doc.id) {
                if self.heldout.len() >= self.config.heldout_max_docs {
                    self.heldout.pop_front();
                }
                self.heldout.push_back((doc.id, terms));
            }
        } else {
            if self.recent.contains(&doc.id) || !self.pending_ids.insert(doc.id.clone()) {
                tracing::debug!(id = %doc.id, "replayed document skipped");
                return None;
            }
            self.pending.push(terms);
        }
        None
    }

    pub fn batch_full(&self) -> bool {
        self.pending.len() >= self.config.lda.batch_size
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Maps the pending batch to ids (growing or pruning the vocabulary) and runs one update on a
    /// blocking thread: the E-step is long CPU work that must not stall the async runtime.
    pub async fn train_pending(&mut self) -> anyhow::Result<()> {
        if self.pending.is_empty() {
            self.offsets = self.read_positions.clone();
            return Ok(());
        }
        let batch = std::mem::take(&mut self.pending);
        let new_words: usize = batch
            .iter()
            .flatten()
            .filter(|(w, _)| self.vocabulary.id(w).is_none())
            .count();
        if self.vocabulary.len() + new_words > self.config.max_vocabulary {
            let keep = (self.config.max_vocabulary * 9 / 10).min(self.vocabulary.len());
            let remap = self.vocabulary.prune_rarest(keep);
            self.model.retain_words(&remap);
        }
        let docs: Vec<Document> = batch
            .iter()
            .map(|terms| {
                let doc = Document::from_pairs(
                    terms
                        .iter()
                        .filter_map(|(w, c)| self.vocabulary.intern(w).map(|id| (id, *c as f32))),
                );
                self.vocabulary.observe(&doc.ids);
                doc
            })
            .collect();
        self.model.ensure_vocabulary(self.vocabulary.len());
        let mut model = std::mem::replace(&mut self.model, placeholder_model(&self.config)?);
        let started = Instant::now();
        let (model, stats) = tokio::task::spawn_blocking(move || {
            let stats = model.update(&docs);
            (model, stats)
        })
        .await
        .map_err(|e| anyhow::anyhow!("training task failed: {e}"))?;
        self.model = model;
        metrics::BATCH_SECONDS.observe(started.elapsed().as_secs_f64());
        metrics::DOCS_SEEN.inc_by(stats.docs as u64);
        metrics::UPDATES.inc();
        metrics::ESTEP_SECONDS.inc_by(stats.estep_seconds);
        metrics::ESTEP_FLOPS.inc_by(FLOPS_PER_PAIR * stats.estep_pairs as f64);
        metrics::VOCABULARY.set(self.vocabulary.len() as i64);
        tracing::debug!(
            docs = stats.docs,
            rho = stats.rho,
            iters = stats.mean_iterations,
            "update"
        );
        for id in std::mem::take(&mut self.pending_ids) {
            self.recent.insert(id);
        }
        self.offsets = self.read_positions.clone();
        self.updates_since_snapshot += 1;
        self.updates_since_checkpoint += 1;
        Ok(())
    }

    pub fn snapshot_due(&self) -> bool {
        self.updates_since_snapshot >= self.config.snapshot_every_updates
    }

    pub fn checkpoint_due(&self) -> bool {
        self.updates_since_checkpoint >= self.config.checkpoint_every_updates
    }

    fn heldout_documents(&self) -> Vec<Document> {
        self.heldout
            .iter()
            .map(|(_, terms)| {
                Document::from_pairs(
                    terms
                        .iter()
                        .filter_map(|(w, c)| self.vocabulary.id(w).map(|id| (id, *c as f32))),
                )
            })
            .filter(|d| !d.is_empty())
            .collect()
    }

    /// Held-out perplexity and coherence of the current model.
    pub fn evaluate(&self) -> Evaluation {
        let docs = self.heldout_documents();
        if docs.is_empty() || self.model.num_words() == 0 {
            return Evaluation::default();
        }
        let bound = self.model.log_perplexity(&docs);
        let top: Vec<Vec<u32>> = self
            .model
            .top_words_all(10)
            .into_iter()
            .map(|words| words.into_iter().map(|(id, _)| id).collect())
            .collect();
        let c = coherence::coherence(&top, &docs);
        let finite = |x: f64| x.is_finite().then_some(x);
        Evaluation {
            heldout_docs: docs.len(),
            heldout_perplexity: finite((-bound).exp()),
            npmi: finite(c.npmi),
            umass: finite(c.umass),
        }
    }

    /// Writes a snapshot to object storage, then announces it on the models topic.
    pub async fn publish_snapshot(&mut self, ctx: &ServiceContext) -> anyhow::Result<()> {
        if self.model.updates() == 0 {
            return Ok(());
        }
        let evaluation = tokio::task::block_in_place(|| self.evaluate());
        let version = self.snapshot_version + 1;
        let dir = snapshot::snapshot_dir(&self.config.model_name, version);
        let manifest = snapshot::write_snapshot(
            &ctx.storage,
            &dir,
            &self.config.model_name,
            version,
            &self.model,
            self.vocabulary.words(),
            evaluation.clone(),
        )
        .await?;
        self.snapshot_version = version;
        self.updates_since_snapshot = 0;
        let announcement = ModelSnapshot {
            model: manifest.model.clone(),
            version: version as i64,
            created_at_ms: manifest.created_at_ms,
            num_topics: manifest.num_topics as i32,
            num_words: manifest.num_words as i32,
            docs_seen: manifest.docs_seen as i64,
            updates: manifest.updates as i64,
            topics_path: manifest.topics_path.clone(),
            manifest_path: format!("{dir}/manifest.json"),
            heldout_perplexity: evaluation.heldout_perplexity,
            npmi: evaluation.npmi,
            umass: evaluation.umass,
        };
        let payload = ctx.codec.encode(&announcement)?;
        latentlabel_common::pipeline::send_all(
            SERVICE,
            &ctx.producer,
            &[OutRecord::new(
                &ctx.topics.models,
                manifest.model.clone(),
                payload,
            )],
        )
        .await?;
        metrics::export_snapshot(version, manifest.created_at_ms, &evaluation);
        tracing::info!(
            version,
            docs_seen = self.model.docs_seen(),
            perplexity = ?evaluation.heldout_perplexity,
            npmi = ?evaluation.npmi,
            "published model snapshot"
        );
        Ok(())
    }

    /// Persists state + offsets, then tells the consumer group (a hint for lag metrics only).
    pub async fn checkpoint(
        &mut self,
        ctx: &ServiceContext,
        consumer: &StreamConsumer,
    ) -> anyhow::Result<()> {
        let cp = Checkpoint {
            model: self.model.clone(),
            vocabulary: self.vocabulary.clone(),
            offsets: self.offsets.clone(),
            heldout: self.heldout.iter().cloned().collect(),
            recent_ids: self.recent.order.iter().cloned().collect(),
            snapshot_version: self.snapshot_version,
        };
        checkpoint::save(&ctx.storage, &self.config.model_name, &cp).await?;
        self.updates_since_checkpoint = 0;
        let mut tpl = TopicPartitionList::new();
        for (p, o) in &self.offsets {
            tpl.add_partition_offset(&ctx.topics.tokens, *p, Offset::Offset(*o))?;
        }
        if tpl.count() > 0 {
            match consumer.commit(&tpl, rdkafka::consumer::CommitMode::Async) {
                Ok(()) => common_metrics::KAFKA_COMMITS
                    .with_label_values(&[SERVICE])
                    .inc(),
                Err(e) => tracing::debug!(error = %e, "offset hint commit failed"),
            }
        }
        Ok(())
    }
}

/// `OnlineLda` has no cheap empty value; a zero-word model stands in while the real one trains
/// on a blocking thread.
fn placeholder_model(config: &TrainerConfig) -> anyhow::Result<OnlineLda> {
    OnlineLda::new(config.lda.clone(), 0).map_err(|e| anyhow::anyhow!("lda-trainer: {e}"))
}
