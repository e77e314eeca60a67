//! The three consumers of a scoring replica: documents to score (consumer group, scaled by
//! partitions), model announcements (every replica, from the end), and labels (every replica,
//! from the beginning).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use latentlabel_common::deadletter::dead_letter;
use latentlabel_common::pipeline::{Incoming, Transform};
use latentlabel_common::records::{
    now_ms, LabelEvent, ModelSnapshot, ScoredDocument, TermCount, TokenizedDocument,
};
use latentlabel_common::{Codec, OutRecord, ServiceContext, Topics};
use latentlabel_text::Tokenizer;
use rdkafka::message::Message;
use rdkafka::Offset;

use crate::config::ScoringConfig;
use crate::labels::{is_trusted_source, ClassifierSlot, LabelBook, RecentDocuments, Terms, Words};
use crate::model::{self, ModelSlot};
use crate::scorer::score;
use crate::tokenizer_check::TokenizerCheck;
use crate::{metrics, SERVICE};
use latentlabel_lda_trainer::snapshot;

pub struct ScoreTransform {
    pub codec: Codec,
    pub topics: Topics,
    pub models: ModelSlot,
    pub classifier: ClassifierSlot,
    pub recent: Arc<Mutex<RecentDocuments>>,
    pub tokenizer_check: TokenizerCheck,
    pub config: ScoringConfig,
}

impl Transform for ScoreTransform {
    async fn process(&self, record: Incoming) -> Vec<OutRecord> {
        let doc: TokenizedDocument = match self.codec.decode_cached(&record.payload) {
            Ok(d) => d,
            Err(e) => {
                return dead_letter(
                    SERVICE,
                    &self.codec,
                    &self.topics,
                    &record,
                    e.reason(),
                    &e.to_string(),
                )
                .into_iter()
                .collect()
            }
        };
        self.tokenizer_check
            .check(&doc.id, doc.tokenizer.as_deref());
        // start() only subscribes once a model exists, so this loop is a guard, not a wait.
        let model = loop {
            if let Some(m) = self.models.get() {
                break m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let classifier = self.classifier.get();
        let s = score(
            &model,
            &classifier,
            &borrowed(&doc.terms),
            &borrowed(&doc.context_terms),
            self.config.top_topics,
            self.config.top_words,
        );
        if let Ok(mut recent) = self.recent.lock() {
            recent.remember(
                &doc.id,
                Words {
                    terms: owned(&doc.terms),
                    context: owned(&doc.context_terms),
                },
            );
        }
        metrics::DOCUMENTS.inc();
        metrics::UNKNOWN_WORDS.inc_by(u64::from(s.unknown_words));
        let scored = ScoredDocument {
            id: doc.id.clone(),
            text: doc.text,
            model_version: s.model_version as i64,
            classifier_version: s.classifier_version.map(|v| v as i64),
            theta: s.theta,
            top_topics: s.top_topics,
            label: s.label,
            confidence: s.confidence,
            margin: s.margin,
            entropy: s.entropy,
            unknown_words: s.unknown_words as i32,
            scored_at_ms: now_ms(),
        };
        match self.codec.encode(&scored) {
            Ok(payload) => vec![OutRecord::new(&self.topics.scored, doc.id, payload)],
            Err(e) => dead_letter(
                SERVICE,
                &self.codec,
                &self.topics,
                &record,
                "encode",
                &e.to_string(),
            )
            .into_iter()
            .collect(),
        }
    }
}

/// Loads the newest stored snapshot, then follows the models topic and swaps in each newer one.
pub async fn follow_models(
    ctx: ServiceContext,
    config: ScoringConfig,
    models: ModelSlot,
) -> anyhow::Result<()> {
    let consumer = ctx.kafka.consumer(&format!(
        "latentlabel-scoring-models-{}",
        std::process::id()
    ))?;
    // Listen first, then look at storage, so a snapshot published in between is not missed.
    latentlabel_common::kafka::assign_partitions(&consumer, &ctx.topics.models, |_| Offset::End)?;
    let mut poll_storage = tokio::time::interval(Duration::from_secs(30));
    loop {
        let announced: Option<(u64, String)> = tokio::select! {
            _ = ctx.shutdown.cancelled() => return Ok(()),
            _ = poll_storage.tick() => match ctx.storage.latest_version(&snapshot::model_prefix(&config.model_name)).await {
                Ok(v) => v.map(|v| (v, format!("{}/manifest.json", snapshot::snapshot_dir(&config.model_name, v)))),
                Err(e) => { tracing::warn!(error = %e, "listing model snapshots"); None }
            },
            msg = consumer.recv() => match msg {
                Ok(m) => match ctx.codec.decode_cached::<ModelSnapshot>(m.payload().unwrap_or_default()) {
                    Ok(s) if s.model == config.model_name => Some((s.version.max(0) as u64, s.manifest_path)),
                    Ok(_) => None,
                    Err(e) => { tracing::warn!(error = %e, "undecodable model announcement"); None }
                },
                Err(e) => { tracing::warn!(error = %e, "models topic"); tokio::time::sleep(Duration::from_millis(500)).await; None }
            },
        };
        let Some((version, path)) = announced else {
            continue;
        };
        if models.get().is_some_and(|m| m.version >= version) {
            continue;
        }
        match model::load(&ctx.storage, &path).await {
            Ok(m) => {
                let version = m.version;
                if models.install(m) {
                    metrics::MODEL_VERSION.set(version as i64);
                    metrics::MODEL_RELOADS.inc();
                    tracing::info!(version, "scoring with new model");
                }
            }
            Err(e) => tracing::warn!(path, error = format!("{e:#}"), "loading model snapshot"),
        }
    }
}

/// Longest stretch of back-to-back label events read before a refit is considered.
const LABEL_BURST: Duration = Duration::from_secs(3);

/// Labels waiting this long without a new one are refitted on, however few.
const QUIET_REFIT: Duration = Duration::from_secs(5);

/// Adds one label event to the book (untrusted sources and undecodable events are skipped).
fn learn(
    ctx: &ServiceContext,
    tokenizer: &Tokenizer,
    recent: &Mutex<RecentDocuments>,
    book: &mut LabelBook,
    msg: Result<rdkafka::message::BorrowedMessage<'_>, rdkafka::error::KafkaError>,
) {
    let msg = match msg {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "labels topic");
            return;
        }
    };
    let event: LabelEvent = match ctx.codec.decode_cached(msg.payload().unwrap_or_default()) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "undecodable label event");
            return;
        }
    };
    if !is_trusted_source(&event.source) {
        return;
    }
    // The event's text is the text ingest stored, so preparing it again gives the words
    // ingest produced (the tokenizer's fixed-point property), on any replica, after any restart.
    let words = match &event.text {
        Some(text) => Words::from_prepared(tokenizer.prepare(text)),
        None => match recent
            .lock()
            .ok()
            .and_then(|r| r.get(&event.doc_id).cloned())
        {
            Some(t) => t,
            None => {
                tracing::debug!(doc = %event.doc_id, "label for a document never seen; skipped");
                return;
            }
        },
    };
    // A single human judgment carries its annotator's accuracy, measured on gold items, as
    // its confidence; consensus, gold and imports count as exact.
    let accuracy = match (event.source.as_str(), event.confidence) {
        ("human", Some(c)) if c.is_finite() && c > 0.0 => c.min(1.0),
        _ => 1.0,
    };
    book.add(&event.doc_id, &event.label, &event.source, words, accuracy);
}

