//! The labeling queue's background work: rebuild on start, route scored documents, publish
//! finalized labels, commit dataset versions, checkpoint, expire leases, follow the learning curve.
//!
//! Durability (kill -9 at any moment loses no submitted label and counts none twice):
//! - a human judgment is answered 200 only after its `AnnotationEvent` is acknowledged by Kafka;
//! - the queue state is checkpointed to object storage with the scored-topic offsets it reflects;
//! - on start: load the checkpoint, replay every annotation event (idempotent by task and
//!   annotator; events for documents not yet offered wait for them), replay the labels topic into
//!   the dataset rows, then consume scored documents from the checkpointed offsets.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use latentlabel_common::records::{AnnotationEvent, LabelEvent, ScoredDocument};
use latentlabel_common::{metrics as common_metrics, pipeline, OutRecord, ServiceContext};
use latentlabel_curation::{Curator, Routing};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use crate::config::QueueServiceConfig;
use crate::dataset::{self, CommitInfo, CostTotals, DatasetManifest};
use crate::queue::{self, now_ms, Shared};
use crate::{metrics, SERVICE};

#[derive(Serialize, Deserialize)]
struct Checkpoint {
    curator: Curator,
    /// Next offset per partition of the scored topic.
    scored_offsets: BTreeMap<i32, i64>,
    /// Topics and model suggestion of the documents with open tasks (absent in checkpoints
    /// written before it existed).
    #[serde(default)]
    display: Vec<(String, queue::Display)>,
}

/// What a restart resumes from.
pub struct Rebuilt {
    pub curator: Curator,
    pub rows: BTreeMap<String, dataset::DatasetRow>,
    pub scored_offsets: BTreeMap<i32, i64>,
    pub display: Vec<(String, queue::Display)>,
}

fn checkpoint_key(config: &QueueServiceConfig) -> String {
    format!(
        "checkpoints/labeling-queue/{}/state.json",
        config.dataset_name
    )
}

/// Restores the curator, the dataset rows and the open tasks' display data, with the
/// scored-topic offsets to resume from.
pub async fn rebuild(ctx: &ServiceContext, config: &QueueServiceConfig) -> anyhow::Result<Rebuilt> {
    let (mut curator, offsets, display) = match ctx.storage.get_opt(&checkpoint_key(config)).await?
    {
        Some(bytes) => {
            let cp: Checkpoint =
                serde_json::from_slice(&bytes).context("parsing labeling-queue checkpoint")?;
            // The checkpoint carries the config it ran with; the current file wins.
            let curator = cp
                .curator
                .with_config(config.curation.clone())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            (curator, cp.scored_offsets, cp.display)
        }
        None => (
            Curator::new(config.curation.clone()).map_err(|e| anyhow::anyhow!("{e}"))?,
            BTreeMap::new(),
            Vec::new(),
        ),
    };
    let mut applied = 0usize;
    for msg in read_to_end(ctx, &ctx.topics.annotations).await? {
        let Ok(record) = ctx.codec.decode_cached::<AnnotationEvent>(&msg) else {
            continue;
        };
        if let Some(event) = queue::curation_event(&record) {
            if curator.apply_label_event(&event).is_ok() {
                applied += 1;
            }
        }
    }
    let mut rows = BTreeMap::new();
    for msg in read_to_end(ctx, &ctx.topics.labels).await? {
        let Ok(event) = ctx.codec.decode_cached::<LabelEvent>(&msg) else {
            continue;
        };
        if matches!(event.source.as_str(), "model" | "human" | "consensus") {
            queue::upsert_row(&mut rows, queue::dataset_row(&event));
        }
    }
    tracing::info!(
        annotation_events = applied,
        dataset_rows = rows.len(),
        "labeling queue rebuilt"
    );
    Ok(Rebuilt {
        curator,
        rows,
        scored_offsets: offsets,
        display,
    })
}

/// Every record of `topic` up to its current end (all partitions), payloads only.
async fn read_to_end(ctx: &ServiceContext, topic: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    let consumer = ctx.kafka.consumer(&format!(
        "latentlabel-labeling-replay-{}",
        std::process::id()
    ))?;
    let partitions = latentlabel_common::kafka::partitions(&consumer, topic)?;
    let ends = tokio::task::block_in_place(|| -> anyhow::Result<Vec<(i32, i64)>> {
        let mut ends = Vec::new();
        for p in partitions {
            let (low, high) = consumer.fetch_watermarks(topic, p, Duration::from_secs(10))?;
            if high > low {
                ends.push((p, high));
            }
        }
        Ok(ends)
    })?;
    if ends.is_empty() {
        return Ok(Vec::new());
    }
    let mut tpl = TopicPartitionList::new();
    for (p, _) in &ends {
        tpl.add_partition_offset(topic, *p, Offset::Beginning)?;
    }
    consumer.assign(&tpl)?;
    let mut remaining: BTreeMap<i32, i64> = ends.into_iter().collect();
    let mut out = Vec::new();
    while !remaining.is_empty() {
        let msg = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .with_context(|| format!("timed out replaying {topic}"))??;
        out.push(msg.payload().unwrap_or_default().to_vec());
        if let Some(end) = remaining.get(&msg.partition()) {
            if msg.offset() + 1 >= *end {
                remaining.remove(&msg.partition());
            }
        }
    }
    Ok(out)
}

