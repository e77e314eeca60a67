//! The consume → transform → produce loop shared by the stateless services (ingest, scoring).
//!
//! Records are processed concurrently (each on its own task, so a multi-core machine is used)
//! but their offsets are stored strictly in consumption order, and only once every record the
//! input produced has been acknowledged by Kafka. A crash therefore replays at most the
//! in-flight window, never skips a record. `max_in_flight` bounds memory: when the window is
//! full we stop reading from Kafka (back-pressure instead of buffering).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{FuturesOrdered, StreamExt};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message, OwnedMessage};
use tokio_util::sync::CancellationToken;

use crate::kafka::{OutRecord, Producer};
use crate::metrics;

/// A record as consumed, detached from the consumer's buffers.
#[derive(Clone, Debug)]
pub struct Incoming {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Incoming {
    pub fn from_message(msg: &OwnedMessage) -> Self {
        let headers = msg
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| (h.key.to_string(), h.value.unwrap_or_default().to_vec()))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            topic: msg.topic().to_string(),
            partition: msg.partition(),
            offset: msg.offset(),
            key: msg.key().map(<[u8]>::to_vec),
            payload: msg.payload().map(<[u8]>::to_vec).unwrap_or_default(),
            headers,
        }
    }

    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    pub fn key_str(&self) -> Option<&str> {
        self.key
            .as_deref()
            .and_then(|k| std::str::from_utf8(k).ok())
    }
}

/// Turns one input record into the records to produce. Must not fail: inputs it cannot accept
/// become dead letters among its outputs.
pub trait Transform: Send + Sync + 'static {
    fn process(&self, record: Incoming) -> impl Future<Output = Vec<OutRecord>> + Send;
}

/// Runs until `shutdown`, then drains the in-flight window and commits synchronously.
pub async fn run_transform<T: Transform>(
    service: &'static str,
    consumer: StreamConsumer,
    producer: Producer,
    transform: Arc<T>,
    max_in_flight: usize,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let consumed = metrics::KAFKA_CONSUMED.with_label_values(&[service]);
    let mut in_flight = FuturesOrdered::new();
    let mut result = Ok(());
    loop {
        tokio::select! {
            biased;
            Some(done) = in_flight.next(), if !in_flight.is_empty() => {
                if let Err(e) = store(&consumer, done) {
                    result = Err(e);
                    break;
                }
            }
            _ = shutdown.cancelled() => break,
            msg = consumer.recv(), if in_flight.len() < max_in_flight => {
                let msg = match msg {
                    Ok(m) => m.detach(),
                    Err(e) => {
                        tracing::warn!(service, error = %e, "kafka consume error");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                };
                consumed.inc();
                let incoming = Incoming::from_message(&msg);
                let transform = transform.clone();
                let producer = producer.clone();
                in_flight.push_back(tokio::spawn(async move {
                    let position = (incoming.topic.clone(), incoming.partition, incoming.offset);
                    let outputs = transform.process(incoming).await;
                    send_all(service, &producer, &outputs).await?;
                    Ok::<_, anyhow::Error>(position)
                }));
            }
        }
    }
    // Finish what was started: its outputs may already be on their way.
    while let Some(done) = in_flight.next().await {
        if let Err(e) = store(&consumer, done) {
            result = result.and(Err(e));
        }
    }
    if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
        // NoOffset just means nothing new was stored since the last auto-commit.
        tracing::debug!(service, error = %e, "final commit");
    }
    tracing::info!(service, "consumer stopped");
    result
}

type Position = (String, i32, i64);

fn store(
    consumer: &StreamConsumer,
    done: Result<anyhow::Result<Position>, tokio::task::JoinError>,
) -> anyhow::Result<()> {
    let (topic, partition, offset) =
        done.map_err(|e| anyhow::anyhow!("record task failed: {e}"))??;
    // Fails only when the partition was revoked by a rebalance; its new owner replays from the
    // last commit, which is the at-least-once contract.
    if let Err(e) = consumer.store_offset(&topic, partition, offset) {
        tracing::debug!(%topic, partition, offset, error = %e, "offset not stored");
    }
    Ok(())
}

/// Sends all records concurrently and waits for every acknowledgement.
pub async fn send_all(
    service: &'static str,
    producer: &Producer,
    records: &[OutRecord],
) -> anyhow::Result<()> {
    let sends = records.iter().map(|r| producer.send(r));
    for (record, outcome) in records.iter().zip(futures::future::join_all(sends).await) {
        match outcome {
            Ok(_) => metrics::KAFKA_PRODUCED.with_label_values(&[service]).inc(),
            Err(e) => {
                metrics::KAFKA_PRODUCE_ERRORS
                    .with_label_values(&[service])
                    .inc();
                return Err(anyhow::anyhow!("producing to {}: {e}", record.topic));
            }
        }
    }
    Ok(())
}
