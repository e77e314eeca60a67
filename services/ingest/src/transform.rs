//! One raw record in; one tokenized document or one dead letter out.

use latentlabel_common::deadletter::dead_letter;
use latentlabel_common::pipeline::{Incoming, Transform};
use latentlabel_common::records::{now_ms, TermCount, TokenizedDocument};
use latentlabel_common::{Codec, OutRecord, Topics};
use latentlabel_text::Tokenizer;
use sha2::Digest;

use crate::config::{DuplicateMode, IngestConfig};
use crate::decode::{decode, Rejection};
use crate::dedup::{DedupWindow, Seen};
use crate::metrics;
use crate::SERVICE;

pub struct IngestTransform {
    tokenizer: Tokenizer,
    /// Stamped on every document, so scoring can tell whether it tokenizes alike.
    tokenizer_fingerprint: String,
    codec: Codec,
    topics: Topics,
    max_document_bytes: usize,
    duplicate_mode: DuplicateMode,
    dedup: DedupWindow,
}

impl IngestTransform {
    pub fn new(config: &IngestConfig, codec: Codec, topics: Topics) -> anyhow::Result<Self> {
        let tokenizer = Tokenizer::new(config.tokenizer.clone())
            .map_err(|e| anyhow::anyhow!("ingest tokenizer configuration: {e}"))?;
        Ok(Self {
            tokenizer,
            tokenizer_fingerprint: config.tokenizer.fingerprint(),
            codec,
            topics,
            max_document_bytes: config.max_document_bytes,
            duplicate_mode: config.duplicate_mode,
            dedup: DedupWindow::new(config.dedup_window),
        })
    }

    /// The whole decision for one record, without Kafka.
    pub async fn accept(&self, record: &Incoming) -> Result<TokenizedDocument, Rejection> {
        if record.payload.len() > self.max_document_bytes {
            return Err(Rejection::new(
                "too_large",
                format!(
                    "record is {} bytes; the limit is {}",
                    record.payload.len(),
                    self.max_document_bytes
                ),
            ));
        }
        let raw = decode(record, &self.codec).await?;
        // decode() always fills the id.
        let id = raw.id.clone().unwrap_or_default();
        let prepared = self.tokenizer.prepare(&raw.text);
        let processed = prepared.processed;
        if processed.terms.is_empty() {
            return Err(Rejection::new(
                "empty",
                format!("document {id:?} has no tokens after preprocessing"),
            ));
        }
        // Duplicates are judged on the cleaned body: a reply that only adds quotes or another
        // Subject says nothing new.
        let digest = sha2::Sha256::digest(processed.display_text.as_bytes());
        let mut short = [0u8; 16];
        short.copy_from_slice(&digest[..16]);
        let duplicate_of = match self.dedup.check(short, &id) {
            Seen::New | Seen::SameId => None,
            Seen::DuplicateOf(first) => match self.duplicate_mode {
                DuplicateMode::Drop => {
                    metrics::DUPLICATES.with_label_values(&["drop"]).inc();
                    return Err(Rejection::new(
                        "duplicate",
                        format!("content identical to document {first:?}"),
                    ));
                }
                DuplicateMode::Flag => {
                    metrics::DUPLICATES.with_label_values(&["flag"]).inc();
                    Some(first)
                }
                DuplicateMode::Pass => {
                    metrics::DUPLICATES.with_label_values(&["pass"]).inc();
                    None
                }
            },
        };
        Ok(TokenizedDocument {
            id,
            text: prepared.text,
            terms: term_counts(processed.terms),
            token_count: processed.token_count as i32,
            content_hash: hex::encode(digest),
            duplicate_of,
            source: raw.source,
            metadata: raw.metadata,
            ingested_at_ms: now_ms(),
            context_terms: term_counts(prepared.context_terms),
            tokenizer: Some(self.tokenizer_fingerprint.clone()),
        })
    }

    fn dead_letter(&self, record: &Incoming, rejection: &Rejection) -> Option<OutRecord> {
        metrics::REJECTED
            .with_label_values(&[rejection.reason])
            .inc();
        match dead_letter(
            SERVICE,
            &self.codec,
            &self.topics,
            record,
            rejection.reason,
            &rejection.message,
        ) {
            Ok(letter) => Some(letter),
            Err(e) => {
                // Our own schema failing to encode is a bug; keep the evidence in the log.
                tracing::error!(error = %e, "encoding dead letter");
                None
            }
        }
    }
}

fn term_counts(terms: Vec<(String, u32)>) -> Vec<TermCount> {
    terms
        .into_iter()
        .map(|(term, count)| TermCount {
            term,
            count: count.min(i32::MAX as u32) as i32,
        })
        .collect()
}

impl Transform for IngestTransform {
    async fn process(&self, record: Incoming) -> Vec<OutRecord> {
        match self.accept(&record).await {
            Ok(doc) => match self.codec.encode(&doc) {
                Ok(payload) => {
                    metrics::DOCUMENTS.inc();
                    metrics::TOKENS.inc_by(doc.token_count.max(0) as u64);
                    metrics::BYTES.inc_by(doc.text.len() as u64);
                    vec![OutRecord::new(&self.topics.tokens, doc.id.clone(), payload)]
                }
                Err(e) => self
                    .dead_letter(
                        &record,
                        &Rejection::new("encode", format!("encoding tokenized document: {e}")),
                    )
                    .into_iter()
                    .collect(),
            },
            Err(rejection) => self.dead_letter(&record, &rejection).into_iter().collect(),
        }
    }
}
