//! The embedded broker for `latentlabel up` and the tests: librdkafka's mock cluster, a real
//! Kafka-protocol broker listening on TCP. Services talk to it with exactly the client code they
//! use against a production cluster.

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

use crate::kafka::Topics;

pub struct EmbeddedKafka {
    cluster: MockCluster<'static, DefaultProducerContext>,
}

impl EmbeddedKafka {
    /// Starts `brokers` mock brokers and creates our topics with `partitions` partitions each.
    pub fn start(brokers: i32, topics: &Topics, partitions: i32) -> anyhow::Result<Self> {
        let cluster = MockCluster::new(brokers)
            .map_err(|e| anyhow::anyhow!("starting the embedded Kafka broker: {e}"))?;
        for topic in topics.all() {
            let parts = if topic == topics.models {
                1
            } else {
                partitions
            };
            cluster.create_topic(&topic, parts, 1).map_err(|e| {
                anyhow::anyhow!("creating topic {topic} on the embedded broker: {e}")
            })?;
        }
        Ok(Self { cluster })
    }

    /// `127.0.0.1:PORT,...`, usable by any Kafka client while this value lives.
    pub fn bootstrap_servers(&self) -> String {
        self.cluster.bootstrap_servers()
    }
}
