//! `latentlabel lda-train`: batch training for users and benchmarks, with the same model code as
//! the streaming trainer. Reads a UCI bag-of-words corpus (`docword[.gz]` + `vocab`) or a JSONL
//! text file through the ingest tokenizer; writes `DIR/topics.parquet` and `DIR/manifest.json`;
//! prints one JSON line of figures.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use latentlabel_common::Storage;
use latentlabel_lda::batch::{split_heldout, train};
use latentlabel_lda::{Document, LdaConfig};
use latentlabel_lda_trainer::snapshot::{write_snapshot, Evaluation};
use latentlabel_text::{Tokenizer, TokenizerConfig};

#[derive(Args, Debug)]
pub struct LdaTrainArgs {
    /// UCI docword file (optionally .gz).
    #[arg(long, conflicts_with = "jsonl", requires = "vocab")]
    pub docword: Option<PathBuf>,
    /// UCI vocab file.
    #[arg(long)]
    pub vocab: Option<PathBuf>,
    /// JSONL(.gz) of {"text": ...}, tokenized with the ingest defaults.
    #[arg(long)]
    pub jsonl: Option<PathBuf>,
    /// Number of topics.
    #[arg(long, default_value_t = 20)]
    pub k: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Passes over the corpus.
    #[arg(long, default_value_t = 1)]
    pub passes: usize,
    /// E-step threads (0 = all cores).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Learning offset tau0.
    #[arg(long)]
    pub tau0: Option<f64>,
    /// Learning decay kappa.
    #[arg(long)]
    pub kappa: Option<f64>,
    /// Symmetric document-topic prior (default 1/K).
    #[arg(long)]
    pub alpha: Option<f32>,
    /// Symmetric topic-word prior (default 1/K).
    #[arg(long)]
    pub eta: Option<f32>,
    /// E-step iteration limit.
    #[arg(long)]
    pub iterations: Option<usize>,
    /// Every n-th document is held out for perplexity (0 = none).
    #[arg(long, default_value_t = 10)]
    pub heldout_every: usize,
    /// With --jsonl: keep e-mail headers, quoted replies and signatures.
    #[arg(long)]
    pub no_strip: bool,
    /// With --jsonl: no Snowball stemming.
    #[arg(long)]
    pub no_stem: bool,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
}

pub async fn run(args: LdaTrainArgs) -> anyhow::Result<()> {
    let (corpus, words) = match (&args.docword, &args.vocab, &args.jsonl) {
        (Some(d), Some(v), None) => latentlabel_lda::uci::read_uci(d, v)?,
        (None, _, Some(j)) => {
            let mut tokenizer = TokenizerConfig::default();
            if args.no_strip {
                tokenizer.strip_headers = false;
                tokenizer.strip_quotes = false;
                tokenizer.strip_signatures = false;
            }
            if args.no_stem {
                tokenizer.stemmer = None;
            }
            read_jsonl(j, tokenizer)?
        }
        _ => anyhow::bail!("give --docword and --vocab, or --jsonl"),
    };
    let mut config = LdaConfig {
        num_topics: args.k,
        batch_size: args.batch,
        threads: args.threads,
        seed: args.seed,
        ..LdaConfig::default()
    };
    config.alpha = args.alpha.or(config.alpha);
    config.eta = args.eta.or(config.eta);
    if let Some(t) = args.tau0 {
        config.tau0 = t;
    }
    if let Some(k) = args.kappa {
        config.kappa = k;
    }
    if let Some(i) = args.iterations {
        config.max_iterations = i;
    }
    let (train_docs, heldout) = if args.heldout_every > 0 {
        split_heldout(corpus, args.heldout_every)
    } else {
        (corpus, Vec::new())
    };
    config.total_docs = Some(train_docs.len() as u64);
    let num_words = words.len();
    let (model, report) = tokio::task::spawn_blocking(move || {
        train(&train_docs, num_words, &config, args.passes, &heldout)
    })
    .await?
    .map_err(|e| anyhow::anyhow!("training: {e}"))?;
    let storage = Storage::from_url(args.out.to_str().context("--out must be valid UTF-8")?)?;
    let evaluation = Evaluation {
        heldout_docs: 0,
        heldout_perplexity: report
            .heldout_perplexity
            .is_finite()
            .then_some(report.heldout_perplexity),
        npmi: report.npmi.is_finite().then_some(report.npmi),
        umass: report.umass.is_finite().then_some(report.umass),
    };
    // A re-run into the same directory replaces the previous result.
    let _ = storage.delete("manifest.json").await;
    write_snapshot(&storage, "", "batch", 1, &model, &words, evaluation).await?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// Tokenizes a JSONL corpus and builds its vocabulary (ids in order of first appearance).
fn read_jsonl(
    path: &PathBuf,
    config: TokenizerConfig,
) -> anyhow::Result<(Vec<Document>, Vec<String>)> {
    let tokenizer = Tokenizer::new(config)?;
    let mut ids: HashMap<String, u32> = HashMap::new();
    let mut words = Vec::new();
    let mut docs = Vec::new();
    for line in crate::produce::read_lines(path)? {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let doc = crate::produce::parse_line(&line)?;
        let processed = tokenizer.process(&doc.text);
        let pairs: Vec<(u32, f32)> = processed
            .terms
            .into_iter()
            .map(|(w, c)| {
                let next = ids.len() as u32;
                let id = *ids.entry(w.clone()).or_insert_with(|| {
                    words.push(w);
                    next
                });
                (id, c as f32)
            })
            .collect();
        docs.push(Document::from_pairs(pairs));
    }
    Ok((docs, words))
}
