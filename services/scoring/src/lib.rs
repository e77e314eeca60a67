//! # scoring: topic mixtures and calibrated labels
//!
//! ```text
//! documents.tokens ──► theta (newest model) ──► label + confidence ──► documents.scored
//! models ──► hot reload (background load, atomic swap)
//! labels ──► label book ──► classifier refits ──► classifiers/<model>/vNNNNNN/ + learning curve
//! HTTP: POST /v1/score, GET /v1/model, GET /v1/classifier
//! ```
//!
//! # Layout
//! - [`config`]: knobs and defaults.
//! - [`model`]: the topic model in use and its atomic slot.
//! - [`labels`]: the label book, refits, the classifier slot.
//! - [`scorer`]: one document's score, shared by stream and HTTP.
//! - [`stream`]: the Kafka consumers (documents, models, labels).
//! - [`tokenizer_check`]: does ingest tokenize as this replica does?
//! - [`publish`]: classifier versions in object storage.
//! - [`api`]: the HTTP API and its OpenAPI description.
//! - [`metrics`]: scoring and classifier metrics.

pub mod api;
pub mod config;
pub mod labels;
pub mod metrics;
pub mod model;
pub mod publish;
pub mod scorer;
pub mod stream;
pub mod tokenizer_check;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use latentlabel_common::{pipeline, Service, ServiceContext};
use latentlabel_text::Tokenizer;

pub use config::ScoringConfig;

pub const SERVICE: &str = "scoring";

pub async fn start(ctx: &ServiceContext, config: ScoringConfig) -> anyhow::Result<Service> {
    config.validate()?;
    latentlabel_common::metrics::init(SERVICE);
    metrics::init();
    let tokenizer = Arc::new(
        Tokenizer::new(config.tokenizer.clone())
            .map_err(|e| anyhow::anyhow!("scoring tokenizer: {e}"))?,
    );
    let models = model::ModelSlot::default();
    let classifier = labels::ClassifierSlot::new(config.classifier.plateau_window);
    let recent = Arc::new(Mutex::new(labels::RecentDocuments::new(
        config.recent_documents,
    )));
    let ready = ctx.health.component(SERVICE);

    let routes = api::routes(api::ApiState {
        models: models.clone(),
        classifier: classifier.clone(),
        tokenizer,
        config: Arc::new(config.clone()),
    });

    let models_task = tokio::spawn(stream::follow_models(
        ctx.clone(),
        config.clone(),
        models.clone(),
    ));
    let labels_task = tokio::spawn(stream::learn_labels(
        ctx.clone(),
        config.clone(),
        models.clone(),
        classifier.clone(),
        recent.clone(),
    ));
    let ctx = ctx.clone();
    let task = tokio::spawn(async move {
        // Scoring without a model is impossible, and consuming would only build lag we then
        // report wrongly; wait for the first snapshot before joining the group.
        while models.get().is_none() {
            tokio::select! {
                _ = ctx.shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
        ready.store(true, Ordering::Relaxed);
        let consumer = ctx.kafka.consumer(&config.group_id)?;
        rdkafka::consumer::Consumer::subscribe(&consumer, &[ctx.topics.tokens.as_str()])?;
        let transform = Arc::new(stream::ScoreTransform {
            codec: ctx.codec.clone(),
            topics: ctx.topics.clone(),
            models,
            classifier,
            recent,
            tokenizer_check: tokenizer_check::TokenizerCheck::new(config.tokenizer.fingerprint()),
            config: config.clone(),
        });
        let result = pipeline::run_transform(
            SERVICE,
            consumer,
            ctx.producer.clone(),
            transform,
            config.max_in_flight,
            ctx.shutdown.clone(),
        )
        .await;
        for (name, t) in [("models", models_task), ("labels", labels_task)] {
            match t.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(
                    task = name,
                    error = format!("{e:#}"),
                    "scoring background task failed"
                ),
                Err(e) => {
                    tracing::warn!(task = name, error = %e, "scoring background task panicked")
                }
            }
        }
        result
    });
    Ok(Service {
        name: SERVICE,
        routes,
        task,
    })
}
