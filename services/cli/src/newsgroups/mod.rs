//! `latentlabel bench newsgroups`: 20 Newsgroups through the whole running pipeline.
//!
//! Both experiments start the four services against an embedded broker (`up`'s code path),
//! stream the shuffled training posts onto the raw topic and measure the product from the
//! outside: labels go in over Kafka or the annotator API, predictions come back from
//! `POST /v1/score` on the untouched test split.
//!
//! - `quality`: the training labels are streamed onto the labels topic in steps (100, 500,
//!   2,000, all); after each step scoring refits, and the test split is scored over HTTP.
//!   Feature files (svmlight) of exactly what the classifier saw let `bench/scoring/quality.py`
//!   fit scikit-learn on the same rows side by side.
//! - `active-learning`: simulated annotators (90 % accurate by default) label through the API
//!   while documents stream in, metered at a fixed number of labels per 100 documents, under one
//!   sampling strategy. Test accuracy is recorded every `eval_every` labels; at the end a dataset
//!   version is committed and its auto-labels are checked against the true labels.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand};
use latentlabel_classify::metrics::{accuracy, macro_f1, top_label_ece};
use latentlabel_classify::HashedTfIdf;
use latentlabel_common::records::{now_ms, LabelEvent, RawDocument};
use latentlabel_common::OutRecord;
use latentlabel_scoring::labels::{slice_of, Slice};
use latentlabel_text::Tokenizer;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::args::PipelineConfig;
use crate::demo::SimulatedAnnotator;
use crate::up::{start_embedded, Embedded, EmbeddedOptions};

mod active_learning;
mod quality;

#[derive(Args, Debug)]
pub struct NewsgroupsArgs {
    #[command(subcommand)]
    pub experiment: Experiment,
    /// Folder with train.jsonl.gz and test.jsonl.gz ({"id","text","label"}).
    #[arg(long, global = true, default_value = "../shared/data/20newsgroups")]
    pub data: PathBuf,
    /// Output folder: the pipeline's data directory, results and feature files.
    #[arg(long, global = true, default_value = "target/bench-newsgroups")]
    pub out: PathBuf,
    /// Topics of the online LDA.
    #[arg(long, global = true, default_value_t = 50)]
    pub topics: usize,
    /// Seed of the stream order (and of the simulated annotators).
    #[arg(long, global = true, default_value_t = 0)]
    pub seed: u64,
    /// Classifier on theta only (no hashed tf-idf word features).
    #[arg(long, global = true)]
    pub theta_only: bool,
    /// After the experiment, keep the pipeline serving (HTTP API, broker) until SIGINT/SIGTERM:
    /// load generators then hit a scoring service with a trained model and classifier.
    #[arg(long, global = true)]
    pub hold: bool,
    /// Length of the tf-idf rows next to theta (scoring's `text_features.scale`).
    #[arg(long, global = true)]
    pub text_scale: Option<f32>,
}

#[derive(Subcommand, Debug)]
pub enum Experiment {
    /// Accuracy, macro-F1 and ECE on the test split after 100, 500, 2,000 and all labels.
    Quality {
        /// Cumulative label counts; `all` is every training post.
        #[arg(long, default_value = "100,500,2000,all")]
        steps: String,
    },
    /// Human labels against test accuracy under one sampling strategy; auto-label precision.
    ActiveLearning {
        /// margin, least_confidence, entropy or random.
        #[arg(long, default_value = "margin")]
        strategy: String,
        /// Human labels to buy in total.
        #[arg(long, default_value_t = 1500)]
        budget: usize,
        /// Human labels bought per 100 streamed documents.
        #[arg(long, default_value_t = 20)]
        labels_per_100_docs: usize,
        /// Test accuracy is measured after every this many human labels.
        #[arg(long, default_value_t = 250)]
        eval_every: usize,
        /// Accuracy of the simulated annotators.
        #[arg(long, default_value_t = 0.9)]
        annotator_accuracy: f64,
        /// Number of simulated annotators.
        #[arg(long, default_value_t = 3)]
        annotators: usize,
        /// Lease order across topics: none (the product default) or round_robin.
        #[arg(long)]
        diversity: Option<String>,
        /// Queue priority per classifier version (`queue.freshness`; default: the product's).
        #[arg(long)]
        freshness: Option<f64>,
        /// Gold items (training posts with their true label) registered before streaming; the
        /// queue mixes them in at `queue.gold_rate` and measures annotator accuracy on them,
        /// which the auto-label threshold uses to correct for noisy human labels. 0 = none.
        #[arg(long, default_value_t = 200)]
        gold: usize,
        /// Re-rank open tasks under each new classifier (`labeling_queue.rescore.enabled`).
        #[arg(long, default_value_t = false, action = clap::ArgAction::Set)]
        rescore: bool,
        /// Sample the human queue in proportion to informativeness^P
        /// (`routing.sampling_power`) instead of strictly most informative first.
        #[arg(long)]
        sampling_power: Option<f64>,
        /// Cap a label's auto-labels until the outlier test can judge it
        /// (`routing.unjudged_class_auto_labels`; default: the product's, no cap).
        #[arg(long)]
        unjudged_class_auto_labels: Option<u64>,
    },
}

