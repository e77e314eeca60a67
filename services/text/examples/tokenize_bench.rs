//! Prints one JSON `TokenizeReport` line for a JSONL corpus.
//!
//! `cargo run --release -p latentlabel-text --example tokenize_bench -- --input F [--repeat N]
//!  [--no-stem] [--no-strip] [--no-stopwords] [--config JSON] [--stage clean|tokens|process|prepare]`

use std::path::PathBuf;

use anyhow::{bail, Context};
use latentlabel_text::bench::{tokenize_jsonl_stage, Stage};
use latentlabel_text::TokenizerConfig;

fn main() -> anyhow::Result<()> {
    let mut input: Option<PathBuf> = None;
    let mut repeat = 1usize;
    let mut stage = Stage::Process;
    let mut config = TokenizerConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--input" => input = Some(args.next().context("--input needs a path")?.into()),
            "--repeat" => repeat = args.next().context("--repeat needs a number")?.parse()?,
            "--config" => {
                config = serde_json::from_str(&args.next().context("--config needs JSON")?)?
            }
            "--stage" => {
                stage = match args.next().as_deref() {
                    Some("clean") => Stage::Clean,
                    Some("tokens") => Stage::Tokens,
                    Some("process") => Stage::Process,
                    Some("prepare") => Stage::Prepare,
                    other => bail!("--stage takes clean|tokens|process|prepare, not {other:?}"),
                }
            }
            "--no-stem" => config.stemmer = None,
            "--no-stopwords" => config.stopwords = None,
            "--no-strip" => {
                config.strip_headers = false;
                config.strip_quotes = false;
                config.strip_signatures = false;
            }
            "-h" | "--help" => {
                println!("tokenize_bench --input FILE.jsonl[.gz] [--repeat N] [--no-stem] [--no-strip] [--no-stopwords] [--config JSON] [--stage clean|tokens|process|prepare]");
                return Ok(());
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    let input = input.context("--input FILE is required")?;
    let report = tokenize_jsonl_stage(&input, &config, repeat, stage)?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
