//! The demo: a corpus the project generates itself (six themes with their own vocabularies, mixed
//! with filler), and simulated annotators that label through the real HTTP API, so `up --demo`
//! turns the whole loop: topics, scores, auto-labels, human labels, dataset versions.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use latentlabel_common::records::RawDocument;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio_util::sync::CancellationToken;

pub const THEMES: &[(&str, &[&str])] = &[
    (
        "sports",
        &[
            "game",
            "team",
            "season",
            "coach",
            "player",
            "score",
            "league",
            "goal",
            "match",
            "win",
            "playoff",
            "stadium",
            "fans",
            "hockey",
            "baseball",
            "pitcher",
            "referee",
            "tournament",
            "championship",
            "defense",
        ],
    ),
    (
        "space",
        &[
            "orbit",
            "nasa",
            "launch",
            "rocket",
            "satellite",
            "moon",
            "mars",
            "shuttle",
            "planet",
            "telescope",
            "astronaut",
            "mission",
            "solar",
            "spacecraft",
            "galaxy",
            "comet",
            "payload",
            "probe",
            "lunar",
            "gravity",
        ],
    ),
    (
        "cooking",
        &[
            "recipe", "oven", "flour", "butter", "garlic", "sauce", "bake", "chicken", "onion",
            "pepper", "simmer", "dough", "spice", "kitchen", "roast", "salad", "cheese", "tomato",
            "dessert", "grill",
        ],
    ),
    (
        "finance",
        &[
            "market",
            "stock",
            "bank",
            "interest",
            "investor",
            "bond",
            "price",
            "inflation",
            "dividend",
            "loan",
            "credit",
            "portfolio",
            "equity",
            "trading",
            "revenue",
            "profit",
            "currency",
            "fund",
            "earnings",
            "mortgage",
        ],
    ),
    (
        "medicine",
        &[
            "patient",
            "doctor",
            "disease",
            "treatment",
            "clinical",
            "drug",
            "symptom",
            "hospital",
            "diagnosis",
            "therapy",
            "vaccine",
            "infection",
            "surgery",
            "dose",
            "chronic",
            "nurse",
            "cancer",
            "blood",
            "trial",
            "medical",
        ],
    ),
    (
        "computing",
        &[
            "software",
            "compiler",
            "memory",
            "kernel",
            "server",
            "database",
            "network",
            "program",
            "linux",
            "processor",
            "cache",
            "thread",
            "graphics",
            "driver",
            "keyboard",
            "disk",
            "windows",
            "code",
            "binary",
            "algorithm",
        ],
    ),
];

const FILLER: &[&str] = &[
    "people", "think", "really", "time", "year", "good", "work", "question", "know", "point",
    "world", "problem", "number", "thing", "way", "make", "today", "example", "place", "part",
];

/// A generated document and its true label (known to the simulated annotators only).
#[derive(Clone, Debug)]
pub struct DemoDocument {
    pub raw: RawDocument,
    pub label: String,
}

pub fn generate(n: usize, seed: u64) -> Vec<DemoDocument> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let theme = rng.random_range(0..THEMES.len());
            let other = rng.random_range(0..THEMES.len());
            let len = rng.random_range(30..90);
            let mut words = Vec::with_capacity(len);
            for _ in 0..len {
                let r: f64 = rng.random();
                let pool = if r < 0.65 {
                    THEMES[theme].1
                } else if r < 0.8 {
                    THEMES[other].1
                } else {
                    FILLER
                };
                words.push(pool[rng.random_range(0..pool.len())]);
            }
            let mut text = String::new();
            for (j, chunk) in words.chunks(12).enumerate() {
                let sentence = chunk.join(" ");
                let mut chars = sentence.chars();
                if let Some(first) = chars.next() {
                    text.extend(first.to_uppercase());
                    text.push_str(chars.as_str());
                }
                text.push_str(if j % 3 == 2 { "!\n" } else { ". " });
            }
            let label = THEMES[theme].0.to_string();
            DemoDocument {
                raw: RawDocument {
                    id: Some(format!("demo-{i:06}")),
                    text,
                    source: Some("demo".into()),
                    metadata: HashMap::new(),
                    created_at_ms: Some(latentlabel_common::records::now_ms()),
                },
                label,
            }
        })
        .collect()
}

