//! `latentlabel bench ...`: benchmarks that print figures as JSON lines.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use latentlabel_text::TokenizerConfig;

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: BenchCommand,
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// 20 Newsgroups through the whole running pipeline: classifier quality as labels stream
    /// in, or active learning with simulated annotators (see `bench/scoring`, `bench/queue`).
    Newsgroups(crate::newsgroups::NewsgroupsArgs),
    /// Ingest over the embedded broker (docs/s) next to a bare consume+produce copy of the same
    /// records through the same client code: the cost of ingest's own work.
    Ingest {
        /// JSONL(.gz) of {"id","text"}.
        #[arg(long)]
        input: PathBuf,
        /// Documents to send (the file is repeated if shorter).
        #[arg(long, default_value_t = 20000)]
        docs: usize,
    },
    /// Preprocessing throughput (MB/s, one core) over a JSONL(.gz) of {"text": ...}.
    Tokenize {
        #[arg(long)]
        input: PathBuf,
        #[arg(long, default_value_t = 1)]
        repeat: usize,
        /// Turn stemming off.
        #[arg(long)]
        no_stem: bool,
        /// Turn header/quote/signature stripping off.
        #[arg(long)]
        no_strip: bool,
        /// `prepare`: what ingest runs (topic terms, stored text, the classifier's context
        /// terms); `process`: topic terms and display text only, the output comparable to
        /// scikit-learn's `CountVectorizer`.
        #[arg(long, default_value = "prepare")]
        stage: String,
    },
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.command {
        BenchCommand::Newsgroups(a) => crate::newsgroups::run(a).await?,
        BenchCommand::Ingest { input, docs } => ingest_over_broker(&input, docs).await?,
        BenchCommand::Tokenize {
            input,
            repeat,
            no_stem,
            no_strip,
            stage,
        } => {
            let stage = match stage.as_str() {
                "prepare" => latentlabel_text::bench::Stage::Prepare,
                "process" => latentlabel_text::bench::Stage::Process,
                other => anyhow::bail!("--stage takes prepare|process, not {other:?}"),
            };
            let mut config = TokenizerConfig::default();
            if no_stem {
                config.stemmer = None;
            }
            if no_strip {
                config.strip_headers = false;
                config.strip_quotes = false;
                config.strip_signatures = false;
            }
            let report = tokio::task::spawn_blocking(move || {
                latentlabel_text::bench::tokenize_jsonl_stage(&input, &config, repeat, stage)
            })
            .await??;
            println!("{}", serde_json::to_string(&report)?);
        }
    }
    Ok(())
}

/// Copies each record unchanged to another topic: the raw consume+produce baseline.
struct Copy {
    topic: String,
    seen: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl latentlabel_common::pipeline::Transform for Copy {
    async fn process(
        &self,
        record: latentlabel_common::pipeline::Incoming,
    ) -> Vec<latentlabel_common::OutRecord> {
        self.seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let key = record.key_str().unwrap_or_default().to_string();
        vec![latentlabel_common::OutRecord::new(
            &self.topic,
            key,
            record.payload,
        )]
    }
}

/// Counts what the wrapped transform has processed.
struct Counted<T> {
    inner: T,
    seen: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl<T: latentlabel_common::pipeline::Transform> latentlabel_common::pipeline::Transform
    for Counted<T>
{
    async fn process(
        &self,
        record: latentlabel_common::pipeline::Incoming,
    ) -> Vec<latentlabel_common::OutRecord> {
        let out = self.inner.process(record).await;
        self.seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        out
    }
}

/// Runs `transform` over the raw topic with its own group until `n` records are done and their
/// outputs acknowledged; returns seconds.
async fn timed_run<T: latentlabel_common::pipeline::Transform>(
    kafka: &latentlabel_common::KafkaSettings,
    group: &str,
    transform: T,
    seen: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    n: usize,
) -> anyhow::Result<f64> {
    use rdkafka::consumer::Consumer;
    let consumer = kafka.consumer(group)?;
    consumer.subscribe(&[kafka.topics().raw.as_str()])?;
    let producer = kafka.producer()?;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(latentlabel_common::pipeline::run_transform(
        "bench",
        consumer,
        producer,
        std::sync::Arc::new(transform),
        512,
        shutdown.clone(),
    ));
    // The clock starts at the first record, so joining the group is not counted.
    while seen.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let started = std::time::Instant::now();
    while seen.load(std::sync::atomic::Ordering::Relaxed) < n {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    shutdown.cancel();
    task.await??;
    Ok(started.elapsed().as_secs_f64())
}

async fn ingest_over_broker(input: &std::path::Path, n: usize) -> anyhow::Result<()> {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    let topics = latentlabel_common::Topics::new("bench.");
    let broker = latentlabel_common::embedded::EmbeddedKafka::start(1, &topics, 3)?;
    let kafka = latentlabel_common::KafkaSettings {
        bootstrap_servers: broker.bootstrap_servers(),
        topic_prefix: "bench.".into(),
        client_options: Vec::new(),
        partitions: 3,
        replication: 1,
    };
    let codec = latentlabel_common::Codec::single_object();
    let texts = latentlabel_text::bench::load_texts(input)?;
    anyhow::ensure!(!texts.is_empty(), "{} has no documents", input.display());
    let docs = (0..n).map(|i| latentlabel_common::records::RawDocument {
        id: Some(format!("bench-{i}")),
        text: texts[i % texts.len()].clone(),
        source: None,
        metadata: Default::default(),
        created_at_ms: None,
    });
    let producer = kafka.producer()?;
    let bytes: usize = (0..n).map(|i| texts[i % texts.len()].len()).sum();
    crate::produce::send_documents(
        &producer,
        &codec,
        &topics.raw,
        docs,
        "avro",
        &indicatif::ProgressBar::hidden(),
    )
    .await?;

    let seen = Arc::new(AtomicUsize::new(0));
    let raw_s = timed_run(
        &kafka,
        "bench-raw",
        Copy {
            topic: topics.scored.clone(),
            seen: seen.clone(),
        },
        seen.clone(),
        n,
    )
    .await?;
    let seen = Arc::new(AtomicUsize::new(0));
    let config = latentlabel_ingest::IngestConfig::default();
    let transform =
        latentlabel_ingest::IngestTransform::new(&config, codec.clone(), topics.clone())?;
    let ingest_s = timed_run(
        &kafka,
        "bench-ingest",
        Counted {
            inner: transform,
            seen: seen.clone(),
        },
        seen.clone(),
        n,
    )
    .await?;
    let report = serde_json::json!({
        "docs": n,
        "mb": bytes as f64 / 1e6,
        "raw_copy_docs_per_s": n as f64 / raw_s,
        "ingest_docs_per_s": n as f64 / ingest_s,
        "ingest_mb_per_s": bytes as f64 / 1e6 / ingest_s,
        "ingest_share_of_raw": raw_s / ingest_s,
    });
    println!("{report}");
    drop(broker);
    Ok(())
}
