//! Single-thread throughput over a JSONL corpus, for comparing with other tokenizers.
//!
//! All texts are loaded (and decompressed) first so that only [`crate::Tokenizer::process`] is
//! timed: reading and JSON parsing are the caller's cost, not the tokenizer's.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::time::Instant;

use anyhow::Context;

use crate::{Tokenizer, TokenizerConfig};

/// What one benchmark run measured.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TokenizeReport {
    /// Documents processed (texts x repeat).
    pub docs: u64,
    /// Bytes of raw text processed (UTF-8 bytes of the `text` fields, x repeat).
    pub bytes: u64,
    /// Tokens kept (sum of `token_count`).
    pub tokens: u64,
    /// Wall-clock seconds spent processing, loading excluded.
    pub seconds: f64,
    /// Raw-text megabytes (10^6 bytes) per second, single thread.
    pub mb_per_s: f64,
    /// Documents per second, single thread.
    pub docs_per_s: f64,
    /// CPU seconds this thread spent processing (Linux; `None` elsewhere). On a shared,
    /// loaded machine this is the fairer figure: wall time includes waiting for a core.
    pub cpu_seconds: Option<f64>,
    /// Raw-text megabytes per CPU second, when `cpu_seconds` is known.
    pub mb_per_cpu_s: Option<f64>,
}

/// CPU time of the calling thread, from the scheduler's nanosecond counter.
fn thread_cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

/// Reads the `text` field of every line of a `.jsonl` or `.jsonl.gz` file.
pub fn load_texts(path: &Path) -> anyhow::Result<Vec<String>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    #[derive(serde::Deserialize)]
    struct Line {
        text: String,
    }
    let mut texts = Vec::new();
    for (n, line) in BufReader::new(reader).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line = serde_json::from_str(&line)
            .with_context(|| format!("{}:{}: expected {{\"text\": ...}}", path.display(), n + 1))?;
        texts.push(parsed.text);
    }
    Ok(texts)
}

/// Which part of the pipeline a run times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// [`Tokenizer::clean`] only.
    Clean,
    /// [`Tokenizer::for_each_token`] on the raw text: no stripping, no bag of words.
    Tokens,
    /// [`Tokenizer::process`]: cleaning, topic terms and display text.
    Process,
    /// [`Tokenizer::prepare`]: `Process` plus the stored text and the classifier's context
    /// terms, as the ingest service runs it.
    Prepare,
}

/// Times [`Tokenizer::prepare`] (what ingest runs) over every text of `path`, `repeat` times,
/// on this thread.
pub fn tokenize_jsonl(
    path: &Path,
    config: &TokenizerConfig,
    repeat: usize,
) -> anyhow::Result<TokenizeReport> {
    tokenize_jsonl_stage(path, config, repeat, Stage::Prepare)
}

/// Like [`tokenize_jsonl`] but timing only `stage`, to see where the time goes.
pub fn tokenize_jsonl_stage(
    path: &Path,
    config: &TokenizerConfig,
    repeat: usize,
    stage: Stage,
) -> anyhow::Result<TokenizeReport> {
    let texts = load_texts(path)?;
    let tokenizer = Tokenizer::new(config.clone())?;
    let repeat = repeat.max(1);
    let cpu_start = thread_cpu_seconds();
    let start = Instant::now();
    let mut tokens = 0u64;
    for _ in 0..repeat {
        for text in &texts {
            tokens += match stage {
                Stage::Process => {
                    u64::from(std::hint::black_box(tokenizer.process(text)).token_count)
                }
                Stage::Prepare => u64::from(
                    std::hint::black_box(tokenizer.prepare(text))
                        .processed
                        .token_count,
                ),
                Stage::Clean => std::hint::black_box(tokenizer.clean(text)).len() as u64,
                Stage::Tokens => {
                    let mut n = 0u64;
                    tokenizer.for_each_token(text, |t| {
                        n += std::hint::black_box(t).len() as u64 / 64 + 1
                    });
                    n
                }
            };
        }
    }
    let seconds = start.elapsed().as_secs_f64().max(1e-9);
    let cpu_seconds = cpu_start
        .zip(thread_cpu_seconds())
        .map(|(a, b)| (b - a).max(1e-9));
    let docs = (texts.len() * repeat) as u64;
    let bytes = texts.iter().map(|t| t.len() as u64).sum::<u64>() * repeat as u64;
    Ok(TokenizeReport {
        docs,
        bytes,
        tokens,
        seconds,
        mb_per_s: bytes as f64 / 1e6 / seconds,
        docs_per_s: docs as f64 / seconds,
        cpu_seconds,
        mb_per_cpu_s: cpu_seconds.map(|c| bytes as f64 / 1e6 / c),
    })
}