pub fn labels() -> Vec<String> {
    THEMES.iter().map(|(n, _)| n.to_string()).collect()
}

/// A simulated annotator: leases tasks over HTTP and answers with the true label, except for a
/// share of mistakes (a uniformly random label) given by `accuracy`. Takes about `think` per
/// label. Kept out of the services: it is a client of the public API, like a person.
pub struct SimulatedAnnotator {
    pub base_url: String,
    pub token: String,
    pub accuracy: f64,
    pub think: Duration,
    pub truth: Arc<HashMap<String, String>>,
    pub labels: Arc<Vec<String>>,
    pub seed: u64,
    /// Labels submitted by every annotator sharing this counter.
    pub submitted: Arc<AtomicUsize>,
    /// Labeling pauses while `submitted >= allowed` (benchmarks meter the budget with it).
    pub allowed: Arc<AtomicUsize>,
}

impl SimulatedAnnotator {
    pub fn new(
        base_url: &str,
        token: &str,
        accuracy: f64,
        truth: Arc<HashMap<String, String>>,
    ) -> Self {
        Self {
            base_url: base_url.to_string(),
            token: token.to_string(),
            accuracy,
            think: Duration::from_millis(150),
            truth,
            labels: Arc::new(labels()),
            seed: 0,
            submitted: Arc::new(AtomicUsize::new(0)),
            allowed: Arc::new(AtomicUsize::new(usize::MAX)),
        }
    }

    pub async fn run(self, shutdown: CancellationToken) {
        let http = reqwest::Client::new();
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let pause = |d: u64| tokio::time::sleep(Duration::from_millis(d));
        while !shutdown.is_cancelled() {
            if self.submitted.load(Ordering::Relaxed) >= self.allowed.load(Ordering::Relaxed) {
                tokio::select! { _ = shutdown.cancelled() => return, _ = pause(20) => {} }
                continue;
            }
            let lease = http
                .post(format!("{}/v1/tasks/lease", self.base_url))
                .bearer_auth(&self.token)
                .send()
                .await;
            let task: serde_json::Value = match lease {
                Ok(r) if r.status().as_u16() == 200 => match r.json().await {
                    Ok(v) => v,
                    Err(_) => continue,
                },
                _ => {
                    tokio::select! { _ = shutdown.cancelled() => return, _ = pause(200) => {} }
                    continue;
                }
            };
            let (Some(task_id), Some(doc_id)) = (task["task_id"].as_str(), task["doc_id"].as_str())
            else {
                continue;
            };
            let label = match self.truth.get(doc_id) {
                Some(l) if rng.random::<f64>() < self.accuracy => l.clone(),
                _ => self.labels[rng.random_range(0..self.labels.len())].clone(),
            };
            tokio::select! { _ = shutdown.cancelled() => return, _ = tokio::time::sleep(self.think) => {} }
            let submitted = http
                .post(format!("{}/v1/tasks/{task_id}/submit", self.base_url))
                .bearer_auth(&self.token)
                .json(&serde_json::json!({ "label": label }))
                .send()
                .await;
            if submitted.is_ok_and(|r| r.status().is_success()) {
                self.submitted.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn generation_is_deterministic_and_labeled() {
        let a = super::generate(50, 1);
        let b = super::generate(50, 1);
        assert_eq!(a.len(), 50);
        assert!(a
            .iter()
            .zip(&b)
            .all(|(x, y)| x.raw.text == y.raw.text && x.label == y.label));
        assert!(a.iter().all(|d| super::labels().contains(&d.label)));
    }
}