/// One post of the corpus.
#[derive(Clone, Debug)]
struct Post {
    id: String,
    text: String,
    label: String,
}

fn read_posts(path: &Path, prefix: &str) -> anyhow::Result<Vec<Post>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(file));
    let mut posts = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        let v: Value = serde_json::from_str(&line)
            .with_context(|| format!("{} line {}", path.display(), i + 1))?;
        let field = |k: &str| v[k].as_str().map(str::to_string);
        let (Some(id), Some(text), Some(label)) = (field("id"), field("text"), field("label"))
        else {
            anyhow::bail!("{} line {}: needs id, text, label", path.display(), i + 1);
        };
        posts.push(Post {
            id: format!("{prefix}:{id}"),
            text,
            label,
        });
    }
    Ok(posts)
}

pub async fn run(args: NewsgroupsArgs) -> anyhow::Result<()> {
    let (train_path, test_path) = (
        args.data.join("train.jsonl.gz"),
        args.data.join("test.jsonl.gz"),
    );
    if !train_path.exists() || !test_path.exists() {
        println!(
            "{}",
            json!({"skipped": format!("20 Newsgroups not found under {}", args.data.display())})
        );
        return Ok(());
    }
    let mut train = read_posts(&train_path, "train")?;
    let mut test = read_posts(&test_path, "test")?;
    // The files are sorted by newsgroup; a stream is not (online LDA fed one newsgroup at a
    // time learns the last few newsgroups only).
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    train.shuffle(&mut rng);
    test.shuffle(&mut rng);
    let mut label_names: Vec<String> = train.iter().map(|p| p.label.clone()).collect();
    label_names.sort();
    label_names.dedup();

    let data_dir = args.out.join("data");
    if data_dir.exists() {
        std::fs::remove_dir_all(&data_dir)
            .with_context(|| format!("clearing {}", data_dir.display()))?;
    }
    std::fs::create_dir_all(&args.out)?;

    let mut config = PipelineConfig::default();
    let t = &mut config.lda_trainer;
    t.lda.num_topics = args.topics;
    t.snapshot_every_updates = 1;
    t.batch_timeout_ms = 1000;
    config.scoring.text_features.enabled = !args.theta_only;
    if let Some(scale) = args.text_scale {
        config.scoring.text_features.scale = scale;
    }
    // Equal budgets are compared, so the learning-curve plateau must not stop labeling.
    config.scoring.classifier.plateau_epsilon = -1e9;
    config.labeling_queue.curation.labels = label_names.clone();
    config.labeling_queue.commit_every_labels = usize::MAX / 2;
    config.labeling_queue.commit_every_secs = 24 * 3600;
    if let Experiment::ActiveLearning {
        strategy,
        annotators,
        diversity,
        freshness,
        rescore,
        sampling_power,
        unjudged_class_auto_labels,
        ..
    } = &args.experiment
    {
        config.labeling_queue.rescore.enabled = *rescore;
        config.labeling_queue.curation.routing.sampling_power = *sampling_power;
        if unjudged_class_auto_labels.is_some() {
            config
                .labeling_queue
                .curation
                .routing
                .unjudged_class_auto_labels = *unjudged_class_auto_labels;
        }
        if let Some(f) = freshness {
            config.labeling_queue.curation.queue.freshness = *f;
        }
        if let Some(d) = diversity {
            config.labeling_queue.curation.queue.diversity =
                serde_json::from_value(Value::String(d.clone()))
                    .with_context(|| format!("unknown diversity {d}"))?;
        }
        config.labeling_queue.curation.routing.strategy =
            serde_json::from_value(Value::String(strategy.clone()))
                .with_context(|| format!("unknown strategy {strategy}"))?;
        config.labeling_queue.annotators = (0..*annotators)
            .map(|i| latentlabel_labeling_queue::AnnotatorConfig {
                name: format!("sim-{i}"),
                token: format!("sim-token-{i}-{}", args.seed),
            })
            .collect();
    }
    crate::up::ensure_annotators(&mut config, false);

    let shutdown = CancellationToken::new();
    let options = EmbeddedOptions {
        data_dir: data_dir.clone(),
        http_addr: "127.0.0.1:0".into(),
        partitions: 3,
        topic_prefix: "latentlabel.".into(),
    };
    let pipeline = start_embedded(&options, config, shutdown.clone()).await?;
    eprintln!(
        "pipeline up at {} ({} training posts, {} test posts)",
        pipeline.base_url,
        train.len(),
        test.len()
    );
    let result = match &args.experiment {
        Experiment::Quality { steps } => {
            quality::quality(&args, &pipeline, &train, &test, steps).await
        }
        Experiment::ActiveLearning {
            strategy,
            budget,
            labels_per_100_docs,
            eval_every,
            annotator_accuracy,
            gold,
            ..
        } => {
            let plan = active_learning::Plan {
                gold: *gold,
                strategy: strategy.clone(),
                budget: *budget,
                labels_per_100_docs: *labels_per_100_docs,
                eval_every: *eval_every,
                annotator_accuracy: *annotator_accuracy,
            };
            active_learning::active_learning(
                &args,
                &pipeline,
                &train,
                &test,
                &label_names,
                &plan,
                &shutdown,
            )
            .await
        }
    };
    if args.hold && result.is_ok() {
        println!("{}", json!({ "serving": pipeline.base_url }));
        latentlabel_common::service::cancel_on_signals(shutdown.clone());
        shutdown.cancelled().await;
    }
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(30), pipeline.wait()).await;
    result
}

