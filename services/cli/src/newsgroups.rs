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
        ..
    } = &args.experiment
    {
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
        Experiment::Quality { steps } => quality(&args, &pipeline, &train, &test, steps).await,
        Experiment::ActiveLearning {
            strategy,
            budget,
            labels_per_100_docs,
            eval_every,
            annotator_accuracy,
            ..
        } => {
            let plan = Plan {
                strategy: strategy.clone(),
                budget: *budget,
                labels_per_100_docs: *labels_per_100_docs,
                eval_every: *eval_every,
                annotator_accuracy: *annotator_accuracy,
            };
            active_learning(
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

/// What `POST /v1/score` said about one test post.
struct Scored {
    label: Option<String>,
    confidence: f64,
    theta: Vec<f64>,
    classifier_version: Option<u64>,
}

async fn score_posts(pipeline: &Embedded, posts: &[Post]) -> anyhow::Result<Vec<Scored>> {
    let http = reqwest::Client::new();
    let url = format!("{}/v1/score", pipeline.base_url);
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

fn write_json_lines(path: &Path, rows: &[Value]) -> anyhow::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    for r in rows {
        serde_json::to_writer(&mut f, r)?;
        f.write_all(b"\n")?;
    }
    f.flush()?;
    Ok(())
}

/// Posts what the pipeline's tokenizer makes of each text, as (term, count) bags.
fn bags(tokenizer: &Tokenizer, posts: &[&Post]) -> Vec<Vec<(String, u32)>> {
    posts
        .iter()
        .map(|p| tokenizer.process(&p.text).terms)
        .collect()
}

/// One svmlight row: class index, theta, hashed tf-idf columns.
type SvmRow<'a> = (usize, &'a [f64], Vec<(u32, f32)>);

/// svmlight rows: theta as features 1..=K, then the hashed tf-idf columns after it.
fn write_svmlight(path: &Path, rows: &[SvmRow<'_>]) -> anyhow::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    for (label, theta, sparse) in rows {
        write!(f, "{label}")?;
        for (j, v) in theta.iter().enumerate() {
            write!(f, " {}:{v}", j + 1)?;
        }
        for (j, v) in sparse {
            write!(f, " {}:{v}", theta.len() + *j as usize + 1)?;
        }
        writeln!(f)?;
    }
    f.flush()?;
    Ok(())
}

async fn quality(
    args: &NewsgroupsArgs,
    pipeline: &Embedded,
    train: &[Post],
    test: &[Post],
    steps: &str,
) -> anyhow::Result<()> {
    let labels: Vec<String> = pipeline.config.labeling_queue.curation.labels.clone();
    let steps: Vec<usize> = steps
        .split(',')
        .map(|s| match s.trim() {
            "all" => Ok(train.len()),
            n => n.parse::<usize>().map(|n| n.min(train.len())),
        })
        .collect::<Result<_, _>>()
        .context("--steps: comma-separated counts or `all`")?;

    let started = Instant::now();
    // A steady stream rather than one burst: ~2,000 posts/s. (Seen here: a burst of all
    // 18,846 posts at once left ingest's consumer stalled on the embedded broker with
    // repeated request time-outs; see docs/DESIGN.md.)
    for chunk in train.chunks(200).chain(test.chunks(200)) {
        send_posts(pipeline, chunk).await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "streamed {} posts in {:.1} s",
        train.len() + test.len(),
        started.elapsed().as_secs_f64()
    );
    // The trainer holds out ~5 % for perplexity and ingest drops duplicate posts.
    let expected = (train.len() + test.len()) as u64 * 85 / 100;
    let model = wait_for_trained_model(pipeline, expected).await?;

    let scoring = &pipeline.config.scoring;
    let tokenizer = Tokenizer::new(scoring.tokenizer.clone())?;
    let http = reqwest::Client::new();
    let (mut sent, mut rows) = (0usize, Vec::new());
    for &n in &steps {
        let step_started = Instant::now();
        let records: Vec<OutRecord> = train[sent..n]
            .iter()
            .map(|p| label_record(pipeline, p))
            .collect::<anyhow::Result<_>>()?;
        let mut acks: futures::stream::FuturesUnordered<_> = records
            .iter()
            .map(|r| pipeline.ctx.producer.send(r))
            .collect();
        while let Some(ack) = futures::StreamExt::next(&mut acks).await {
            ack.context("producing a label")?;
        }
        sent = n;
        // Wait until scoring has refitted on every label sent so far.
        let classifier = loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let c = get_json(&http, &format!("{}/v1/classifier", pipeline.base_url)).await?;
            let known = c["training_labels"].as_u64().unwrap_or(0)
                + c["evaluation_labels"].as_u64().unwrap_or(0);
            if known as usize >= n {
                break c;
            }
            anyhow::ensure!(
                step_started.elapsed() < Duration::from_secs(1200),
                "scoring did not refit on {n} labels within 20 min (has {known})"
            );
        };
        let refit_seconds = step_started.elapsed().as_secs_f64();
        let scored = score_posts(pipeline, test).await?;
        let mut row = test_figures(&scored, test, &labels);
        row["labels"] = json!(n);
        row["training_labels"] = classifier["training_labels"].clone();
        row["evaluation_labels"] = classifier["evaluation_labels"].clone();
        row["refit_seconds"] = json!(refit_seconds);
        println!("{row}");
        rows.push(row);
        write_features(args, pipeline, &tokenizer, train, test, n, &scored, &labels).await?;
    }
    let summary = json!({
        "experiment": "quality",
        "topics": args.topics,
        "theta_only": args.theta_only,
        "text_feature_buckets": scoring.text_features.buckets,
        "text_feature_scale": scoring.text_features.scale,
        "l2": scoring.classifier.l2,
        "standardize": scoring.classifier.standardize,
        "model_version": model["version"],
        "docs_seen": model["docs_seen"],
        "heldout_perplexity": model["evaluation"]["perplexity"],
        "labels": labels,
        "steps": rows,
        "stream_scoring": stream_scoring_rate(pipeline, &model, train, test).await?,
    });
    std::fs::write(
        args.out.join("quality.json"),
        serde_json::to_vec_pretty(&summary)?,
    )?;
    println!("{}", json!({ "stream_scoring": summary["stream_scoring"] }));
    Ok(())
}

fn label_record(pipeline: &Embedded, post: &Post) -> anyhow::Result<OutRecord> {
    let event = LabelEvent {
        event_id: format!("bench-{}", post.id),
        doc_id: post.id.clone(),
        label: post.label.clone(),
        source: "human".into(),
        annotators: vec!["20newsgroups".into()],
        confidence: None,
        agreement: None,
        cost_usd: 0.0,
        model_version: None,
        classifier_version: None,
        text: Some(post.text.clone()),
        created_at_ms: now_ms(),
    };
    Ok(OutRecord::new(
        &pipeline.ctx.topics.labels,
        post.id.clone(),
        pipeline.ctx.codec.encode(&event)?,
    ))
}

/// Feature files of step `n`: the rows scoring fitted its weights on (the train slice of the
/// first `n` labels) and the test split, with the same theta (from the same model, over HTTP)
/// and the same hashed tf-idf (idf over the train and calibration slices, as scoring does).
#[allow(clippy::too_many_arguments)]
async fn write_features(
    args: &NewsgroupsArgs,
    pipeline: &Embedded,
    tokenizer: &Tokenizer,
    train: &[Post],
    test: &[Post],
    n: usize,
    test_scored: &[Scored],
    labels: &[String],
) -> anyhow::Result<()> {
    let scoring = &pipeline.config.scoring;
    let mut labeled: Vec<&Post> = train[..n].iter().collect();
    labeled.sort_by(|a, b| a.id.cmp(&b.id));
    let fitting: Vec<&Post> = labeled
        .iter()
        .copied()
        .filter(|p| slice_of(&p.id, scoring) != Slice::Evaluation)
        .collect();
    let weights_rows: Vec<&Post> = labeled
        .iter()
        .copied()
        .filter(|p| slice_of(&p.id, scoring) == Slice::Train)
        .collect();
    let text = (!args.theta_only).then(|| {
        let fitting_bags = bags(tokenizer, &fitting);
        HashedTfIdf::fit(
            fitting_bags
                .iter()
                .map(|b| b.iter().map(|(w, c)| (w.as_str(), *c))),
            scoring.text_features.buckets,
        )
    });
    let sparse = |bag: &[(String, u32)]| {
        text.as_ref()
            .map(|t| {
                t.transform(
                    bag.iter().map(|(w, c)| (w.as_str(), *c)),
                    scoring.text_features.scale,
                )
            })
            .unwrap_or_default()
    };
    let index = |l: &str| labels.iter().position(|x| x == l).unwrap_or(labels.len());
    let owned: Vec<Post> = weights_rows.iter().map(|p| (*p).clone()).collect();
    let train_scored = score_posts(pipeline, &owned).await?;
    let train_bags = bags(tokenizer, &weights_rows);
    let train_rows: Vec<SvmRow<'_>> = weights_rows
        .iter()
        .zip(&train_scored)
        .zip(&train_bags)
        .map(|((p, s), b)| (index(&p.label), s.theta.as_slice(), sparse(b)))
        .collect();
    write_svmlight(&args.out.join(format!("train_{n}.svm")), &train_rows)?;
    let test_refs: Vec<&Post> = test.iter().collect();
    let test_bags = bags(tokenizer, &test_refs);
    let test_rows: Vec<SvmRow<'_>> = test
        .iter()
        .zip(test_scored)
        .zip(&test_bags)
        .map(|((p, s), b)| (index(&p.label), s.theta.as_slice(), sparse(b)))
        .collect();
    write_svmlight(&args.out.join(format!("test_{n}.svm")), &test_rows)?;
    // Raw texts of the same rows, for the plain tf-idf reference.
    let texts: Vec<Value> = weights_rows
        .iter()
        .map(|p| json!({"id": p.id, "text": p.text, "label": p.label}))
        .collect();
    write_json_lines(&args.out.join(format!("train_{n}.jsonl")), &texts)?;
    Ok(())
}

/// Stream-scoring throughput per core: the scoring service's own per-document work (topic
/// inference, word features, calibrated prediction) on one thread over the tokenized test
/// split, with the final model and a classifier refitted on every training label in-process.
async fn stream_scoring_rate(
    pipeline: &Embedded,
    model_manifest: &Value,
    train: &[Post],
    test: &[Post],
) -> anyhow::Result<Value> {
    use latentlabel_scoring::labels::{ClassifierSlot, LabelBook};
    let config = pipeline.config.scoring.clone();
    let version = model_manifest["version"]
        .as_u64()
        .context("model version")?;
    let path = format!(
        "models/{}/{}/manifest.json",
        config.model_name,
        latentlabel_common::storage::version_dir(version)
    );
    let model = latentlabel_scoring::model::load(&pipeline.ctx.storage, &path).await?;
    let tokenizer = Tokenizer::new(config.tokenizer.clone())?;
    let (train, test) = (train.to_vec(), test.to_vec());
    let result = tokio::task::spawn_blocking(move || -> anyhow::Result<Value> {
        let mut book = LabelBook::default();
        for p in &train {
            book.add(&p.id, &p.label, "human", tokenizer.process(&p.text).terms);
        }
        let fitted = book
            .refit(&model, &config)?
            .context("no classifier from the training labels")?;
        let state = ClassifierSlot::new(config.classifier.plateau_window).install(fitted);
        let bags: Vec<Vec<(String, u32)>> = test
            .iter()
            .map(|p| tokenizer.process(&p.text).terms)
            .collect();
        let started = Instant::now();
        let mut labeled = 0usize;
        for bag in &bags {
            let terms: Vec<(&str, u32)> = bag.iter().map(|(w, c)| (w.as_str(), *c)).collect();
            let s = latentlabel_scoring::scorer::score(
                &model,
                &state,
                &terms,
                config.top_topics,
                config.top_words,
            );
            labeled += usize::from(s.label.is_some());
        }
        let seconds = started.elapsed().as_secs_f64();
        Ok(json!({
            "documents": bags.len(),
            "labeled": labeled,
            "seconds": seconds,
            "docs_per_s_per_core": bags.len() as f64 / seconds,
            "topics": model.inference.num_topics(),
        }))
    });
    result.await?
}

struct Plan {
    strategy: String,
    budget: usize,
    labels_per_100_docs: usize,
    eval_every: usize,
    annotator_accuracy: f64,
}

async fn active_learning(
    args: &NewsgroupsArgs,
    pipeline: &Embedded,
    train: &[Post],
    test: &[Post],
    labels: &[String],
    plan: &Plan,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let truth: Arc<HashMap<String, String>> = Arc::new(
        train
            .iter()
            .map(|p| (p.id.clone(), p.label.clone()))
            .collect(),
    );
    let submitted = Arc::new(AtomicUsize::new(0));
    let allowed = Arc::new(AtomicUsize::new(0));
    let label_list = Arc::new(labels.to_vec());
    for (i, a) in pipeline.config.labeling_queue.annotators.iter().enumerate() {
        let mut annotator = SimulatedAnnotator::new(
            &pipeline.base_url,
            &a.token,
            plan.annotator_accuracy,
            truth.clone(),
        );
        annotator.think = Duration::ZERO;
        annotator.labels = label_list.clone();
        annotator.seed = args.seed * 1000 + i as u64;
        annotator.submitted = submitted.clone();
        annotator.allowed = allowed.clone();
        tokio::spawn(annotator.run(shutdown.child_token()));
    }

    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut curve = Vec::new();
    let mut next_eval = plan.eval_every;
    let step = 100usize;
    for (i, chunk) in train.chunks(step).enumerate() {
        send_posts(pipeline, chunk).await?;
        let want = ((i + 1) * plan.labels_per_100_docs).min(plan.budget);
        allowed.store(want, Ordering::Relaxed);
        // Let the annotators catch up; a queue that stays empty (everything auto-labeled or
        // not yet scored) must not stall the stream for long.
        let mut idle = Instant::now();
        let mut last = submitted.load(Ordering::Relaxed);
        while submitted.load(Ordering::Relaxed) < want && idle.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(25)).await;
            let now = submitted.load(Ordering::Relaxed);
            if now != last {
                (last, idle) = (now, Instant::now());
            }
        }
        let done = submitted.load(Ordering::Relaxed);
        if done >= next_eval.min(plan.budget) && next_eval <= plan.budget {
            let point = evaluate_now(pipeline, &http, test, labels, done).await?;
            eprintln!("{point}");
            curve.push(point);
            next_eval += plan.eval_every;
        }
    }
    eprintln!(
        "streamed {} posts, {} human labels in {:.0} s",
        train.len(),
        submitted.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
    let last_point = evaluate_now(
        pipeline,
        &http,
        test,
        labels,
        submitted.load(Ordering::Relaxed),
    )
    .await?;
    curve.push(last_point);
    // Let the tail of the stream be scored and routed before committing.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let admin = pipeline
        .config
        .labeling_queue
        .admin_token
        .clone()
        .context("admin token")?;
    let queue = http
        .get(format!("{}/v1/admin/queue", pipeline.base_url))
        .bearer_auth(&admin)
        .send()
        .await?
        .json::<Value>()
        .await?;
    let manifest: Value = http
        .post(format!("{}/v1/admin/datasets/commit", pipeline.base_url))
        .bearer_auth(&admin)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let dataset = dataset_figures(pipeline, &manifest, &truth, train.len()).await?;
    let summary = json!({
        "experiment": "active_learning",
        "strategy": plan.strategy,
        "budget": plan.budget,
        "labels_per_100_docs": plan.labels_per_100_docs,
        "annotator_accuracy": plan.annotator_accuracy,
        "topics": args.topics,
        "theta_only": args.theta_only,
        "curve": curve,
        "dataset": dataset,
        "cost": manifest["cost"],
        "auto_label_threshold": queue["auto_label_threshold"],
        "queue_stats": queue["stats"],
        "seconds": started.elapsed().as_secs_f64(),
    });
    let path = args
        .out
        .join(format!("active_learning_{}.json", plan.strategy));
    std::fs::write(&path, serde_json::to_vec_pretty(&summary)?)?;
    println!(
        "{}",
        json!({"strategy": plan.strategy, "curve": summary["curve"], "dataset": dataset, "cost": summary["cost"]})
    );
    Ok(())
}

