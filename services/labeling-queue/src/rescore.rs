//! Keeping the human queue ranked by the current classifier.
//!
//! Each document is scored once, as it streams by, by whatever classifier scoring had then.
//! Active learning wants the whole open pool ranked by the *current* classifier, so after
//! every refit this loop sends the untouched tasks scored by an older one back through
//! scoring's public API (`POST /v1/score`, batches of `documents`) and re-ranks them with
//! [`Curator::rescore`](latentlabel_curation::Curator::rescore). Scoring stays the only place
//! that runs the models; the queue only needs its URL. Failures are logged and retried next
//! round: a stale ranking is worse, never wrong.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use latentlabel_common::records::{ScoredDocument, TopicWeight};
use latentlabel_common::ServiceContext;
use latentlabel_curation::StaleTask;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use crate::config::RescoreConfig;
use crate::queue::{display_of, scored_item, Shared};

/// One entry of scoring's `results`.
#[derive(Deserialize)]
struct ScoreResult {
    id: String,
    label: Option<String>,
    confidence: f32,
    margin: f32,
    entropy: f32,
    #[serde(default)]
    top_topics: Vec<TopicWeight>,
    model_version: u64,
    classifier_version: Option<u64>,
}

#[derive(Deserialize)]
struct ClassifierInfo {
    version: Option<u64>,
}

pub async fn rescore_loop(
    ctx: ServiceContext,
    config: RescoreConfig,
    shared: Arc<Shared>,
) -> anyhow::Result<()> {
    let Some(base) = config.scoring_url.clone().filter(|_| config.enabled) else {
        return Ok(());
    };
    let base = base.trim_end_matches('/').to_string();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the HTTP client for scoring")?;
    let mut tick = tokio::time::interval(Duration::from_secs(config.interval_secs.max(1)));
    loop {
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return Ok(()),
            _ = tick.tick() => {
                if let Err(e) = rescore_round(&http, &base, &config, &shared).await {
                    tracing::warn!(error = format!("{e:#}"), "re-scoring open tasks failed; retrying next round");
                }
            }
        }
    }
}

/// Sends `request` and decodes a successful JSON response.
async fn json_response<T: DeserializeOwned>(request: reqwest::RequestBuilder) -> anyhow::Result<T> {
    Ok(request.send().await?.error_for_status()?.json().await?)
}

/// Re-scores up to `max_per_round` stale tasks; returns how many were re-ranked.
async fn rescore_round(
    http: &reqwest::Client,
    base: &str,
    config: &RescoreConfig,
    shared: &Shared,
) -> anyhow::Result<usize> {
    let info: ClassifierInfo = json_response(http.get(format!("{base}/v1/classifier")))
        .await
        .context("scoring's /v1/classifier")?;
    let Some(version) = info.version else {
        return Ok(0);
    };
    let stale: Vec<StaleTask> = match shared.curator.lock() {
        Ok(c) => c.stale_tasks(&version.to_string(), config.max_per_round),
        Err(_) => anyhow::bail!("curator lock poisoned"),
    };
    let mut reranked = 0;
    for chunk in stale.chunks(config.batch.max(1)) {
        let documents: Vec<_> = chunk
            .iter()
            .map(|t| json!({"id": t.doc_id, "text": t.text}))
            .collect();
        #[derive(Deserialize)]
        struct Results {
            results: Vec<ScoreResult>,
        }
        let request = http
            .post(format!("{base}/v1/score"))
            .json(&json!({ "documents": documents }));
        let scored: Results = json_response(request)
            .await
            .context("scoring's /v1/score")?;
        let texts: std::collections::HashMap<&str, &str> = chunk
            .iter()
            .map(|t| (t.doc_id.as_str(), t.text.as_str()))
            .collect();
        let Ok(mut curator) = shared.curator.lock() else {
            anyhow::bail!("curator lock poisoned");
        };
        let Ok(mut display) = shared.display.lock() else {
            anyhow::bail!("display lock poisoned");
        };
        for r in scored.results {
            let Some(text) = texts.get(r.id.as_str()) else {
                continue;
            };
            let doc = ScoredDocument {
                id: r.id,
                text: text.to_string(),
                model_version: r.model_version as i64,
                classifier_version: r.classifier_version.map(|v| v as i64),
                theta: Vec::new(),
                top_topics: r.top_topics,
                label: r.label,
                confidence: r.confidence,
                margin: r.margin,
                entropy: r.entropy,
                unknown_words: 0,
                scored_at_ms: 0,
            };
            let item = scored_item(&doc);
            match curator.rescore(&item) {
                Ok(true) => {
                    reranked += 1;
                    display.insert(&doc.id, display_of(&doc));
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(doc_id = %doc.id, error = %e, "re-score rejected"),
            }
        }
    }
    if reranked > 0 {
        tracing::debug!(
            reranked,
            classifier_version = version,
            "open tasks re-ranked"
        );
    }
    Ok(reranked)
}