async fn send_posts(pipeline: &Embedded, posts: &[Post]) -> anyhow::Result<u64> {
    let docs = posts.iter().map(|p| RawDocument {
        id: Some(p.id.clone()),
        text: p.text.clone(),
        source: Some("20newsgroups".into()),
        metadata: HashMap::new(),
        created_at_ms: Some(now_ms()),
    });
    let bar = indicatif::ProgressBar::hidden();
    crate::produce::send_documents(
        &pipeline.ctx.producer,
        &pipeline.ctx.codec,
        &pipeline.ctx.topics.raw,
        docs,
        "avro",
        &bar,
    )
    .await
}

async fn get_json(http: &reqwest::Client, url: &str) -> anyhow::Result<Value> {
    let r = http
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    Ok(r.json().await?)
}

/// Waits until the trainer has stopped taking in documents (its snapshot count of
/// `docs_seen` is unchanged for 10 s) and scoring serves that snapshot.
async fn wait_for_trained_model(pipeline: &Embedded, at_least: u64) -> anyhow::Result<Value> {
    let http = reqwest::Client::new();
    let url = format!("{}/v1/model", pipeline.base_url);
    let started = Instant::now();
    let (mut last, mut stable_since) = (0u64, Instant::now());
    loop {
        pipeline.ensure_running()?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let Ok(model) = get_json(&http, &url).await else {
            continue;
        };
        let seen = model["docs_seen"].as_u64().unwrap_or(0);
        if seen != last {
            (last, stable_since) = (seen, Instant::now());
        } else if seen >= at_least && stable_since.elapsed() > Duration::from_secs(10) {
            eprintln!(
                "model v{} trained on {seen} documents after {:.0} s",
                model["version"],
                started.elapsed().as_secs_f64()
            );
            return Ok(model);
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(1800),
            "the trainer did not settle within 30 min (docs_seen {seen})"
        );
    }
}

/// Labels the classifier in a `GET /v1/classifier` answer has learned from (all slices).
fn classifier_labels(c: &Value) -> u64 {
    c["training_labels"].as_u64().unwrap_or(0) + c["evaluation_labels"].as_u64().unwrap_or(0)
}

/// What `POST /v1/score` said about one test post.
struct Scored {
    label: Option<String>,
    confidence: f64,
    theta: Vec<f64>,
    classifier_version: Option<u64>,
}

async fn score_posts<'a>(
    pipeline: &Embedded,
    posts: impl IntoIterator<Item = &'a Post>,
) -> anyhow::Result<Vec<Scored>> {
    let http = reqwest::Client::new();
    let url = format!("{}/v1/score", pipeline.base_url);
    let posts: Vec<&Post> = posts.into_iter().collect();
    let mut out = Vec::with_capacity(posts.len());
    for chunk in posts.chunks(200) {
        let texts: Vec<&str> = chunk.iter().map(|p| p.text.as_str()).collect();
        let response: Value = http
            .post(&url)
            .json(&json!({ "texts": texts }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let results = response["results"]
            .as_array()
            .context("score response without results")?;
        for r in results {
            out.push(Scored {
                label: r["label"].as_str().map(str::to_string),
                confidence: r["confidence"].as_f64().unwrap_or(0.0),
                theta: r["theta"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_f64).collect())
                    .unwrap_or_default(),
                classifier_version: r["classifier_version"].as_u64(),
            });
        }
    }
    Ok(out)
}

/// Accuracy, macro-F1 and top-label ECE (15 bins) of scored test posts.
fn test_figures(scored: &[Scored], test: &[Post], labels: &[String]) -> Value {
    let index = |l: &str| labels.iter().position(|x| x == l).unwrap_or(labels.len());
    let actual: Vec<usize> = test.iter().map(|p| index(&p.label)).collect();
    let predicted: Vec<usize> = scored
        .iter()
        .map(|s| s.label.as_deref().map_or(labels.len() + 1, index))
        .collect();
    let pairs: Vec<(f64, bool)> = scored
        .iter()
        .zip(test)
        .map(|(s, p)| (s.confidence, s.label.as_deref() == Some(p.label.as_str())))
        .collect();
    json!({
        "accuracy": accuracy(&predicted, &actual),
        "macro_f1": macro_f1(&predicted, &actual),
        "ece": top_label_ece(&pairs, 15),
        "classifier_version": scored.first().and_then(|s| s.classifier_version),
    })
}
