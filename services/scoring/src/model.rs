//! The topic model in use, swapped atomically when a new snapshot arrives.
//!
//! Readers clone an `Arc` under a read lock held for nanoseconds; the new model is loaded and
//! prepared on a background task before the swap, so no request waits for a load.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use latentlabel_common::Storage;
use latentlabel_lda::{Document, TopicInference};
use latentlabel_lda_trainer::snapshot::{load_snapshot, SnapshotManifest};

pub struct TopicModel {
    pub version: u64,
    pub manifest: SnapshotManifest,
    pub inference: TopicInference,
    pub word_ids: HashMap<String, u32>,
    /// Top words per topic, for display.
    pub topic_words: Vec<Vec<String>>,
}

impl TopicModel {
    /// Bag of words to ids; returns the document and the number of tokens not in the vocabulary.
    pub fn document<'a>(&self, terms: impl IntoIterator<Item = (&'a str, u32)>) -> (Document, u32) {
        let mut unknown = 0u32;
        let doc =
            Document::from_pairs(terms.into_iter().filter_map(
                |(w, c)| match self.word_ids.get(w) {
                    Some(id) => Some((*id, c as f32)),
                    None => {
                        unknown += c;
                        None
                    }
                },
            ));
        (doc, unknown)
    }
}

pub async fn load(storage: &Storage, manifest_path: &str) -> anyhow::Result<TopicModel> {
    let snapshot = load_snapshot(storage, manifest_path).await?;
    let manifest = snapshot.manifest;
    let alpha = manifest.alpha.clone();
    let max_iter = manifest.config.max_iterations;
    let threshold = manifest.config.gamma_threshold;
    let lambda = snapshot.lambda;
    // Building expElogbeta is O(K x V) work: keep it off the async runtime.
    let inference = tokio::task::spawn_blocking(move || {
        TopicInference::from_lambda(lambda, alpha, max_iter, threshold)
    })
    .await?
    .map_err(|e| anyhow::anyhow!("preparing inference for {manifest_path}: {e}"))?;
    let word_ids = snapshot
        .words
        .iter()
        .enumerate()
        .map(|(i, w)| (w.clone(), i as u32))
        .collect();
    let topic_words = manifest.topics.iter().map(|t| t.words.clone()).collect();
    Ok(TopicModel {
        version: manifest.version,
        manifest,
        inference,
        word_ids,
        topic_words,
    })
}

/// Holder of the current model.
#[derive(Clone, Default)]
pub struct ModelSlot {
    current: Arc<RwLock<Option<Arc<TopicModel>>>>,
}

impl ModelSlot {
    pub fn get(&self) -> Option<Arc<TopicModel>> {
        self.current.read().ok().and_then(|g| g.clone())
    }

    /// Installs `model` unless a newer one is already in place. Returns whether it was installed.
    pub fn install(&self, model: TopicModel) -> bool {
        let Ok(mut guard) = self.current.write() else {
            return false;
        };
        if guard.as_ref().is_some_and(|m| m.version >= model.version) {
            return false;
        }
        *guard = Some(Arc::new(model));
        true
    }
}