async fn evaluate_now(
    pipeline: &Embedded,
    http: &reqwest::Client,
    test: &[Post],
    labels: &[String],
    human_labels: usize,
) -> anyhow::Result<Value> {
    // "Accuracy after N labels" means after the classifier has learned from them: wait for
    // its label count to stop moving (scoring refits once the label stream is quiet).
    let url = format!("{}/v1/classifier", pipeline.base_url);
    let known = |c: &Value| {
        c["training_labels"].as_u64().unwrap_or(0) + c["evaluation_labels"].as_u64().unwrap_or(0)
    };
    let mut c = get_json(http, &url).await?;
    let mut unchanged = 0;
    while unchanged < 3 {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let next = get_json(http, &url).await?;
        unchanged = if known(&next) == known(&c) && next["version"] == c["version"] {
            unchanged + 1
        } else {
            0
        };
        c = next;
    }
    let scored = score_posts(pipeline, test).await?;
    let mut point = test_figures(&scored, test, labels);
    point["human_labels"] = json!(human_labels);
    point["classifier_labels"] = json!(known(&c));
    Ok(point)
}

/// Auto-label precision and coverage against the true labels, human label accuracy, and
/// the cost per label by source, from the committed dataset version.
async fn dataset_figures(
    pipeline: &Embedded,
    manifest: &Value,
    truth: &HashMap<String, String>,
    streamed: usize,
) -> anyhow::Result<Value> {
    use latentlabel_labeling_queue::dataset;
    let name = manifest["name"].as_str().context("manifest name")?;
    let version = manifest["version"].as_u64().context("manifest version")?;
    let m = dataset::manifest(&pipeline.ctx.storage, name, version).await?;
    let rows = dataset::read_rows(&pipeline.ctx.storage, &m).await?;
    let mut by_source: HashMap<String, (usize, usize)> = HashMap::new();
    for r in &rows {
        let entry = by_source.entry(r.source.clone()).or_default();
        entry.0 += 1;
        if truth.get(&r.doc_id) == Some(&r.label) {
            entry.1 += 1;
        }
    }
    let sources: serde_json::Map<String, Value> = by_source
        .iter()
        .map(|(s, (n, right))| {
            (
                s.clone(),
                json!({"rows": n, "correct": right, "accuracy": *right as f64 / *n as f64}),
            )
        })
        .collect();
    let (auto, auto_right) = by_source.get("model").copied().unwrap_or((0, 0));
    Ok(json!({
        "version": version,
        "rows": rows.len(),
        "by_source": sources,
        "auto_label_precision": if auto > 0 { auto_right as f64 / auto as f64 } else { f64::NAN },
        "auto_label_coverage": auto as f64 / streamed as f64,
        "streamed": streamed,
    }))
}
