//! `latentlabel up`: the whole pipeline in one process, the laptop default.
//!
//! The same four services and the same Kafka client code as a production deployment; only the
//! broker is embedded (librdkafka's mock cluster, a Kafka-protocol broker on a TCP port that any
//! external client can use too) and the object store is a local directory.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use latentlabel_common::embedded::EmbeddedKafka;
use latentlabel_common::{ServiceContext, Topics};
use tokio_util::sync::CancellationToken;

use crate::args::{ConnectionArgs, PipelineConfig, ServiceArgs};

#[derive(Args, Debug)]
pub struct UpArgs {
    /// Directory for models, checkpoints and datasets (the local object store).
    #[arg(
        long,
        env = "LATENTLABEL_DATA_DIR",
        default_value = "./latentlabel-data"
    )]
    pub data_dir: PathBuf,
    /// HTTP address for the API, the annotator page and /metrics.
    #[arg(long, env = "LATENTLABEL_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: String,
    /// Feed generated demo documents and run simulated annotators.
    #[arg(long)]
    pub demo: bool,
    /// Number of demo documents.
    #[arg(long, default_value_t = 3000)]
    pub docs: usize,
    /// Partitions per topic on the embedded broker.
    #[arg(long, default_value_t = 3)]
    pub partitions: i32,
    /// JSON file with per-service settings (see docs/CONFIGURATION.md).
    #[arg(long, env = "LATENTLABEL_CONFIG")]
    pub config: Option<PathBuf>,
    /// Prefix of every topic name.
    #[arg(long, env = "LATENTLABEL_TOPIC_PREFIX", default_value = "latentlabel.")]
    pub topic_prefix: String,
}

pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    latentlabel_common::service::cancel_on_signals(shutdown.clone());
    let mut config = PipelineConfig::load(args.config.as_ref())?;
    if args.demo && args.config.is_none() {
        tune_for_demo(&mut config);
    }
    let demo_tokens = ensure_annotators(&mut config, args.demo);
    // The broker is new every time, the data directory is not: an earlier run's checkpoint
    // makes the trainer resume, and it does not train again on documents it has seen (by
    // id), so a repeated demo looks stuck unless the user knows.
    let resumed = args.data_dir.join("checkpoints").is_dir();
    let options = EmbeddedOptions {
        data_dir: args.data_dir.clone(),
        http_addr: args.http_addr.clone(),
        partitions: args.partitions,
        topic_prefix: args.topic_prefix.clone(),
    };
    let pipeline = start_embedded(&options, config, shutdown.clone()).await?;
    print_banner(&pipeline, &demo_tokens);
    if args.demo {
        if resumed {
            println!(
                "note: {} holds an earlier run's checkpoints; the services resume from them, and \
                 the trainer skips documents it has already trained on (the demo's ids repeat). \
                 Pass a new --data-dir for a fresh demo.",
                args.data_dir.display()
            );
        }
        start_demo(
            &pipeline.ctx,
            &pipeline.base_url,
            args.docs,
            demo_tokens,
            shutdown.clone(),
        );
    }
    pipeline.wait().await
}

/// Where an embedded pipeline keeps its data and listens.
pub struct EmbeddedOptions {
    pub data_dir: PathBuf,
    pub http_addr: String,
    pub partitions: i32,
    pub topic_prefix: String,
}

/// The four services running in this process against an embedded broker; `up` and the
/// pipeline benchmarks share it.
pub struct Embedded {
    pub ctx: ServiceContext,
    pub config: PipelineConfig,
    pub base_url: String,
    pub bootstrap: String,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    // Dropped last: the services' clients talk to it until they stop.
    _broker: EmbeddedKafka,
}

impl Embedded {
    /// Runs until the services stop (shutdown token or a failure).
    pub async fn wait(self) -> anyhow::Result<()> {
        let Embedded {
            ctx, task, _broker, ..
        } = self;
        let result = task.await?;
        // The context's Kafka clients go before the broker they talk to: dropped after it,
        // librdkafka logs every broker as down on a clean shutdown.
        drop(ctx);
        drop(_broker);
        result
    }

