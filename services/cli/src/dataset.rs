//! `latentlabel dataset list|show|export`: the committed dataset versions in object storage.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use latentlabel_common::Storage;
use latentlabel_labeling_queue::dataset;

#[derive(Args, Debug)]
pub struct DatasetArgs {
    /// Object store: file:///dir, a plain directory, or s3://bucket/prefix.
    #[arg(
        long,
        env = "LATENTLABEL_OBJECT_STORE_URL",
        default_value = "./latentlabel-data"
    )]
    pub object_store_url: String,
    #[command(subcommand)]
    pub command: DatasetCommand,
}

#[derive(Subcommand, Debug)]
pub enum DatasetCommand {
    /// Every dataset and its versions, with row counts.
    List,
    /// One version's manifest (default: the newest).
    Show {
        #[arg(long, default_value = "labels")]
        name: String,
        #[arg(long)]
        version: Option<u64>,
    },
    /// Write one version's rows as JSONL (or to stdout with --out -).
    Export {
        #[arg(long, default_value = "labels")]
        name: String,
        #[arg(long)]
        version: Option<u64>,
        #[arg(long, default_value = "-")]
        out: PathBuf,
    },
}

pub async fn run(args: DatasetArgs) -> anyhow::Result<()> {
    let storage = Storage::from_url(&args.object_store_url)?;
    match args.command {
        DatasetCommand::List => {
            let names = dataset::list_names(&storage).await?;
            if names.is_empty() {
                println!("no datasets in {}", storage.url());
            }
            for name in names {
                for v in storage.versions(&dataset::prefix(&name)).await? {
                    let m = dataset::manifest(&storage, &name, v).await?;
                    println!(
                        "{name} v{v:06}  rows={:<7} parent={:<8} labels={} sources={}",
                        m.rows,
                        m.parent_version.map_or("-".into(), |p| format!("v{p:06}")),
                        serde_json::to_string(&m.counts_by_label)?,
                        serde_json::to_string(&m.counts_by_source)?
                    );
                }
            }
        }
        DatasetCommand::Show { name, version } => {
            let v = resolve(&storage, &name, version).await?;
            let m = dataset::manifest(&storage, &name, v).await?;
            println!("{}", serde_json::to_string_pretty(&m)?);
        }
        DatasetCommand::Export { name, version, out } => {
            let v = resolve(&storage, &name, version).await?;
            let m = dataset::manifest(&storage, &name, v).await?;
            let rows = dataset::read_rows(&storage, &m).await?;
            let mut sink: Box<dyn Write> = if out.as_os_str() == "-" {
                Box::new(std::io::stdout().lock())
            } else {
                Box::new(std::io::BufWriter::new(
                    std::fs::File::create(&out)
                        .with_context(|| format!("creating {}", out.display()))?,
                ))
            };
            for r in &rows {
                serde_json::to_writer(&mut sink, r)?;
                sink.write_all(b"\n")?;
            }
            sink.flush()?;
            eprintln!("exported {} rows of {name} v{v:06}", rows.len());
        }
    }
    Ok(())
}

async fn resolve(storage: &Storage, name: &str, version: Option<u64>) -> anyhow::Result<u64> {
    match version {
        Some(v) => Ok(v),
        None => storage
            .latest_version(&dataset::prefix(name))
            .await?
            .with_context(|| format!("dataset {name} has no committed version")),
    }
}
