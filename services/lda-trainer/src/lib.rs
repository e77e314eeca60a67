//! # lda-trainer: topics learned online
//!
//! Consumes `TokenizedDocument`s and trains online variational Bayes LDA (Hoffman, Blei & Bach
//! 2010; the algorithm lives in the pure `latentlabel-lda` crate) in mini-batches.
//!
//! ```text
//! documents.tokens ──► held-out slice (by id hash) ──► perplexity, coherence
//!                  └─► mini-batch ──► update lambda ──► snapshot: models/<m>/vNNNNNN/ + models topic
//!                                                  └─► checkpoint: state + offsets
//! ```
//!
//! # Layout
//! - [`config`]: knobs and defaults.
//! - [`trainer`]: the state machine between batches (vocabulary, held-out set, offsets).
//! - [`snapshot`]: the model snapshot format (shared with scoring).
//! - [`checkpoint`]: state + offsets, for exactly-once training across restarts.
//! - [`metrics`]: trainer metrics.
//!
//! The trainer is a single replica (it owns the checkpoint). It assigns partitions itself and
//! seeks to its checkpointed offsets; the consumer group's committed offsets are only a hint for
//! lag monitoring, as in Quickwit's Kafka source.

pub mod checkpoint;
pub mod config;
pub mod metrics;
pub mod snapshot;
pub mod trainer;

use latentlabel_common::{pipeline, Service, ServiceContext};
use rdkafka::message::Message;

pub use config::TrainerConfig;
pub use trainer::Trainer;

pub const SERVICE: &str = "lda-trainer";

pub async fn start(ctx: &ServiceContext, config: TrainerConfig) -> anyhow::Result<Service> {
    config.validate()?;
    latentlabel_common::metrics::init(SERVICE);
    metrics::init();
    let trainer = Trainer::restore(ctx, config.clone()).await?;
    let consumer = ctx.kafka.consumer(&config.group_id)?;
    trainer.assign(&consumer, &ctx.topics.tokens)?;
    ctx.health
        .component(SERVICE)
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let ctx = ctx.clone();
    let task = tokio::spawn(async move { run_loop(ctx, config, consumer, trainer).await });
    Ok(Service {
        name: SERVICE,
        routes: axum::Router::new(),
        task,
    })
}

async fn run_loop(
    ctx: ServiceContext,
    config: TrainerConfig,
    consumer: rdkafka::consumer::StreamConsumer,
    mut trainer: Trainer,
) -> anyhow::Result<()> {
    let consumed = latentlabel_common::metrics::KAFKA_CONSUMED.with_label_values(&[SERVICE]);
    let mut last_lag = std::time::Instant::now();
    loop {
        let next = tokio::select! {
            _ = ctx.shutdown.cancelled() => break,
            r = tokio::time::timeout(config.batch_timeout(), consumer.recv()) => r,
        };
        match next {
            // Quiet stream: train what we have so a slow trickle still moves the model.
            Err(_elapsed) => {
                if trainer.has_pending() {
                    trainer.train_pending().await?;
                    after_update(&ctx, &mut trainer, &consumer).await?;
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "kafka consume error");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Ok(Ok(msg)) => {
                consumed.inc();
                if let Some(letter) = trainer.accept(&ctx, &msg) {
                    tracing::warn!(
                        partition = msg.partition(),
                        offset = msg.offset(),
                        "undecodable tokenized document"
                    );
                    pipeline::send_all(SERVICE, &ctx.producer, &[letter]).await?;
                }
                if trainer.batch_full() {
                    trainer.train_pending().await?;
                    after_update(&ctx, &mut trainer, &consumer).await?;
                }
            }
        }
        if last_lag.elapsed() > std::time::Duration::from_secs(5) {
            if let Some(lag) =
                tokio::task::block_in_place(|| latentlabel_common::kafka::consumer_lag(&consumer))
            {
                latentlabel_common::metrics::KAFKA_LAG
                    .with_label_values(&[SERVICE])
                    .set(lag);
            }
            last_lag = std::time::Instant::now();
        }
    }
    // The pending partial batch is not trained: its documents lie after the checkpointed offsets
    // and will be read again on restart.
    trainer.checkpoint(&ctx, &consumer).await?;
    tracing::info!(
        updates = trainer.model().updates(),
        docs_seen = trainer.model().docs_seen(),
        "trainer stopped"
    );
    Ok(())
}

async fn after_update(
    ctx: &ServiceContext,
    trainer: &mut Trainer,
    consumer: &rdkafka::consumer::StreamConsumer,
) -> anyhow::Result<()> {
    if trainer.snapshot_due() {
        trainer.publish_snapshot(ctx).await?;
    }
    if trainer.checkpoint_due() {
        trainer.checkpoint(ctx, consumer).await?;
    }
    Ok(())
}
