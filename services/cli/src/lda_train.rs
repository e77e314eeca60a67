//! `latentlabel lda-train`: batch training for users and benchmarks, with the same model code as
//! the streaming trainer. Reads a UCI bag-of-words corpus (`docword[.gz]` + `vocab`) or a JSONL
//! text file through the ingest tokenizer; writes `DIR/topics.parquet` and `DIR/manifest.json`;
//! prints one JSON line of figures.
//!
//! For benchmarks (`bench/lda/compare_gensim.py`): `--dump-lambda F.npy` writes the final lambda
//! (K x V, little-endian f32 .npy), and `--export-uci DIR` writes a `--jsonl` corpus as tokenized
//! here (after `--shuffle`, before the held-out split) as UCI `docword.txt` + `vocab.txt`, so
//! another implementation can be fed exactly the same bags of words (`--export-only` stops there).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use latentlabel_common::Storage;
use latentlabel_lda::batch::{npy_f32, split_heldout, train};
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
    /// Document-topic prior: a number (symmetric), or `auto` to learn an asymmetric alpha
    /// from 1/K with gensim's Newton step (`alpha='auto'`). Default 1/K, fixed. The learned
    /// alpha is in manifest.json.
    #[arg(long, value_parser = parse_alpha)]
    pub alpha: Option<AlphaArg>,
    /// Symmetric topic-word prior (default 1/K).
    #[arg(long)]
    pub eta: Option<f32>,
    /// E-step iteration limit.
    #[arg(long)]
    pub iterations: Option<usize>,
    /// E-step convergence threshold on the mean absolute change of gamma (default 1e-3).
    #[arg(long)]
    pub gamma_threshold: Option<f32>,
    /// SQUAREM-accelerated E-step (`estep_acceleration`): about half the map evaluations per
    /// long document and a more converged E-step (docs/DESIGN.md). `--estep-acceleration`
    /// alone means true; without the flag, the trainer's default.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub estep_acceleration: Option<bool>,
    /// Every n-th document is held out for perplexity (0 = none).
    #[arg(long, default_value_t = 10)]
    pub heldout_every: usize,
    /// With --jsonl: keep e-mail headers, quoted replies and signatures.
    #[arg(long)]
    pub no_strip: bool,
    /// With --jsonl: no Snowball stemming.
    #[arg(long)]
    pub no_stem: bool,
    /// After training, write every document's topic mixture as CSV rows `split,label,f1..fK`
    /// (the input of bench/classify/compare_sklearn.py). Needs --jsonl with a "label" field.
    #[arg(long, requires = "jsonl")]
    pub theta_csv: Option<PathBuf>,
    /// With --theta-csv: a second JSONL whose documents are inferred (never trained on) as split `test`.
    #[arg(long, requires = "theta_csv")]
    pub test_jsonl: Option<PathBuf>,
    /// Train in a seeded random order (corpora such as 20 Newsgroups are sorted by label, which
    /// online LDA would otherwise see one label at a time). --theta-csv keeps file order.
    #[arg(long)]
    pub shuffle: bool,
    /// After training, write the final lambda (K x V topic-word parameters) as a NumPy .npy
    /// file: little-endian f32, C order (`numpy.load`).
    #[arg(long)]
    pub dump_lambda: Option<PathBuf>,
    /// With --jsonl: write the corpus as tokenized (in training order, i.e. after --shuffle, and
    /// before the held-out split; empty documents kept) in UCI bag-of-words format:
    /// DIR/docword.txt and DIR/vocab.txt. `--docword DIR/docword.txt --vocab DIR/vocab.txt`
    /// then trains on the same documents in the same order.
    #[arg(long, requires = "jsonl")]
    pub export_uci: Option<PathBuf>,
    /// With --export-uci: stop after writing the corpus (no training).
    #[arg(long, requires = "export_uci")]
    pub export_only: bool,
    /// Output directory for topics.parquet and manifest.json (optional with --dump-lambda or
    /// --export-only).
    #[arg(long, required_unless_present_any = ["dump_lambda", "export_only"])]
    pub out: Option<PathBuf>,
}

