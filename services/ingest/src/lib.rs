//! # ingest: the front door
//!
//! Consumes raw documents, validates them, detects duplicate content, preprocesses the text into a
//! bag of words, and publishes `TokenizedDocument`s. Anything it cannot accept goes to the
//! dead-letter topic with a reason code and the original bytes; nothing is dropped silently.
//!
//! ```text
//! documents.raw ──► decode ──► validate ──► dedup ──► tokenize ──► documents.tokens
//!                     └──────────┴────────────┴──────────┴──────► deadletter (reason)
//! ```
//!
//! # Layout
//! - [`config`]: every knob, with defaults.
//! - [`decode`]: Avro (single-object / Confluent) or JSON, told apart by header or first byte.
//! - [`dedup`]: bounded-memory content-hash window.
//! - [`transform`]: one raw record in, one tokenized document or one dead letter out.
//! - [`metrics`]: ingest counters.
//!
//! Scaling: replicas share the consumer group `latentlabel-ingest`. The transform is a pure
//! function of the record (and, for duplicate detection, of the replica's recent history), so
//! replicas produce identical output for identical input.

pub mod config;
pub mod decode;
pub mod dedup;
pub mod metrics;
pub mod transform;

use std::sync::Arc;

use latentlabel_common::{pipeline, Service, ServiceContext};

pub use config::{DuplicateMode, IngestConfig};
pub use transform::IngestTransform;

pub const SERVICE: &str = "ingest";

/// Starts consuming; the returned service's task ends after shutdown once in-flight records are
/// flushed and their offsets committed.
pub async fn start(ctx: &ServiceContext, config: IngestConfig) -> anyhow::Result<Service> {
    config.validate()?;
    latentlabel_common::metrics::init(SERVICE);
    metrics::init();
    let transform = Arc::new(IngestTransform::new(
        &config,
        ctx.codec.clone(),
        ctx.topics.clone(),
    )?);
    let consumer = ctx.kafka.consumer(&config.group_id)?;
    rdkafka::consumer::Consumer::subscribe(&consumer, &[ctx.topics.raw.as_str()])?;
    ctx.kafka.report_ready_when_connected(
        &ctx.topics.raw,
        ctx.health.component(SERVICE),
        ctx.shutdown.clone(),
    );
    let task = tokio::spawn(pipeline::run_transform(
        SERVICE,
        consumer,
        ctx.producer.clone(),
        transform,
        config.max_in_flight,
        ctx.shutdown.clone(),
    ));
    Ok(Service {
        name: SERVICE,
        routes: axum::Router::new(),
        task,
    })
}