    /// An error once the services have stopped (a failure such as a full disk ends them): a
    /// benchmark driving the pipeline must stop then, not wait on a queue nobody serves.
    pub fn ensure_running(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.task.is_finished(),
            "the pipeline's services have stopped; the log above has the error"
        );
        Ok(())
    }
}

pub async fn start_embedded(
    options: &EmbeddedOptions,
    mut config: PipelineConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<Embedded> {
    let topics = Topics::new(&options.topic_prefix);
    let broker = EmbeddedKafka::start(1, &topics, options.partitions)?;
    let bootstrap = broker.bootstrap_servers();
    // Check every service's settings before starting any, so a bad file fails fast and cleanly.
    config.labeling_queue = config.labeling_queue.clone().resolve()?;

    let service_args = ServiceArgs {
        connection: ConnectionArgs {
            kafka_bootstrap: bootstrap.clone(),
            topic_prefix: options.topic_prefix.clone(),
            // One member per group here, but fast session timeouts keep restarts snappy.
            kafka_options: vec![
                "session.timeout.ms=6000".into(),
                "heartbeat.interval.ms=1000".into(),
            ],
            partitions: options.partitions,
            replication: 1,
            schema_registry_url: None,
        },
        object_store_url: options.data_dir.display().to_string(),
        http_addr: options.http_addr.clone(),
        config: None,
        no_create_topics: true,
    };
    let ctx = crate::args::context(&service_args, Some(bootstrap.clone()), shutdown).await?;
    let listener = latentlabel_common::http::bind(&options.http_addr).await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    // Scoring's API is served right here, for the queue's re-ranking when it is enabled.
    if config.labeling_queue.rescore.scoring_url.is_none() {
        config.labeling_queue.rescore.scoring_url = Some(base_url.clone());
    }

    let services = vec![
        latentlabel_ingest::start(&ctx, config.ingest.clone()).await?,
        latentlabel_lda_trainer::start(&ctx, config.lda_trainer.clone()).await?,
        latentlabel_scoring::start(&ctx, config.scoring.clone()).await?,
        latentlabel_labeling_queue::start(&ctx, config.labeling_queue.clone()).await?,
    ];
    let run_ctx = ctx.clone();
    let task = tokio::spawn(async move {
        latentlabel_common::service::run_services(&run_ctx, services, listener).await
    });
    Ok(Embedded {
        ctx,
        config,
        base_url,
        bootstrap,
        task,
        _broker: broker,
    })
}

/// A small, fast-moving configuration so the demo loop visibly turns within a minute or two.
fn tune_for_demo(config: &mut PipelineConfig) {
    let t = &mut config.lda_trainer;
    t.lda.num_topics = 8;
    t.lda.batch_size = 64;
    t.snapshot_every_updates = 3;
    t.checkpoint_every_updates = 3;
    t.batch_timeout_ms = 1000;
    config.scoring.classifier.min_labels = 30;
    config.scoring.refit_every_labels = 15;
    config.labeling_queue.commit_every_labels = 100;
    config.labeling_queue.commit_every_secs = 20;
    config.labeling_queue.curation.labels = crate::demo::labels();
    // Little validation data exists early in a demo; let the auto-label threshold move sooner.
    config.labeling_queue.curation.routing.min_support = 30;
}

/// Makes sure someone can label: generated tokens for the demo annotators and the admin.
pub fn ensure_annotators(config: &mut PipelineConfig, demo: bool) -> Vec<(String, String)> {
    let q = &mut config.labeling_queue;
    if q.admin_token.is_none() {
        q.admin_token = Some(random_token());
    }
    if q.annotators.is_empty() {
        let names: &[&str] = if demo {
            &["you", "alice", "bob", "carol"]
        } else {
            &["you"]
        };
        for n in names {
            q.annotators
                .push(latentlabel_labeling_queue::AnnotatorConfig {
                    name: n.to_string(),
                    token: random_token(),
                });
        }
    }
    q.annotators
        .iter()
        .map(|a| (a.name.clone(), a.token.clone()))
        .collect()
}

fn random_token() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..24)
        .map(|_| char::from(b"abcdefghijkmnopqrstuvwxyz23456789"[rng.random_range(0..33)]))
        .collect()
}

