//! Kafka clients, configured once for every service.
//!
//! Delivery is at-least-once with idempotent effects:
//! - producers are idempotent (`enable.idempotence`), so broker-side retries never duplicate;
//! - consumers never auto-store offsets; a service stores an offset only after everything the
//!   record produced is acknowledged (see [`crate::pipeline`]), and librdkafka's auto-commit then
//!   commits only stored offsets;
//! - records are keyed by document id so one document's events stay ordered on one partition.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};

/// Largest record our topics accept (the topic-level `max.message.bytes` we create them with).
/// Services keep their outputs under it: ingest caps documents and dead-letter payloads.
pub const MAX_RECORD_BYTES: usize = 8 * 1024 * 1024;
const MAX_RECORD_BYTES_STR: &str = "8388608";

/// Where Kafka is and how to talk to it.
#[derive(Clone, Debug)]
pub struct KafkaSettings {
    /// Comma-separated `host:port` list.
    pub bootstrap_servers: String,
    /// Prepended to every topic name, e.g. `latentlabel.`.
    pub topic_prefix: String,
    /// Extra librdkafka properties (`key=value`), applied last so operators can override anything,
    /// e.g. `security.protocol=SASL_SSL` or test-friendly `session.timeout.ms`.
    pub client_options: Vec<(String, String)>,
    /// Partitions for topics we create.
    pub partitions: i32,
    /// Replication factor for topics we create.
    pub replication: i32,
}

impl KafkaSettings {
    pub fn topics(&self) -> Topics {
        Topics::new(&self.topic_prefix)
    }

    fn base_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap_servers);
        config
    }

    fn apply_overrides(&self, config: &mut ClientConfig) {
        for (k, v) in &self.client_options {
            config.set(k, v);
        }
    }

    /// Overrides minus consumer-group properties, which librdkafka warns about on producers.
    fn apply_producer_overrides(&self, config: &mut ClientConfig) {
        const CONSUMER_ONLY: &[&str] = &[
            "session.timeout.ms",
            "heartbeat.interval.ms",
            "max.poll.interval.ms",
            "auto.offset.reset",
            "group.instance.id",
        ];
        for (k, v) in &self.client_options {
            if !CONSUMER_ONLY.contains(&k.as_str()) {
                config.set(k, v);
            }
        }
    }

    /// An idempotent producer. `acks=all` is implied by idempotence.
    pub fn producer(&self) -> Result<Producer, KafkaError> {
        let mut config = self.base_config();
        config
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            .set("compression.type", "lz4")
            .set("message.timeout.ms", "120000")
            // The client-side cap; what a broker accepts is the topic's max.message.bytes, which
            // ensure_topics sets to MAX_RECORD_BYTES.
            .set("message.max.bytes", "16777216");
        self.apply_producer_overrides(&mut config);
        Ok(Producer {
            inner: config.create()?,
        })
    }

    /// A consumer in `group_id` with manual offset storage. `earliest` because a new group must
    /// see the documents that arrived before it started.
    pub fn consumer(&self, group_id: &str) -> Result<StreamConsumer, KafkaError> {
        let mut config = self.base_config();
        config
            .set("group.id", group_id)
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "1000")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false");
        self.apply_overrides(&mut config);
        config.create()
    }

    /// Marks `ready` once the cluster answers a metadata request for `topic`, retrying every two
    /// seconds until `shutdown`: readiness means "connected to Kafka", not "process started".
    pub fn report_ready_when_connected(
        &self,
        topic: &str,
        ready: std::sync::Arc<std::sync::atomic::AtomicBool>,
        shutdown: tokio_util::sync::CancellationToken,
    ) {
        let settings = self.clone();
        let topic = topic.to_string();
        tokio::spawn(async move {
            while !shutdown.is_cancelled() {
                let (s, t) = (settings.clone(), topic.clone());
                let connected = tokio::task::spawn_blocking(move || {
                    let probe: rdkafka::consumer::BaseConsumer = {
                        let mut config = s.base_config();
                        s.apply_overrides(&mut config);
                        config.create()?
                    };
                    probe
                        .fetch_metadata(Some(&t), Duration::from_secs(5))
                        .map(|_| ())
                })
                .await;
                if matches!(connected, Ok(Ok(()))) {
                    ready.store(true, std::sync::atomic::Ordering::Relaxed);
                    return;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        });
    }

    /// Creates our topics if missing. Clusters that forbid topic creation answer with an error we
    /// only log: the topics must then exist already.
    pub async fn ensure_topics(&self) -> Result<(), KafkaError> {
        let mut config = self.base_config();
        self.apply_producer_overrides(&mut config);
        let admin: AdminClient<DefaultClientContext> = config.create()?;
        let topics = self.topics();
        let names = topics.all();
        let new_topics: Vec<NewTopic<'_>> = names
            .iter()
            .map(|name| {
                let partitions = if name == &topics.models {
                    1
                } else {
                    self.partitions
                };
                NewTopic::new(name, partitions, TopicReplication::Fixed(self.replication))
                    .set("max.message.bytes", MAX_RECORD_BYTES_STR)
            })
            .collect();
        let options =
            AdminOptions::new().operation_timeout(Some(Timeout::After(Duration::from_secs(10))));
        for result in admin.create_topics(new_topics.iter(), &options).await? {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => tracing::warn!(%topic, ?code, "could not create topic"),
            }
        }
        Ok(())
    }
}

