//! Do the plain and the SQUAREM-accelerated E-step reach the same fixed point on real
//! documents? Trains a model (plain E-step), then infers every document with both, run to
//! convergence (tight threshold, high cap), and prints how far apart the topic mixtures are.
//!
//! ```text
//! lda_fixed_point --docword docword.nips.txt.gz --vocab vocab.nips.txt --k 50
//! ```

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use latentlabel_lda::{batch, uci, LdaConfig, TopicInference};

fn main() -> Result<()> {
    let (mut docword, mut vocab) = (None, None);
    let mut config = LdaConfig {
        estep_acceleration: false,
        threads: 1,
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
            _ => bail!("unknown option {flag}"),
        }
    }
    let (corpus, words) = uci::read_uci(
        &docword.context("--docword is required")?,
        &vocab.context("--vocab is required")?,
    )?;
    config.total_docs = Some(corpus.len() as u64);
    let (model, _) = batch::train(&corpus, words.len(), &config, 1, &[])?;
    let infer = |accelerate| -> Result<Vec<Vec<f32>>> {
        let inference =
            TopicInference::from_lambda(model.lambda(), model.alpha().to_vec(), 20_000, 1e-5)?
                .with_acceleration(accelerate);
        Ok(inference.infer_batch(&corpus))
    };
    let (plain, accelerated) = (infer(false)?, infer(true)?);
    let l1: Vec<f32> = plain
        .iter()
        .zip(&accelerated)
        .map(|(p, a)| p.iter().zip(a).map(|(x, y)| (x - y).abs()).sum())
        .collect();
    let n = l1.len() as f32;
    println!(
        "docs {} mean_l1 {:.2e} max_l1 {:.3} share_l1_above_0.01 {:.4} share_above_0.1 {:.4}",
        l1.len(),
        l1.iter().sum::<f32>() / n,
        l1.iter().copied().fold(0.0, f32::max),
        l1.iter().filter(|&&d| d > 0.01).count() as f32 / n,
        l1.iter().filter(|&&d| d > 0.1).count() as f32 / n,
    );
    Ok(())
}
