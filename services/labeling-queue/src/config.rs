//! Labeling-queue service configuration. The routing, queue and cost policy itself is
//! [`latentlabel_curation::CurationConfig`], documented field by field there.

use latentlabel_curation::CurationConfig;
use serde::{Deserialize, Serialize};

/// One annotator and the bearer token that authenticates them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnotatorConfig {
    pub name: String,
    pub token: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueServiceConfig {
    /// Label set, routing, queue and cost policy. With an empty label set, the labels come from
    /// `LATENTLABEL_LABELS` (comma-separated).
    pub curation: CurationConfig,
    /// Dataset name: versions go to `datasets/<name>/`. Default `labels`.
    pub dataset_name: String,
    /// Commit a dataset version after this many new labels. Default 500.
    pub commit_every_labels: usize,
    /// Commit a dataset version at least this often when labels arrived, in seconds. Default 600.
    pub commit_every_secs: u64,
    /// Annotators and their tokens. Also read from `LATENTLABEL_ANNOTATOR_TOKENS`
    /// (`name:token,name:token`).
    pub annotators: Vec<AnnotatorConfig>,
    /// Token of the admin role (queue state, commits, configuration). Also read from
    /// `LATENTLABEL_ADMIN_TOKEN`. Without one, admin endpoints are disabled.
    pub admin_token: Option<String>,
    /// Write a queue checkpoint every this many seconds. Default 10.
    pub checkpoint_every_secs: u64,
    /// Scoring's classifier manifests are read from `classifiers/<model_name>/` to follow the
    /// learning curve. Default `default`.
    pub model_name: String,
    /// Consumer group for scored documents. Default `latentlabel-labeling-queue`.
    pub group_id: String,
    /// Re-ranking open tasks under each new classifier (through scoring's HTTP API).
    pub rescore: RescoreConfig,
}

/// See [`crate::rescore`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RescoreConfig {
    /// Re-rank open tasks (needs `scoring_url`). Default **false**: on 20 Newsgroups it did
    /// not make uncertainty sampling save labels (+4 % over five seeds on a quiet machine,
    /// against +2 % without it on the same seeds), and in one of those five runs the classifier trained on
    /// what it found hardest auto-labeled at 84 % precision (bench/queue/RESULTS.md, session
    /// 6). Turn it on to keep suggestions current on a slow-moving queue, and watch the audit
    /// precision.
    pub enabled: bool,
    /// Scoring's HTTP base URL, e.g. `http://latentlabel-scoring:8080`. Also read from
    /// `LATENTLABEL_SCORING_URL`. None: open tasks keep the score they arrived with (the queue
    /// then prefers the freshest scores, see `queue.freshness`). `up` sets it to its own
    /// address.
    pub scoring_url: Option<String>,
    /// Seconds between re-scoring rounds. Default 5.
    pub interval_secs: u64,
    /// Most tasks re-scored per round, oldest classifier first. Default 5000.
    pub max_per_round: usize,
    /// Documents per scoring request (scoring's `max_batch` caps it). Default 256.
    pub batch: usize,
}

impl Default for RescoreConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            scoring_url: None,
            interval_secs: 5,
            max_per_round: 5000,
            batch: 256,
        }
    }
}

impl Default for QueueServiceConfig {
    fn default() -> Self {
        Self {
            curation: CurationConfig::default(),
            dataset_name: "labels".into(),
            commit_every_labels: 500,
            commit_every_secs: 600,
            annotators: Vec::new(),
            admin_token: None,
            checkpoint_every_secs: 10,
            model_name: "default".into(),
            group_id: "latentlabel-labeling-queue".into(),
            rescore: RescoreConfig::default(),
        }
    }
}

impl QueueServiceConfig {
    /// Adds annotators and the admin token from the environment, then checks the whole.
    pub fn resolve(mut self) -> anyhow::Result<Self> {
        if let Ok(list) = std::env::var("LATENTLABEL_ANNOTATOR_TOKENS") {
            for pair in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (name, token) = pair.split_once(':').ok_or_else(|| {
                    anyhow::anyhow!("LATENTLABEL_ANNOTATOR_TOKENS entry {pair:?} is not name:token")
                })?;
                self.annotators.push(AnnotatorConfig {
                    name: name.into(),
                    token: token.into(),
                });
            }
        }
        if self.rescore.scoring_url.is_none() {
            self.rescore.scoring_url = std::env::var("LATENTLABEL_SCORING_URL")
                .ok()
                .filter(|u| !u.trim().is_empty());
        }
        if self.curation.labels.is_empty() {
            if let Ok(list) = std::env::var("LATENTLABEL_LABELS") {
                self.curation.labels = list
                    .split(',')
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect();
            }
        }
        if self.admin_token.is_none() {
            self.admin_token = std::env::var("LATENTLABEL_ADMIN_TOKEN")
                .ok()
                .filter(|t| !t.is_empty());
        }
        // Here, where the environment has been read, is the only place that knows the label
        // set is missing (not merely invalid): say how to give one.
        anyhow::ensure!(
            !self.curation.labels.is_empty(),
            "labeling-queue: no labels: configure labeling_queue.curation.labels in --config or \
             LATENTLABEL_LABELS (or run `up --demo`)"
        );
        let mut names = std::collections::HashSet::new();
        let mut tokens = std::collections::HashSet::new();
        for a in &self.annotators {
            anyhow::ensure!(
                !a.name.is_empty() && a.token.len() >= 8,
                "labeling-queue: annotator {:?} needs a name and a token of at least 8 characters",
                a.name
            );
            anyhow::ensure!(
                names.insert(&a.name),
                "labeling-queue: annotator {:?} is listed twice",
                a.name
            );
            anyhow::ensure!(
                tokens.insert(&a.token),
                "labeling-queue: two annotators share a token"
            );
        }
        anyhow::ensure!(
            self.commit_every_labels > 0,
            "labeling-queue: commit_every_labels must be > 0"
        );
        self.curation
            .validate()
            .map_err(|e| anyhow::anyhow!("labeling-queue: {e}"))?;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_the_environment_when_the_file_sets_none() {
        // SAFETY: no other test in this crate reads LATENTLABEL_LABELS.
        std::env::set_var("LATENTLABEL_LABELS", "billing, bug ,feature,");
        let config = QueueServiceConfig::default()
            .resolve()
            .expect("valid with labels from the environment");
        assert_eq!(config.curation.labels, ["billing", "bug", "feature"]);
        let mut explicit = QueueServiceConfig::default();
        explicit.curation.labels = vec!["a".into(), "b".into()];
        assert_eq!(
            explicit.resolve().expect("valid").curation.labels,
            ["a", "b"],
            "the file wins"
        );
        std::env::remove_var("LATENTLABEL_LABELS");
    }
}
