//! Trains online LDA on a UCI bag-of-words corpus and prints one JSON line with throughput
//! and quality (see `bench/lda/compare_gensim.py`).
//!
//! ```text
//! lda_train --docword docword.nips.txt.gz --vocab vocab.nips.txt --k 50 --batch 256 \
//!           --passes 1 --threads 1 --seed 0 --heldout-every 10 [--dump-lambda out.npy]
//! ```
//! Other options: --iterations N, --gamma-threshold X, --estep-acceleration true|false, --tau0 X, --kappa X, --alpha X,
//! --eta X, --learn-alpha, --total-docs N (default: the training corpus size, as gensim).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use latentlabel_lda::{batch, uci, LdaConfig};

// The product binary's allocator (the CLI sets it too): with glibc malloc these timings ran
// ~30 % slower than `lda-train`'s.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
    docword: PathBuf,
    vocab: PathBuf,
    passes: usize,
    heldout_every: usize,
    dump_lambda: Option<PathBuf>,
    config: LdaConfig,
}

fn parse() -> Result<Args> {
    let mut docword = None;
    let mut vocab = None;
    let mut passes = 1;
    let mut heldout_every = 10;
    let mut dump_lambda = None;
    let mut config = LdaConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--learn-alpha" {
            config.learn_alpha = true;
            continue;
        }
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| anyhow::anyhow!("{flag} {value}: {e}");
        match flag.as_str() {
            "--docword" => docword = Some(PathBuf::from(&value)),
            "--vocab" => vocab = Some(PathBuf::from(&value)),
            "--dump-lambda" => dump_lambda = Some(PathBuf::from(&value)),
            "--k" => config.num_topics = value.parse().map_err(|e| bad(&e))?,
            "--batch" => config.batch_size = value.parse().map_err(|e| bad(&e))?,
            "--passes" => passes = value.parse().map_err(|e| bad(&e))?,
            "--threads" => config.threads = value.parse().map_err(|e| bad(&e))?,
            "--seed" => config.seed = value.parse().map_err(|e| bad(&e))?,
            "--heldout-every" => heldout_every = value.parse().map_err(|e| bad(&e))?,
            "--iterations" => config.max_iterations = value.parse().map_err(|e| bad(&e))?,
            "--gamma-threshold" => config.gamma_threshold = value.parse().map_err(|e| bad(&e))?,
            "--estep-acceleration" => {
                config.estep_acceleration = value.parse().map_err(|e| bad(&e))?
            }
            "--tau0" => config.tau0 = value.parse().map_err(|e| bad(&e))?,
            "--kappa" => config.kappa = value.parse().map_err(|e| bad(&e))?,
            "--alpha" => config.alpha = Some(value.parse().map_err(|e| bad(&e))?),
            "--eta" => config.eta = Some(value.parse().map_err(|e| bad(&e))?),
            "--total-docs" => config.total_docs = Some(value.parse().map_err(|e| bad(&e))?),
            _ => bail!("unknown option {flag}"),
        }
    }
    Ok(Args {
        docword: docword.context("--docword is required")?,
        vocab: vocab.context("--vocab is required")?,
        passes,
        heldout_every,
        dump_lambda,
        config,
    })
}

fn main() -> Result<()> {
    let mut args = parse()?;
    let (corpus, words) = uci::read_uci(&args.docword, &args.vocab)?;
    let (train, heldout) = batch::split_heldout(corpus, args.heldout_every);
    if args.config.total_docs.is_none() {
        args.config.total_docs = Some(train.len().max(1) as u64);
    }
    let (model, report) = batch::train(&train, words.len(), &args.config, args.passes, &heldout)?;
    if let Some(path) = &args.dump_lambda {
        std::fs::write(path, batch::npy_f32(&model.lambda()))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
