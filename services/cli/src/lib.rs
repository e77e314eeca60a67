//! The `latentlabel` command: one binary, a subcommand per service plus tools.
//!
//! # Layout
//! - [`args`]: flags and `LATENTLABEL_*` environment variables shared by every subcommand.
//! - [`up`]: everything in one process with an embedded broker (the laptop default).
//! - [`demo`]: the demo corpus and simulated annotators for `up --demo`.
//! - [`produce`]: send a JSONL file (or demo documents) to the raw topic.
//! - [`dataset`]: inspect committed dataset versions.
//! - [`lda_train`]: batch training from a UCI bag-of-words or JSONL file.
//! - [`bench`]: benchmarks that print figures.
//! - [`newsgroups`]: `bench newsgroups`, 20 Newsgroups through the running pipeline.

pub mod args;
pub mod bench;
pub mod dataset;
pub mod demo;
pub mod lda_train;
pub mod newsgroups;
pub mod produce;
pub mod up;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "latentlabel", version, about = "Streaming topic modelling and labeling over Kafka", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the whole pipeline in one process with an embedded Kafka broker and local storage.
    Up(up::UpArgs),
    /// Run the ingest service (validate, dedup, tokenize).
    Ingest(args::ServiceArgs),
    /// Run the online-LDA trainer.
    #[command(name = "lda-trainer")]
    LdaTrainer(args::ServiceArgs),
    /// Run the scoring service (topic inference + label prediction + HTTP scoring API).
    Scoring(args::ServiceArgs),
    /// Run the labeling queue (auto-labels, annotator API and page, dataset commits).
    #[command(name = "labeling-queue")]
    LabelingQueue(args::ServiceArgs),
    /// Send a JSONL(.gz) file of {"id","text",...} documents, or demo documents, to the raw topic.
    Produce(produce::ProduceArgs),
    /// Inspect labeled dataset versions in object storage.
    Dataset(dataset::DatasetArgs),
    /// Train LDA in batch from a UCI bag-of-words or JSONL file and write topics.parquet.
    #[command(name = "lda-train")]
    LdaTrain(lda_train::LdaTrainArgs),
    /// Benchmarks that print figures.
    Bench(bench::BenchArgs),
    /// Print the full per-service configuration with every default, as JSON for --config.
    Config,
}

/// Parses arguments, runs, and prints any error with its chain of causes.
pub fn main_entry() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("LATENTLABEL_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("info,rdkafka=warn,librdkafka=warn")
        });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Up(a) => up::run(a).await,
        Command::Ingest(a) => args::run_single(a, args::Which::Ingest).await,
        Command::LdaTrainer(a) => args::run_single(a, args::Which::LdaTrainer).await,
        Command::Scoring(a) => args::run_single(a, args::Which::Scoring).await,
        Command::LabelingQueue(a) => args::run_single(a, args::Which::LabelingQueue).await,
        Command::Produce(a) => produce::run(a).await,
        Command::Dataset(a) => dataset::run(a).await,
        Command::LdaTrain(a) => lda_train::run(a).await,
        Command::Bench(a) => bench::run(a).await,
        Command::Config => {
            println!(
                "{}",
                serde_json::to_string_pretty(&args::PipelineConfig::default())?
            );
            Ok(())
        }
    }
}
