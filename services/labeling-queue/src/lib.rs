//! # labeling-queue: humans in the loop
//!
//! ```text
//! documents.scored ──► curator.offer ──► auto-label (confident) ──────────┐
//!                                   └──► task queue (most informative) ──► annotators (API, page)
//!                                                                          │ annotations topic (durable judgments)
//!                      finalized labels ──► labels topic ──► dataset rows ──► datasets/<name>/vNNNNNN/
//! ```
//!
//! The routing, queue, consensus and cost logic is the pure `latentlabel-curation` crate; this
//! crate is its plumbing.
//!
//! # Layout
//! - [`config`]: service settings (the policy itself is `CurationConfig`).
//! - [`queue`]: shared state and record conversions.
//! - [`service`]: rebuild, routing loop, outbox, dataset commits, checkpoints, metrics export.
//! - [`dataset`]: versioned Parquet datasets.
//! - [`curve`]: following scoring's learning curve (plateau, gain per label).
//! - [`api`], [`auth`], [`openapi`]: the HTTP API and the annotator page (`web/index.html`).
//! - [`metrics`]: labeling metrics.

pub mod api;
pub mod auth;
pub mod config;
pub mod curve;
pub mod dataset;
pub mod metrics;
pub mod openapi;
pub mod queue;
pub mod rescore;
pub mod service;

use std::sync::{Arc, Mutex};

use latentlabel_common::{Service, ServiceContext};

pub use config::{AnnotatorConfig, QueueServiceConfig, RescoreConfig};

pub const SERVICE: &str = "labeling-queue";

pub async fn start(ctx: &ServiceContext, config: QueueServiceConfig) -> anyhow::Result<Service> {
    let config = config.resolve()?;
    latentlabel_common::metrics::init(SERVICE);
    metrics::init(
        &config
            .annotators
            .iter()
            .map(|a| a.name.clone())
            .collect::<Vec<_>>(),
    );
    let rebuilt = service::rebuild(ctx, &config).await?;
    let offsets = rebuilt.scored_offsets;
    let mut display = queue::DisplayCache::new(50_000);
    for (doc_id, d) in rebuilt.display {
        display.insert(&doc_id, d);
    }
    let shared = Arc::new(queue::Shared {
        curator: Mutex::new(rebuilt.curator),
        display: Mutex::new(display),
        rows: Mutex::new(rebuilt.rows),
        rows_since_commit: Mutex::new(0),
        publishing: tokio::sync::Mutex::new(()),
    });
    if let Ok(Some(v)) = ctx
        .storage
        .latest_version(&dataset::prefix(&config.dataset_name))
        .await
    {
        metrics::DATASET_VERSION.set(v as i64);
    }
    let tokens = auth::Tokens::new(&config.annotators, config.admin_token.as_deref());
    let routes = api::routes(api::ApiState {
        ctx: ctx.clone(),
        config: Arc::new(config.clone()),
        shared: shared.clone(),
        tokens,
    });
    ctx.health
        .component(SERVICE)
        .store(true, std::sync::atomic::Ordering::Relaxed);

    let housekeeping = tokio::spawn(service::housekeeping(
        ctx.clone(),
        config.clone(),
        shared.clone(),
    ));
    let rescoring = tokio::spawn(rescore::rescore_loop(
        ctx.clone(),
        config.rescore.clone(),
        shared.clone(),
    ));
    let ctx = ctx.clone();
    let task = tokio::spawn(async move {
        let routed = service::route_scored(ctx, config, shared, offsets).await;
        let kept = housekeeping
            .await
            .map_err(|e| anyhow::anyhow!("housekeeping task: {e}"))
            .and_then(|r| r);
        let rescored = rescoring
            .await
            .map_err(|e| anyhow::anyhow!("re-scoring task: {e}"))
            .and_then(|r| r);
        routed.and(kept).and(rescored)
    });
    Ok(Service {
        name: SERVICE,
        routes,
        task,
    })
}
