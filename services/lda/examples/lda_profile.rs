//! A fixed, training-only workload for instruction-count comparisons
//! (`valgrind --tool=callgrind`): the first `--docs` documents of a UCI corpus, one pass.
//! `--per-batch true` prints one line per mini-batch (wall time, E-step time, map evaluations
//! per document, active (topic, word) pairs per evaluation, E-step GFLOP/s): where a run's
//! time goes as lambda moves away from its random start.
//!
//! ```text
//! lda_profile --docword docword.nips.txt.gz --vocab vocab.nips.txt --k 100 --docs 512 --threads 1
//! ```

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use latentlabel_lda::{uci, LdaConfig, OnlineLda};

// The product binary's allocator (the CLI sets it too): with glibc malloc these timings ran
// ~30 % slower than `lda-train`'s.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    let (mut docword, mut vocab, mut docs) = (None, None, 512usize);
    let mut per_batch = false;
    let mut config = LdaConfig {
        num_topics: 100,
        seed: 0,
        ..Default::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--docword" => docword = Some(PathBuf::from(value)),
            "--vocab" => vocab = Some(PathBuf::from(value)),
            "--k" => config.num_topics = value.parse()?,
            "--docs" => docs = value.parse()?,
            "--threads" => config.threads = value.parse()?,
            "--batch" => config.batch_size = value.parse()?,
            "--estep-acceleration" => config.estep_acceleration = value.parse()?,
            "--per-batch" => per_batch = value.parse()?,
            _ => bail!("unknown option {flag}"),
        }
    }
    let (corpus, words) = uci::read_uci(
        &docword.context("--docword is required")?,
        &vocab.context("--vocab is required")?,
    )?;
    let corpus = &corpus[..docs.min(corpus.len())];
    config.total_docs = Some(corpus.len() as u64);
    let mut model = OnlineLda::new(config.clone(), words.len())?;
    let start = Instant::now();
    let mut iterations = 0.0;
    for (i, chunk) in corpus.chunks(config.batch_size).enumerate() {
        let batch_start = Instant::now();
        let stats = model.update(chunk);
        let evaluations = stats.mean_iterations * stats.docs as f64;
        iterations += evaluations;
        if per_batch {
            println!(
                "batch {i} seconds {:.4} estep_seconds {:.4} mean_iterations {:.1} \
                 pairs_per_evaluation {:.0} estep_gflops {:.1}",
                batch_start.elapsed().as_secs_f64(),
                stats.estep_seconds,
                stats.mean_iterations,
                stats.estep_pairs as f64 / evaluations,
                latentlabel_lda::FLOPS_PER_PAIR * stats.estep_pairs as f64
                    / stats.estep_seconds
                    / 1e9,
            );
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let lambda_sum: f64 = model.lambda().iter().map(|&x| x as f64).sum();
    println!(
        "docs {} seconds {secs:.3} docs/s {:.1} mean_iterations {:.3} lambda_sum {lambda_sum:.6e}",
        corpus.len(),
        corpus.len() as f64 / secs,
        iterations / corpus.len() as f64
    );
    Ok(())
}