pub async fn save_checkpoint(
    ctx: &ServiceContext,
    config: &QueueServiceConfig,
    shared: &Shared,
    offsets: &BTreeMap<i32, i64>,
) -> anyhow::Result<()> {
    // Serialise under the lock so the state and the offsets it reflects agree. The display
    // cache is only a cache: taken under its own lock, never both at once.
    let open: Vec<String> = shared
        .curator
        .lock()
        .map_err(|_| anyhow::anyhow!("curator lock poisoned"))?
        .open_doc_ids()
        .map(str::to_string)
        .collect();
    let display = shared
        .display
        .lock()
        .map_err(|_| anyhow::anyhow!("display lock poisoned"))?
        .entries_for(open.iter().map(String::as_str));
    let bytes = {
        let curator = shared
            .curator
            .lock()
            .map_err(|_| anyhow::anyhow!("curator lock poisoned"))?;
        #[derive(Serialize)]
        struct CheckpointRef<'a> {
            curator: &'a Curator,
            scored_offsets: &'a BTreeMap<i32, i64>,
            display: &'a [(String, queue::Display)],
        }
        serde_json::to_vec(&CheckpointRef {
            curator: &curator,
            scored_offsets: offsets,
            display: &display,
        })?
    };
    ctx.storage.put(&checkpoint_key(config), bytes).await
}

/// Consumes scored documents and offers them to the curator.
pub async fn route_scored(
    ctx: ServiceContext,
    config: QueueServiceConfig,
    shared: Arc<Shared>,
    mut offsets: BTreeMap<i32, i64>,
) -> anyhow::Result<()> {
    let consumer: StreamConsumer = ctx.kafka.consumer(&config.group_id)?;
    let topic = ctx.topics.scored.clone();
    latentlabel_common::kafka::assign_partitions(&consumer, &topic, |p| {
        offsets
            .get(&p)
            .map_or(Offset::Beginning, |o| Offset::Offset(*o))
    })?;
    let consumed = common_metrics::KAFKA_CONSUMED.with_label_values(&[SERVICE]);
    let mut checkpoint_timer =
        tokio::time::interval(Duration::from_secs(config.checkpoint_every_secs.max(1)));
    loop {
        tokio::select! {
            _ = ctx.shutdown.cancelled() => break,
            _ = checkpoint_timer.tick() => {
                // Finalized labels must be on Kafka before a checkpoint forgets their offsets.
                publish_outbox(&ctx, &shared).await?;
                save_checkpoint(&ctx, &config, &shared, &offsets).await?;
                commit_hint(&consumer, &topic, &offsets);
            }
            msg = consumer.recv() => {
                let msg = match msg {
                    Ok(m) => m,
                    Err(e) => { tracing::warn!(error = %e, "scored topic"); tokio::time::sleep(Duration::from_millis(200)).await; continue; }
                };
                consumed.inc();
                let payload = msg.payload().unwrap_or_default();
                match ctx.codec.decode_cached::<ScoredDocument>(payload) {
                    Ok(doc) => offer(&shared, &doc),
                    Err(e) => {
                        let record = latentlabel_common::pipeline::Incoming::from_message(&msg.detach());
                        let letter = latentlabel_common::deadletter::dead_letter(SERVICE, &ctx.codec, &ctx.topics, &record, e.reason(), &e.to_string())?;
                        pipeline::send_all(SERVICE, &ctx.producer, &[letter]).await?;
                    }
                }
                offsets.insert(msg.partition(), msg.offset() + 1);
            }
        }
    }
    publish_outbox(&ctx, &shared).await?;
    save_checkpoint(&ctx, &config, &shared, &offsets).await?;
    commit_hint(&consumer, &topic, &offsets);
    Ok(())
}