pub async fn run(args: LdaTrainArgs) -> anyhow::Result<()> {
    // clap does not enforce `requires = "jsonl"` once the conflicting --docword is given.
    if args.jsonl.is_none() && (args.export_uci.is_some() || args.theta_csv.is_some()) {
        anyhow::bail!("--export-uci and --theta-csv need --jsonl");
    }
    let mut tokenizer = TokenizerConfig::default();
    let mut labels = Vec::new();
    let (corpus, words) = match (&args.docword, &args.vocab, &args.jsonl) {
        (Some(d), Some(v), None) => latentlabel_lda::uci::read_uci(d, v)?,
        (None, _, Some(j)) => {
            if args.no_strip {
                tokenizer.strip_headers = false;
                tokenizer.strip_quotes = false;
                tokenizer.strip_signatures = false;
            }
            if args.no_stem {
                tokenizer.stemmer = None;
            }
            let mut ids = HashMap::new();
            let mut words = Vec::new();
            let (docs, l) = read_jsonl(j, &tokenizer, &mut ids, &mut words, true)?;
            labels = l;
            (docs, words)
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
    match args.alpha {
        Some(AlphaArg::Fixed(a)) => config.alpha = Some(a),
        Some(AlphaArg::Learn) => config.learn_alpha = true,
        None => {}
    }
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
    if let Some(g) = args.gamma_threshold {
        config.gamma_threshold = g;
    }
    if let Some(accelerate) = args.estep_acceleration {
        config.estep_acceleration = accelerate;
    }
    let all_docs = if args.theta_csv.is_some() {
        corpus.clone()
    } else {
        Vec::new()
    };
    let mut corpus = corpus;
    if args.shuffle {
        use rand::seq::SliceRandom;
        use rand::SeedableRng;
        corpus.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(args.seed));
    }
    if let Some(dir) = &args.export_uci {
        write_uci(dir, &corpus, &words)?;
        if args.export_only {
            let tokens: f64 = corpus.iter().map(|d| d.total() as f64).sum();
            println!(
                "{}",
                serde_json::json!({
                    "docs": corpus.len(),
                    "tokens": tokens,
                    "words": words.len(),
                    "export_uci": dir,
                })
            );
            return Ok(());
        }
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
    if let Some(path) = &args.dump_lambda {
        std::fs::write(path, npy_f32(&model.lambda()))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(out) = &args.out {
        let storage = Storage::from_url(out.to_str().context("--out must be valid UTF-8")?)?;
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
    }
    if let Some(csv) = &args.theta_csv {
        let mut ids: HashMap<String, u32> = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as u32))
            .collect();
        let mut no_new_words = Vec::new();
        let (test_docs, test_labels) = match &args.test_jsonl {
            Some(t) => read_jsonl(t, &tokenizer, &mut ids, &mut no_new_words, false)?,
            None => (Vec::new(), Vec::new()),
        };
        write_theta_csv(
            csv,
            &model,
            [
                ("train", &all_docs, &labels),
                ("test", &test_docs, &test_labels),
            ],
        )?;
    }
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// Writes documents in UCI bag-of-words format: `DIR/docword.txt` (D, W, NNZ, then 1-based
/// `docID wordID count` lines; an empty document has no lines but is counted in D) and
/// `DIR/vocab.txt` (word i on line i).
fn write_uci(dir: &Path, docs: &[Document], words: &[String]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    if let Some(w) = words
        .iter()
        .find(|w| w.is_empty() || w.contains(char::is_whitespace))
    {
        anyhow::bail!("word {w:?} cannot be written to a UCI vocab file");
    }
    let path = dir.join("vocab.txt");
    let mut vocab = std::io::BufWriter::new(
        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?,
    );
    for w in words {
        writeln!(vocab, "{w}")?;
    }
    vocab.flush()?;
    let path = dir.join("docword.txt");
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?,
    );
    let nnz: usize = docs.iter().map(|d| d.ids.len()).sum();
    writeln!(out, "{}\n{}\n{nnz}", docs.len(), words.len())?;
    for (d, doc) in docs.iter().enumerate() {
        for (&id, &count) in doc.ids.iter().zip(&doc.counts) {
            writeln!(out, "{} {} {}", d + 1, id + 1, count)?;
        }
    }
    out.flush()
        .with_context(|| format!("writing {}", path.display()))
}

fn write_theta_csv(
    path: &PathBuf,
    model: &latentlabel_lda::OnlineLda,
    splits: [(&str, &Vec<Document>, &Vec<String>); 2],
) -> anyhow::Result<()> {
    let inference = model.inference();
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    let k = model.num_topics();
    writeln!(
        out,
        "split,label,{}",
        (1..=k)
            .map(|i| format!("f{i}"))
            .collect::<Vec<_>>()
            .join(",")
    )?;
    for (split, docs, labels) in splits {
        for (theta, label) in inference.infer_batch(docs).iter().zip(labels.iter()) {
            let values: Vec<String> = theta.iter().map(|v| format!("{v:.6}")).collect();
            writeln!(out, "{split},{label},{}", values.join(","))?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Tokenizes a JSONL corpus into documents and their "label" fields. With `grow`, unseen words
/// get new ids (in order of first appearance); without, they are dropped (a held-out test set).
fn read_jsonl(
    path: &PathBuf,
    config: &TokenizerConfig,
    ids: &mut HashMap<String, u32>,
    words: &mut Vec<String>,
    grow: bool,
) -> anyhow::Result<(Vec<Document>, Vec<String>)> {
    let tokenizer = Tokenizer::new(config.clone())?;
    let mut docs = Vec::new();
    let mut labels = Vec::new();
    for doc in crate::produce::read_documents(path)? {
        let doc = doc?;
        let processed = tokenizer.process(&doc.text);
        let mut pairs = Vec::with_capacity(processed.terms.len());
        for (w, c) in processed.terms {
            let id = match ids.get(&w) {
                Some(id) => *id,
                None if grow => {
                    let id = ids.len() as u32;
                    ids.insert(w.clone(), id);
                    words.push(w);
                    id
                }
                None => continue,
            };
            pairs.push((id, c as f32));
        }
        docs.push(Document::from_pairs(pairs));
        labels.push(doc.metadata.get("label").cloned().unwrap_or_default());
    }
    Ok((docs, labels))
}

/// `--alpha`: a fixed symmetric prior, or `auto`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AlphaArg {
    Fixed(f32),
    Learn,
}

fn parse_alpha(value: &str) -> Result<AlphaArg, String> {
    if value.eq_ignore_ascii_case("auto") {
        return Ok(AlphaArg::Learn);
    }
    match value.parse::<f32>() {
        Ok(a) if a > 0.0 && a.is_finite() => Ok(AlphaArg::Fixed(a)),
        _ => Err(format!(
            "expected a positive number or `auto`, got {value:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::{AlphaArg, LdaTrainArgs};
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: LdaTrainArgs,
    }

    fn parse(extra: &[&str]) -> Result<LdaTrainArgs, clap::Error> {
        let base = [
            "lda-train",
            "--docword",
            "d.txt",
            "--vocab",
            "v.txt",
            "--out",
            "o",
        ];
        Cli::try_parse_from(base.iter().chain(extra)).map(|cli| cli.args)
    }

    fn estep_flag(extra: &[&str]) -> Option<bool> {
        parse(extra).expect("valid arguments").estep_acceleration
    }

    /// `--alpha` takes a positive number or `auto` (any case), and rejects anything else.
    #[test]
    fn alpha_takes_a_number_or_auto() {
        let alpha = |v: &str| parse(&[&format!("--alpha={v}")]).map(|a| a.alpha);
        assert_eq!(parse(&[]).expect("valid").alpha, None);
        assert_eq!(alpha("0.1").expect("valid"), Some(AlphaArg::Fixed(0.1)));
        assert_eq!(alpha("auto").expect("valid"), Some(AlphaArg::Learn));
        assert_eq!(alpha("AUTO").expect("valid"), Some(AlphaArg::Learn));
        for bad in ["0", "-1", "nan", "inf", "asymmetric", ""] {
            let err = alpha(bad).expect_err(bad).to_string();
            assert!(err.contains("positive number or `auto`"), "{bad}: {err}");
        }
    }

    /// `--estep-acceleration` alone still means true (as before it took a value); an explicit
    /// value sets it either way; without the flag the trainer's default applies.
    #[test]
    fn estep_acceleration_takes_an_optional_value() {
        assert_eq!(estep_flag(&[]), None);
        assert_eq!(estep_flag(&["--estep-acceleration"]), Some(true));
        assert_eq!(estep_flag(&["--estep-acceleration", "true"]), Some(true));
        assert_eq!(estep_flag(&["--estep-acceleration", "false"]), Some(false));
        assert_eq!(
            estep_flag(&["--estep-acceleration", "--k", "7"]),
            Some(true),
            "a following option is not taken as the value"
        );
    }
}
