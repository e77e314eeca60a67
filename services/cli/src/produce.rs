//! `latentlabel produce`: documents from a JSONL(.gz) file, or generated demo documents, to the
//! raw topic, keyed by id, with a progress bar.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use futures::stream::{FuturesUnordered, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use latentlabel_common::records::RawDocument;
use latentlabel_common::{Codec, OutRecord, Producer};

use crate::args::ConnectionArgs;

#[derive(Args, Debug)]
pub struct ProduceArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// JSONL file (optionally .gz), one {"id","text",...} object per line.
    #[arg(long, required_unless_present = "demo")]
    pub input: Option<PathBuf>,
    /// Send generated demo documents instead of a file.
    #[arg(long)]
    pub demo: bool,
    /// Number of demo documents, or the maximum number of lines to send from --input.
    #[arg(long)]
    pub docs: Option<usize>,
    /// Wire format: avro (RawDocument, single-object or Confluent framing) or json (the line as is).
    #[arg(long, value_parser = ["avro", "json"], default_value = "avro")]
    pub format: String,
    /// Seed of the demo generator and of --shuffle.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Shuffle the input before sending (corpora such as 20 Newsgroups are sorted by label).
    #[arg(long)]
    pub shuffle: bool,
}

pub async fn run(args: ProduceArgs) -> anyhow::Result<()> {
    let kafka = args.connection.kafka_settings(None)?;
    let codec = args.connection.codec().await?;
    let producer = kafka.producer()?;
    let topic = kafka.topics().raw;
    let sent = if args.demo {
        let docs = crate::demo::generate(args.docs.unwrap_or(2000), args.seed);
        let bar = progress(Some(docs.len() as u64));
        send_documents(
            &producer,
            &codec,
            &topic,
            docs.into_iter().map(|d| d.raw),
            &args.format,
            &bar,
        )
        .await?
    } else {
        let path = args
            .input
            .as_ref()
            .context("--input is required without --demo")?;
        let bar = progress(None);
        let limit = args.docs.unwrap_or(usize::MAX);
        // Without --shuffle only the first --docs lines are read.
        let take = if args.shuffle { usize::MAX } else { limit };
        let mut docs: Vec<RawDocument> = read_documents(path)?
            .take(take)
            .collect::<anyhow::Result<_>>()?;
        if args.shuffle {
            // Corpora such as 20 Newsgroups are sorted by label; a prefix of a shuffle is a sample.
            use rand::seq::SliceRandom;
            use rand::SeedableRng;
            docs.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(args.seed));
            docs.truncate(limit);
        }
        bar.set_length(docs.len() as u64);
        send_documents(
            &producer,
            &codec,
            &topic,
            docs.into_iter(),
            &args.format,
            &bar,
        )
        .await?
    };
    producer.flush(std::time::Duration::from_secs(30))?;
    eprintln!(
        "sent {sent} documents to {topic} at {}",
        kafka.bootstrap_servers
    );
    Ok(())
}

fn progress(len: Option<u64>) -> ProgressBar {
    let bar = ProgressBar::new(len.unwrap_or(0));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} docs ({per_sec})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Lines of a plain or gzipped file.
pub fn read_lines(
    path: &PathBuf,
) -> anyhow::Result<Box<dyn Iterator<Item = anyhow::Result<String>>>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let reader: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(std::io::BufReader::new(flate2::read::MultiGzDecoder::new(
            file,
        )))
    } else {
        Box::new(std::io::BufReader::new(file))
    };
    let shown = path.display().to_string();
    Ok(Box::new(reader.lines().enumerate().map(move |(i, l)| {
        l.with_context(|| format!("reading {shown} line {}", i + 1))
    })))
}

/// The documents of a JSONL file (plain or gzipped), skipping blank lines; a line that does
/// not parse is an error naming the file and line.
pub fn read_documents(
    path: &PathBuf,
) -> anyhow::Result<impl Iterator<Item = anyhow::Result<RawDocument>>> {
    let shown = path.display().to_string();
    Ok(read_lines(path)?
        .enumerate()
        .filter_map(move |(i, line)| match line {
            Ok(l) if l.trim().is_empty() => None,
            Ok(l) => Some(parse_line(&l).with_context(|| format!("{shown} line {}", i + 1))),
            Err(e) => Some(Err(e)),
        }))
}

/// A JSONL line as a RawDocument: `id` and `text` as named, everything else into metadata.
pub fn parse_line(line: &str) -> anyhow::Result<RawDocument> {
    let mut value: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(line).with_context(|| format!("not a JSON object: {:.80}", line))?;
    let text = match value.remove("text") {
        Some(serde_json::Value::String(s)) => s,
        _ => anyhow::bail!("line has no string field 'text': {:.80}", line),
    };
    let id = match value.remove("id") {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let metadata = value
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                if let serde_json::Value::String(s) = v {
                    s
                } else {
                    v.to_string()
                },
            )
        })
        .collect();
    Ok(RawDocument {
        id,
        text,
        source: None,
        metadata,
        created_at_ms: Some(latentlabel_common::records::now_ms()),
    })
}

/// Sends with up to 1,000 records in flight and waits for every acknowledgement.
pub async fn send_documents(
    producer: &Producer,
    codec: &Codec,
    topic: &str,
    docs: impl Iterator<Item = RawDocument>,
    format: &str,
    bar: &ProgressBar,
) -> anyhow::Result<u64> {
    let mut in_flight = FuturesUnordered::new();
    let mut sent = 0u64;
    for doc in docs {
        let key = doc.id.clone().unwrap_or_default();
        let payload = if format == "json" {
            serde_json::to_vec(
                &serde_json::json!({"id": doc.id, "text": doc.text, "metadata": doc.metadata}),
            )?
        } else {
            codec.encode(&doc)?
        };
        let mut record = OutRecord::new(topic, key, payload);
        if format == "json" {
            record = record.header("content-type", "application/json");
        }
        in_flight.push(async move { producer.send(&record).await });
        if in_flight.len() >= 1000 {
            if let Some(r) = in_flight.next().await {
                r.context("producing document")?;
                sent += 1;
                bar.inc(1);
            }
        }
    }
    while let Some(r) = in_flight.next().await {
        r.context("producing document")?;
        sent += 1;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_documents_skips_blank_lines_and_names_the_bad_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("docs.jsonl");
        std::fs::write(
            &path,
            "{\"id\": 7, \"text\": \"a b\", \"label\": \"x\"}\n\n{\"text\": \"c\"}\nnot json\n",
        )
        .expect("write");
        let docs: Vec<anyhow::Result<RawDocument>> = read_documents(&path).expect("open").collect();
        assert_eq!(docs.len(), 3);
        let first = docs[0].as_ref().expect("line 1 parses");
        assert_eq!(first.id.as_deref(), Some("7"));
        assert_eq!(first.metadata.get("label").map(String::as_str), Some("x"));
        assert!(docs[1].is_ok());
        let err = format!("{:#}", docs[2].as_ref().expect_err("line 4 is not JSON"));
        assert!(
            err.contains("docs.jsonl line 4: not a JSON object"),
            "{err}"
        );
    }
}
