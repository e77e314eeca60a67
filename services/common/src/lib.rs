//! Shared plumbing for the latentlabel services, written once.
//!
//! # Layout
//! - [`records`]: Rust mirrors of `schemas/*.avsc`.
//! - [`avro`]: the codec (single-object encoding, or Confluent framing with [`registry`]).
//! - [`kafka`]: settings, topic names, idempotent producer, manual-offset consumers.
//! - [`embedded`]: the embedded Kafka-protocol broker for `latentlabel up` and tests.
//! - [`pipeline`]: the ordered consume → transform → produce loop with at-least-once offsets.
//! - [`deadletter`]: dead-letter records, one format for every service.
//! - [`storage`]: object storage (local directory or S3) with create-only versioned manifests.
//! - [`parquet_io`]: Arrow batches to and from Parquet bytes.
//! - [`metrics`]: shared Prometheus metrics; [`http`]: JSON errors, health, `/metrics`.
//! - [`service`]: the context every service runs with, and running one or many in a process.
//! - [`split`]: deterministic sampling by document id.

pub mod avro;
pub mod deadletter;
pub mod embedded;
pub mod http;
pub mod kafka;
pub mod metrics;
pub mod parquet_io;
pub mod pipeline;
pub mod records;
pub mod registry;
pub mod service;
pub mod split;
pub mod storage;

pub use avro::{AvroRecord, Codec, CodecError};
pub use http::{ApiError, Health};
pub use kafka::{KafkaSettings, OutRecord, Producer, Topics};
pub use service::{Service, ServiceContext};
pub use storage::Storage;
