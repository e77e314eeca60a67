//! `latentlabel bench ...`: benchmarks that print figures as JSON lines.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use latentlabel_text::TokenizerConfig;

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: BenchCommand,
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Preprocessing throughput (MB/s, one core) over a JSONL(.gz) of {"text": ...}.
    Tokenize {
        #[arg(long)]
        input: PathBuf,
        #[arg(long, default_value_t = 1)]
        repeat: usize,
        /// Turn stemming off.
        #[arg(long)]
        no_stem: bool,
        /// Turn header/quote/signature stripping off.
        #[arg(long)]
        no_strip: bool,
    },
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.command {
        BenchCommand::Tokenize {
            input,
            repeat,
            no_stem,
            no_strip,
        } => {
            let mut config = TokenizerConfig::default();
            if no_stem {
                config.stemmer = None;
            }
            if no_strip {
                config.strip_headers = false;
                config.strip_quotes = false;
                config.strip_signatures = false;
            }
            let report = tokio::task::spawn_blocking(move || {
                latentlabel_text::bench::tokenize_jsonl(&input, &config, repeat)
            })
            .await??;
            println!("{}", serde_json::to_string(&report)?);
        }
    }
    Ok(())
}