/// Reads every label event and refits the classifier as labels arrive or the model changes.
pub async fn learn_labels(
    ctx: ServiceContext,
    config: ScoringConfig,
    models: ModelSlot,
    classifier: ClassifierSlot,
    recent: Arc<Mutex<RecentDocuments>>,
) -> anyhow::Result<()> {
    let tokenizer = Tokenizer::new(config.tokenizer.clone())
        .map_err(|e| anyhow::anyhow!("scoring tokenizer: {e}"))?;
    let consumer = ctx.kafka.consumer(&format!(
        "latentlabel-scoring-labels-{}",
        std::process::id()
    ))?;
    latentlabel_common::kafka::assign_partitions(&consumer, &ctx.topics.labels, |_| {
        Offset::Beginning
    })?;
    let mut book = LabelBook::default();
    let mut fitted_on_model = 0u64;
    let mut last_label_at = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return Ok(()),
            _ = tick.tick() => {}
            msg = consumer.recv() => {
                last_label_at = tokio::time::Instant::now();
                learn(&ctx, &tokenizer, &recent, &mut book, msg);
                // A burst of labels (a backfill, a restart replaying the topic) should cost one
                // refit, not one per `refit_every_labels`: take what is already fetched first.
                let until = tokio::time::Instant::now() + LABEL_BURST;
                while tokio::time::Instant::now() < until {
                    match tokio::time::timeout(Duration::from_millis(20), consumer.recv()).await {
                        Ok(msg) => learn(&ctx, &tokenizer, &recent, &mut book, msg),
                        Err(_) => break,
                    }
                }
            }
        }
        let Some(model) = models.get() else { continue };
        let model_changed = model.version != fitted_on_model && classifier.get().fitted.is_some();
        let pending = book.new_since_refit() > 0 && book.len() >= config.classifier.min_labels;
        // A trickle that stops short of `refit_every_labels` is still learned from once the
        // label stream goes quiet.
        let enough_new = book.new_since_refit() >= config.refit_every_labels
            || (pending && classifier.get().fitted.is_none())
            || (pending && last_label_at.elapsed() >= QUIET_REFIT);
        if !(model_changed || enough_new) {
            continue;
        }
        // Fitting is CPU work for up to a few hundred milliseconds: off the async runtime.
        let cfg = config.clone();
        let m = model.clone();
        let (returned_book, result) = tokio::task::spawn_blocking(move || {
            let r = book.refit(&m, &cfg);
            (book, r)
        })
        .await?;
        book = returned_book;
        fitted_on_model = model.version;
        match result {
            Ok(Some(fitted)) => {
                let state = classifier.install(fitted);
                crate::publish::publish_classifier(&ctx, &config, &state).await;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = format!("{e:#}"), "classifier refit failed"),
        }
    }
}

fn borrowed(bag: &[TermCount]) -> Vec<(&str, u32)> {
    bag.iter()
        .map(|t| (t.term.as_str(), t.count.max(0) as u32))
        .collect()
}

fn owned(bag: &[TermCount]) -> Terms {
    bag.iter()
        .map(|t| (t.term.clone(), t.count.max(0) as u32))
        .collect()
}
