//! The demo: a corpus the project generates itself (six themes with their own vocabularies, mixed
//! with filler), and simulated annotators that label through the real HTTP API, so `up --demo`
//! turns the whole loop: topics, scores, auto-labels, human labels, dataset versions.

use std::collections::HashMap;
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
/// share of mistakes given by `accuracy`. Takes about `think` per label.
pub async fn annotate(
    base_url: String,
    token: String,
    accuracy: f64,
    think: Duration,
    truth: Arc<HashMap<String, String>>,
    seed: u64,
    shutdown: CancellationToken,
) {
    let http = reqwest::Client::new();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let all_labels = labels();
    while !shutdown.is_cancelled() {
        let lease = http
            .post(format!("{base_url}/v1/tasks/lease"))
            .bearer_auth(&token)
            .send()
            .await;
        let task: serde_json::Value = match lease {
            Ok(r) if r.status().as_u16() == 200 => match r.json().await {
                Ok(v) => v,
                Err(_) => continue,
            },
            _ => {
                tokio::select! { _ = shutdown.cancelled() => return, _ = tokio::time::sleep(Duration::from_millis(500)) => {} }
                continue;
            }
        };
        let (Some(task_id), Some(doc_id)) = (task["task_id"].as_str(), task["doc_id"].as_str())
        else {
            continue;
        };
        let correct = truth.get(doc_id).cloned();
        let label = match correct {
            Some(l) if rng.random::<f64>() < accuracy => l,
            _ => all_labels[rng.random_range(0..all_labels.len())].clone(),
        };
        tokio::select! { _ = shutdown.cancelled() => return, _ = tokio::time::sleep(think) => {} }
        let _ = http
            .post(format!("{base_url}/v1/tasks/{task_id}/submit"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "label": label }))
            .send()
            .await;
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