fn commit_hint(consumer: &StreamConsumer, topic: &str, offsets: &BTreeMap<i32, i64>) {
    let mut tpl = TopicPartitionList::new();
    for (p, o) in offsets {
        let _ = tpl.add_partition_offset(topic, *p, Offset::Offset(*o));
    }
    if tpl.count() > 0
        && consumer
            .commit(&tpl, rdkafka::consumer::CommitMode::Async)
            .is_ok()
    {
        common_metrics::KAFKA_COMMITS
            .with_label_values(&[SERVICE])
            .inc();
    }
}

fn offer(shared: &Shared, doc: &ScoredDocument) {
    let item = queue::scored_item(doc);
    let routing = match shared.curator.lock() {
        Ok(mut c) => c.offer(item, now_ms()),
        Err(_) => return,
    };
    match routing {
        Ok(Routing::Queued { .. }) => {
            if let Ok(mut d) = shared.display.lock() {
                d.insert(&doc.id, queue::display_of(doc));
            }
        }
        Ok(Routing::Audit { .. }) => {
            if let Ok(mut d) = shared.display.lock() {
                d.insert(
                    &doc.id,
                    queue::Display {
                        topics: doc.top_topics.clone(),
                        suggestion: None,
                    },
                );
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(doc = %doc.id, error = %e, "scored document not routed"),
    }
}

/// Publishes finalized labels, adds them to the dataset rows, then acknowledges them.
pub async fn publish_outbox(ctx: &ServiceContext, shared: &Shared) -> anyhow::Result<()> {
    let _one_at_a_time = shared.publishing.lock().await;
    let pending: Vec<_> = match shared.curator.lock() {
        Ok(c) => c.completed_labels().cloned().collect(),
        Err(_) => anyhow::bail!("curator lock poisoned"),
    };
    if pending.is_empty() {
        return Ok(());
    }
    let mut records = Vec::with_capacity(pending.len());
    let mut events = Vec::with_capacity(pending.len());
    for label in &pending {
        let event = queue::label_event(label);
        records.push(OutRecord::new(
            &ctx.topics.labels,
            label.doc_id.clone(),
            ctx.codec.encode(&event)?,
        ));
        events.push(event);
    }
    pipeline::send_all(SERVICE, &ctx.producer, &records).await?;
    let mut added = 0;
    if let Ok(mut rows) = shared.rows.lock() {
        for event in &events {
            metrics::LABELS.with_label_values(&[&event.source]).inc();
            if queue::upsert_row(&mut rows, queue::dataset_row(event)) {
                added += 1;
            }
        }
    }
    if let Ok(mut n) = shared.rows_since_commit.lock() {
        *n += added;
    }
    if let Ok(mut c) = shared.curator.lock() {
        c.ack_completed(pending.len());
    }
    Ok(())
}

/// Commits the current rows as the next dataset version.
pub async fn commit_dataset(
    ctx: &ServiceContext,
    config: &QueueServiceConfig,
    shared: &Shared,
    trigger: &str,
) -> anyhow::Result<DatasetManifest> {
    publish_outbox(ctx, shared).await?;
    let rows: Vec<_> = shared
        .rows
        .lock()
        .map_err(|_| anyhow::anyhow!("rows lock poisoned"))?
        .values()
        .cloned()
        .collect();
    anyhow::ensure!(!rows.is_empty(), "no labeled documents to commit yet");
    let cost = shared
        .curator
        .lock()
        .map(|c| c.cost_summary())
        .map_err(|_| anyhow::anyhow!("curator lock poisoned"))?;
    let mut totals = CostTotals {
        total_usd: cost.total_spend_usd,
        ..Default::default()
    };
    totals
        .by_source_usd
        .insert("human".into(), cost.human_spend_usd);
    totals
        .by_source_usd
        .insert("model".into(), cost.model_spend_usd);
    for (k, v) in [
        ("human", cost.cost_per_label_human_usd),
        ("model", cost.cost_per_label_model_usd),
        ("all", cost.cost_per_label_all_usd),
    ] {
        if let Some(v) = v {
            totals.cost_per_label_usd.insert(k.into(), v);
        }
    }
    let learning_curve = crate::curve::latest_classifier_manifest(ctx, &config.model_name)
        .await
        .ok()
        .flatten()
        .and_then(|m| m.get("learning_curve").cloned())
        .unwrap_or(serde_json::Value::Null);
    let manifest = dataset::commit(
        &ctx.storage,
        &config.dataset_name,
        &rows,
        CommitInfo {
            cost: totals,
            learning_curve,
            trigger: trigger.into(),
        },
    )
    .await?;
    if let Ok(mut n) = shared.rows_since_commit.lock() {
        *n = 0;
    }
    metrics::DATASET_VERSION.set(manifest.version as i64);
    metrics::DATASET_ROWS.set(manifest.rows as i64);
    tracing::info!(
        version = manifest.version,
        rows = manifest.rows,
        trigger,
        "dataset version committed"
    );
    Ok(manifest)
}

/// Timers: publish labels, commit datasets, expire leases, refresh metrics and the learning curve.
pub async fn housekeeping(
    ctx: ServiceContext,
    config: QueueServiceConfig,
    shared: Arc<Shared>,
) -> anyhow::Result<()> {
    let mut fast = tokio::time::interval(Duration::from_millis(500));
    let mut slow = tokio::time::interval(Duration::from_secs(5));
    let mut last_commit = std::time::Instant::now();
    let mut spend_seen = [0.0f64; 2];
    loop {
        tokio::select! {
            _ = ctx.shutdown.cancelled() => break,
            _ = fast.tick() => {
                if let Ok(mut c) = shared.curator.lock() {
                    c.expire_leases(now_ms());
                }
                publish_outbox(&ctx, &shared).await?;
                let new_rows = shared.rows_since_commit.lock().map(|n| *n).unwrap_or(0);
                let due = new_rows >= config.commit_every_labels
                    || (new_rows > 0 && last_commit.elapsed() >= Duration::from_secs(config.commit_every_secs));
                if due {
                    let trigger = if new_rows >= config.commit_every_labels { "labels" } else { "interval" };
                    match commit_dataset(&ctx, &config, &shared, trigger).await {
                        Ok(_) => last_commit = std::time::Instant::now(),
                        Err(e) => tracing::warn!(error = format!("{e:#}"), "dataset commit failed"),
                    }
                }
            }
            _ = slow.tick() => {
                crate::curve::follow_learning_curve(&ctx, &config, &shared).await;
                export_metrics(&shared, &mut spend_seen);
            }
        }
    }
    Ok(())
}

fn export_metrics(shared: &Shared, spend_seen: &mut [f64; 2]) {
    let Ok(c) = shared.curator.lock() else { return };
    let stats = c.stats();
    let cost = c.cost_summary();
    let agreement = c.agreement();
    let annotators = c.all_annotator_stats();
    metrics::AUTO_THRESHOLD.set(c.auto_label_threshold());
    metrics::SUSPENDED_LABELS.set(
        c.threshold_choice()
            .map_or(0, |choice| choice.suspended.len() as i64),
    );
    metrics::CAPPED_LABELS.set(c.capped_unjudged_labels().len() as i64);
    // Cohen's kappa is pairwise: report it for the two annotators with the most labels.
    let mut busiest: Vec<_> = annotators
        .iter()
        .map(|a| (a.labels, a.annotator.clone()))
        .collect();
    busiest.sort_by(|a, b| b.cmp(a));
    let cohen = match busiest.as_slice() {
        [(_, a), (_, b), ..] => c.cohen_kappa_between(a, b),
        _ => None,
    };
    drop(c);
    if let Some(k) = cohen {
        metrics::AGREEMENT.with_label_values(&["cohen"]).set(k);
    }
    metrics::QUEUE_TASKS
        .with_label_values(&["queued"])
        .set((stats.open_routine + stats.open_audit) as i64);
    metrics::QUEUE_TASKS
        .with_label_values(&["leased"])
        .set(stats.active_leases as i64);
    metrics::HUMAN_ROUTING.set(i64::from(stats.routing_stopped.is_none()));
    if let Some(p) = stats.audit_precision {
        metrics::AUTO_PRECISION.set(p);
    }
    for (source, value) in [
        ("human", cost.cost_per_label_human_usd),
        ("model", cost.cost_per_label_model_usd),
        ("all", cost.cost_per_label_all_usd),
    ] {
        metrics::COST_PER_LABEL
            .with_label_values(&[source])
            .set(value.unwrap_or(0.0));
    }
    for (i, (source, total)) in [
        ("human", cost.human_spend_usd),
        ("model", cost.model_spend_usd),
    ]
    .into_iter()
    .enumerate()
    {
        if total > spend_seen[i] {
            metrics::SPEND
                .with_label_values(&[source])
                .inc_by(total - spend_seen[i]);
            spend_seen[i] = total;
        }
    }
    metrics::BUDGET_REMAINING.set(cost.budget_remaining_usd.unwrap_or(f64::INFINITY).min(1e12));
    if let Some(k) = agreement.fleiss_kappa {
        metrics::AGREEMENT.with_label_values(&["fleiss"]).set(k);
    }
    for a in annotators {
        if let Some(acc) = a.gold_accuracy() {
            metrics::ANNOTATOR_ACCURACY
                .with_label_values(&[&a.annotator])
                .set(acc);
        }
    }
}
