//! Configuration shared by the service subcommands: flags, each with a `LATENTLABEL_*` variable,
//! plus an optional JSON file for the full per-service settings.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use latentlabel_common::registry::SchemaRegistry;
use latentlabel_common::{Codec, KafkaSettings, ServiceContext, Storage};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

#[derive(Args, Debug, Clone)]
pub struct ConnectionArgs {
    /// Kafka bootstrap servers, host:port[,host:port].
    #[arg(
        long,
        env = "LATENTLABEL_KAFKA_BOOTSTRAP",
        default_value = "localhost:9092"
    )]
    pub kafka_bootstrap: String,
    /// Prefix of every topic name.
    #[arg(long, env = "LATENTLABEL_TOPIC_PREFIX", default_value = "latentlabel.")]
    pub topic_prefix: String,
    /// Extra librdkafka property, key=value (repeatable), e.g. security.protocol=SSL.
    #[arg(
        long = "kafka-option",
        value_name = "KEY=VALUE",
        env = "LATENTLABEL_KAFKA_OPTIONS",
        value_delimiter = ','
    )]
    pub kafka_options: Vec<String>,
    /// Partitions of the topics this process creates.
    #[arg(long, env = "LATENTLABEL_PARTITIONS", default_value_t = 3)]
    pub partitions: i32,
    /// Replication factor of the topics this process creates.
    #[arg(long, env = "LATENTLABEL_REPLICATION", default_value_t = 1)]
    pub replication: i32,
    /// Confluent Schema Registry URL; when set, records use Confluent framing instead of
    /// Avro single-object encoding.
    #[arg(long, env = "LATENTLABEL_SCHEMA_REGISTRY_URL")]
    pub schema_registry_url: Option<String>,
}

impl ConnectionArgs {
    pub fn kafka_settings(
        &self,
        bootstrap_override: Option<String>,
    ) -> anyhow::Result<KafkaSettings> {
        let client_options = self
            .kafka_options
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    .with_context(|| format!("--kafka-option {kv:?} is not key=value"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(KafkaSettings {
            bootstrap_servers: bootstrap_override.unwrap_or_else(|| self.kafka_bootstrap.clone()),
            topic_prefix: self.topic_prefix.clone(),
            client_options,
            partitions: self.partitions,
            replication: self.replication,
        })
    }

    pub async fn codec(&self) -> anyhow::Result<Codec> {
        let Some(url) = &self.schema_registry_url else {
            return Ok(Codec::single_object());
        };
        let codec = Codec::with_registry(SchemaRegistry::new(url)?);
        use latentlabel_common::records::*;
        codec.register::<RawDocument>().await?;
        codec.register::<TokenizedDocument>().await?;
        codec.register::<ModelSnapshot>().await?;
        codec.register::<ScoredDocument>().await?;
        codec.register::<LabelEvent>().await?;
        codec.register::<DeadLetter>().await?;
        codec.register::<AnnotationEvent>().await?;
        Ok(codec)
    }
}

#[derive(Args, Debug, Clone)]
pub struct ServiceArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Object store: file:///dir, a plain directory, or s3://bucket/prefix.
    #[arg(
        long,
        env = "LATENTLABEL_OBJECT_STORE_URL",
        default_value = "./latentlabel-data"
    )]
    pub object_store_url: String,
    /// HTTP address for /metrics, /healthz, /readyz and the service's API.
    #[arg(long, env = "LATENTLABEL_HTTP_ADDR", default_value = "0.0.0.0:8080")]
    pub http_addr: String,
    /// JSON file with per-service settings: {"ingest": {...}, "lda_trainer": {...}, "scoring": {...},
    /// "labeling_queue": {...}}; see docs/CONFIGURATION.md (`latentlabel config` prints every default).
    #[arg(long, env = "LATENTLABEL_CONFIG")]
    pub config: Option<PathBuf>,
    /// Do not try to create topics (for clusters where that is not allowed).
    #[arg(long, env = "LATENTLABEL_NO_CREATE_TOPICS")]
    pub no_create_topics: bool,
}

/// Full settings of every service, from the `--config` file; absent sections take defaults.
#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    pub ingest: latentlabel_ingest::IngestConfig,
    pub lda_trainer: latentlabel_lda_trainer::TrainerConfig,
    pub scoring: latentlabel_scoring::ScoringConfig,
    pub labeling_queue: latentlabel_labeling_queue::QueueServiceConfig,
}

impl PipelineConfig {
    pub fn load(path: Option<&PathBuf>) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("parsing config file {}", path.display()))
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Which {
    Ingest,
    LdaTrainer,
    Scoring,
    LabelingQueue,
}

pub async fn context(
    args: &ServiceArgs,
    bootstrap: Option<String>,
    shutdown: CancellationToken,
) -> anyhow::Result<ServiceContext> {
    let kafka = args.connection.kafka_settings(bootstrap)?;
    let storage = Storage::from_url(&args.object_store_url)?;
    let codec = args.connection.codec().await?;
    ServiceContext::new(kafka, storage, codec, shutdown)
}

/// One service in this process: the shape of a Kubernetes pod.
pub async fn run_single(args: ServiceArgs, which: Which) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    latentlabel_common::service::cancel_on_signals(shutdown.clone());
    let config = PipelineConfig::load(args.config.as_ref())?;
    let ctx = context(&args, None, shutdown).await?;
    if !args.no_create_topics {
        if let Err(e) = ctx.kafka.ensure_topics().await {
            tracing::warn!(error = %e, "could not ensure topics exist");
        }
    }
    let listener = latentlabel_common::http::bind(&args.http_addr).await?;
    let service = match which {
        Which::Ingest => latentlabel_ingest::start(&ctx, config.ingest).await?,
        Which::LdaTrainer => latentlabel_lda_trainer::start(&ctx, config.lda_trainer).await?,
        Which::Scoring => latentlabel_scoring::start(&ctx, config.scoring).await?,
        Which::LabelingQueue => {
            latentlabel_labeling_queue::start(&ctx, config.labeling_queue).await?
        }
    };
    latentlabel_common::service::run_services(&ctx, vec![service], listener).await
}
