//! Offline training over an in-memory corpus: the benchmark harness and a convenience for
//! tests and the CLI.

use std::time::Instant;

use serde::Serialize;

use crate::coherence::coherence;
use crate::config::{LdaConfig, LdaError};
use crate::document::Document;
use crate::model::OnlineLda;

/// Top words per topic used for coherence in reports.
pub const COHERENCE_TOP_N: usize = 10;

/// Throughput and quality of one training run.
#[derive(Clone, Debug, Serialize)]
pub struct TrainReport {
    pub docs: u64,
    pub tokens: f64,
    /// Wall time of the `update` calls only (no I/O, no evaluation).
    pub train_seconds: f64,
    pub docs_per_s: f64,
    pub tokens_per_s: f64,
    /// exp(-log_perplexity(heldout)); NaN without held-out documents.
    pub heldout_perplexity: f64,
    /// Coherence of the top 10 words per topic against the training corpus.
    pub npmi: f64,
    pub umass: f64,
    /// Mean E-step map evaluations per document (as [`crate::UpdateStats`]).
    pub mean_iterations: f64,
    /// Share of training documents whose E-step stopped at `max_iterations` unconverged.
    pub capped_fraction: f64,
    /// Wall time of the E-step alone (inside `train_seconds`).
    pub estep_seconds: f64,
    /// Useful arithmetic of the E-step per second of its wall time: 4 flops (two FMAs) per
    /// (active topic, word) pair of every map evaluation, in 1e9/s. Compare with the core's
    /// FMA peak x threads (docs: bench/lda/RESULTS.md).
    pub estep_gflops: f64,
    pub num_topics: usize,
    pub batch_size: usize,
    pub passes: usize,
    pub threads: usize,
}

/// Trains a fresh model: `passes` sweeps over `corpus` in order, in mini-batches of
/// `config.batch_size`, then evaluates on `heldout` and the training corpus.
pub fn train(
    corpus: &[Document],
    num_words: usize,
    config: &LdaConfig,
    passes: usize,
    heldout: &[Document],
) -> Result<(OnlineLda, TrainReport), LdaError> {
    let mut model = OnlineLda::new(config.clone(), num_words)?;
    let (mut docs, mut tokens, mut iterations, mut capped) = (0u64, 0f64, 0f64, 0f64);
    let (mut estep_seconds, mut estep_pairs) = (0f64, 0u64);
    let start = Instant::now();
    for _ in 0..passes {
        for chunk in corpus.chunks(config.batch_size) {
            let stats = model.update(chunk);
            docs += stats.docs as u64;
            tokens += stats.tokens;
            iterations += stats.mean_iterations * stats.docs as f64;
            capped += (1.0 - stats.converged_fraction) * stats.docs as f64;
            estep_seconds += stats.estep_seconds;
            estep_pairs += stats.estep_pairs;
        }
    }
    let train_seconds = start.elapsed().as_secs_f64();

    let heldout_perplexity = (-model.log_perplexity(heldout)).exp();
    let top: Vec<Vec<u32>> = model
        .top_words_all(COHERENCE_TOP_N)
        .into_iter()
        .map(|words| words.into_iter().map(|(w, _)| w).collect())
        .collect();
    let coh = coherence(&top, corpus);
    let report = TrainReport {
        docs,
        tokens,
        train_seconds,
        docs_per_s: docs as f64 / train_seconds,
        tokens_per_s: tokens / train_seconds,
        heldout_perplexity,
        npmi: coh.npmi,
        umass: coh.umass,
        mean_iterations: if docs == 0 {
            0.0
        } else {
            iterations / docs as f64
        },
        capped_fraction: if docs == 0 { 0.0 } else { capped / docs as f64 },
        estep_seconds,
        estep_gflops: if estep_seconds > 0.0 {
            crate::FLOPS_PER_PAIR * estep_pairs as f64 / estep_seconds / 1e9
        } else {
            0.0
        },
        num_topics: config.num_topics,
        batch_size: config.batch_size,
        passes,
        threads: config.threads,
    };
    Ok((model, report))
}

/// Deterministic split: document i goes to held-out when `i % every == 0`, else to training.
/// `every == 0` keeps everything for training. Returns (train, heldout).
pub fn split_heldout(corpus: Vec<Document>, every: usize) -> (Vec<Document>, Vec<Document>) {
    let (mut train, mut heldout) = (Vec::new(), Vec::new());
    for (i, doc) in corpus.into_iter().enumerate() {
        if every != 0 && i % every == 0 {
            heldout.push(doc);
        } else {
            train.push(doc);
        }
    }
    (train, heldout)
}

/// A K x V f32 matrix (e.g. [`OnlineLda::lambda`]) as NumPy `.npy` bytes (format 1.0,
/// little-endian, C order), for side-by-side checks in Python.
pub fn npy_f32(m: &ndarray::Array2<f32>) -> Vec<u8> {
    let (rows, cols) = m.dim();
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // Magic (6) + version (2) + header length (2) + header + '\n': a multiple of 64 bytes.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + m.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    // `iter` walks in logical (row-major) order whatever the memory layout.
    for &x in m.iter() {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}