fn print_banner(pipeline: &Embedded, tokens: &[(String, String)]) {
    let (bootstrap, base, ctx, config) = (
        &pipeline.bootstrap,
        &pipeline.base_url,
        &pipeline.ctx,
        &pipeline.config,
    );
    let you = tokens
        .iter()
        .find(|(n, _)| n == "you")
        .map(|(_, t)| t.as_str())
        .unwrap_or("");
    println!("latentlabel is up");
    println!(
        "  Kafka (embedded broker) bootstrap: {bootstrap}   raw topic: {}",
        ctx.topics.raw
    );
    println!("  annotator page:   {base}/?token={you}");
    println!("  scoring API:      POST {base}/v1/score");
    println!("  labeling API:     {base}/v1/tasks/lease  (OpenAPI: {base}/v1/openapi.json)");
    println!("  metrics:          {base}/metrics   health: {base}/healthz  {base}/readyz");
    println!(
        "  data directory:   {}   (models/, checkpoints/, datasets/)",
        ctx.storage.url()
    );
    if let Some(admin) = &config.labeling_queue.admin_token {
        println!("  admin token:      {admin}");
    }
    println!(
        "  feed it:          latentlabel produce --kafka-bootstrap {bootstrap} --input docs.jsonl"
    );
    println!("Ctrl-C stops it cleanly.");
}

const DEMO_DOCS_PER_SECOND: usize = 40;

/// Feeds the demo corpus and lets simulated annotators label through the real HTTP API.
fn start_demo(
    ctx: &ServiceContext,
    base: &str,
    docs: usize,
    tokens: Vec<(String, String)>,
    shutdown: CancellationToken,
) {
    let corpus = crate::demo::generate(docs, 7);
    let truth: Arc<HashMap<String, String>> = Arc::new(
        corpus
            .iter()
            .filter_map(|d| d.raw.id.clone().map(|id| (id, d.label.clone())))
            .collect(),
    );
    let producer = ctx.producer.clone();
    let codec = ctx.codec.clone();
    let topic = ctx.topics.raw.clone();
    let feeder_shutdown = shutdown.clone();
    tokio::spawn(async move {
        // A trickle, not a flood: documents scored after the classifier has learned get
        // auto-labeled, so the demo shows both paths.
        let bar = indicatif::ProgressBar::hidden();
        let mut sent = 0;
        for chunk in corpus.chunks(DEMO_DOCS_PER_SECOND) {
            let docs = chunk.iter().map(|d| d.raw.clone());
            match crate::produce::send_documents(&producer, &codec, &topic, docs, "avro", &bar)
                .await
            {
                Ok(n) => sent += n,
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "sending demo corpus");
                    return;
                }
            }
            tokio::select! { _ = feeder_shutdown.cancelled() => return, _ = tokio::time::sleep(Duration::from_secs(1)) => {} }
        }
        tracing::info!(documents = sent, "demo corpus sent");
    });
    let skills = [("alice", 0.95), ("bob", 0.9), ("carol", 0.8)];
    for (i, (name, accuracy)) in skills.into_iter().enumerate() {
        let Some((_, token)) = tokens.iter().find(|(n, _)| n == name) else {
            continue;
        };
        let mut annotator =
            crate::demo::SimulatedAnnotator::new(base, token, accuracy, truth.clone());
        annotator.seed = i as u64;
        tokio::spawn(annotator.run(shutdown.clone()));
    }
}