/// Topic names, prefixed.
#[derive(Clone, Debug)]
pub struct Topics {
    pub raw: String,
    pub tokens: String,
    pub models: String,
    pub scored: String,
    pub labels: String,
    pub annotations: String,
    pub deadletter: String,
}

impl Topics {
    pub fn new(prefix: &str) -> Self {
        Self {
            raw: format!("{prefix}documents.raw"),
            tokens: format!("{prefix}documents.tokens"),
            models: format!("{prefix}models"),
            scored: format!("{prefix}documents.scored"),
            labels: format!("{prefix}labels"),
            annotations: format!("{prefix}annotations"),
            deadletter: format!("{prefix}deadletter"),
        }
    }

    pub fn all(&self) -> Vec<String> {
        vec![
            self.raw.clone(),
            self.tokens.clone(),
            self.models.clone(),
            self.scored.clone(),
            self.labels.clone(),
            self.annotations.clone(),
            self.deadletter.clone(),
        ]
    }
}

/// One record to send.
#[derive(Clone, Debug)]
pub struct OutRecord {
    pub topic: String,
    pub key: Option<String>,
    pub payload: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

impl OutRecord {
    pub fn new(topic: &str, key: impl Into<String>, payload: Vec<u8>) -> Self {
        Self {
            topic: topic.to_string(),
            key: Some(key.into()),
            payload,
            headers: Vec::new(),
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// Idempotent producer shared by all tasks of a service. Cheap to clone.
#[derive(Clone)]
pub struct Producer {
    inner: FutureProducer,
}

impl Producer {
    /// Sends and waits for the broker's acknowledgement. With idempotence on, librdkafka retries
    /// transient failures itself until `message.timeout.ms`; an error here is final.
    pub async fn send(&self, record: &OutRecord) -> Result<(i32, i64), KafkaError> {
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        for (name, value) in &record.headers {
            headers = headers.insert(rdkafka::message::Header {
                key: name,
                value: Some(value.as_bytes()),
            });
        }
        let mut fr = FutureRecord::to(&record.topic)
            .payload(&record.payload)
            .headers(headers);
        if let Some(key) = &record.key {
            fr = fr.key(key);
        }
        let delivery = self
            .inner
            .send(fr, Timeout::Never)
            .await
            .map_err(|(e, _)| e)?;
        Ok((delivery.partition, delivery.offset))
    }

    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.inner.flush(Timeout::After(timeout))
    }

    pub fn inner(&self) -> &FutureProducer {
        &self.inner
    }
}

/// Partition ids of `topic`. A blocking metadata request, run with `block_in_place` so it does
/// not stall the runtime's other tasks.
pub fn partitions(consumer: &StreamConsumer, topic: &str) -> anyhow::Result<Vec<i32>> {
    let metadata = tokio::task::block_in_place(|| {
        consumer.fetch_metadata(Some(topic), Duration::from_secs(10))
    })
    .map_err(|e| anyhow::anyhow!("fetching metadata of {topic}: {e}"))?;
    let ids: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    anyhow::ensure!(
        !ids.is_empty(),
        "topic {topic} has no partitions (does it exist?)"
    );
    Ok(ids)
}

/// Assigns every partition of `topic`, each starting at `start(partition)`. Services that keep
/// their offsets with their own state (trainer, labeling queue) seek to them this way instead of
/// trusting the group's committed offsets.
pub fn assign_partitions(
    consumer: &StreamConsumer,
    topic: &str,
    start: impl Fn(i32) -> Offset,
) -> anyhow::Result<()> {
    let mut tpl = TopicPartitionList::new();
    for p in partitions(consumer, topic)? {
        tpl.add_partition_offset(topic, p, start(p))?;
    }
    consumer.assign(&tpl)?;
    Ok(())
}

/// Sum over the assigned partitions of (high watermark - position): what this consumer has yet to read.
pub fn consumer_lag(consumer: &StreamConsumer) -> Option<i64> {
    let assignment = consumer.assignment().ok()?;
    let positions = consumer.position().ok()?;
    let mut lag = 0i64;
    for elem in assignment.elements() {
        let (_, high) = consumer
            .fetch_watermarks(elem.topic(), elem.partition(), Duration::from_millis(500))
            .ok()?;
        let position = positions
            .find_partition(elem.topic(), elem.partition())
            .and_then(|p| p.offset().to_raw())
            .filter(|o| *o >= 0)
            .unwrap_or(0);
        lag += (high - position).max(0);
    }
    Some(lag)
}
