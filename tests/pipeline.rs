//! End to end: the four real services against the embedded Kafka-protocol broker over TCP.
//! Every produced document must come out tokenized or dead-lettered with the right reason, the
//! loop must turn (model snapshot, scores, human labels over HTTP, a dataset version), and the
//! business metrics must be exported.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use latentlabel_cli::args::PipelineConfig;
use latentlabel_common::embedded::EmbeddedKafka;
use latentlabel_common::records::{DeadLetter, TokenizedDocument};
use latentlabel_common::{Codec, OutRecord};
use latentlabel_labeling_queue::AnnotatorConfig;
use latentlabel_tests::*;
use rdkafka::message::Message;

const TOKEN: &str = "alice-token-0123456789";
const ADMIN: &str = "admin-token-0123456789";

fn config() -> PipelineConfig {
    let mut c = PipelineConfig::default();
    c.ingest.max_document_bytes = 20_000;
    c.lda_trainer.lda.num_topics = 6;
    c.lda_trainer.lda.batch_size = 32;
    c.lda_trainer.snapshot_every_updates = 1;
    c.lda_trainer.checkpoint_every_updates = 1;
    c.lda_trainer.batch_timeout_ms = 500;
    c.scoring.classifier.min_labels = 20;
    c.scoring.refit_every_labels = 10;
    c.labeling_queue.curation.labels = latentlabel_cli::demo::labels();
    c.labeling_queue.annotators = vec![AnnotatorConfig {
        name: "alice".into(),
        token: TOKEN.into(),
    }];
    c.labeling_queue.admin_token = Some(ADMIN.into());
    c.labeling_queue.commit_every_secs = 3600;
    c.labeling_queue.rescore.enabled = true;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_document_is_accounted_for_and_the_loop_turns() {
    let prefix = "e2e.";
    let topics = topics(prefix);
    let broker = EmbeddedKafka::start(1, &topics, 3).expect("embedded broker");
    let bootstrap = broker.bootstrap_servers();
    let dir = tempfile::tempdir().expect("tempdir");
    let pipeline = start_pipeline(&bootstrap, prefix, dir.path(), config())
        .await
        .expect("pipeline");
    let codec = Codec::single_object();

    // 240 good documents (Avro and JSON), and one of each kind of bad record.
    let corpus = latentlabel_cli::demo::generate(240, 11);
    let truth: HashMap<String, String> = corpus
        .iter()
        .map(|d| (d.raw.id.clone().unwrap_or_default(), d.label.clone()))
        .collect();
    let mut records = Vec::new();
    for (i, d) in corpus.iter().enumerate() {
        let id = d.raw.id.clone().unwrap_or_default();
        let record = if i % 3 == 0 {
            let json = serde_json::json!({"id": id, "text": d.raw.text, "lang": "en"});
            OutRecord::new(&topics.raw, id, serde_json::to_vec(&json).expect("json"))
                .header("content-type", "application/json")
        } else {
            OutRecord::new(&topics.raw, id, codec.encode(&d.raw).expect("avro"))
        };
        records.push(record);
    }
    let bad: Vec<(&str, Vec<u8>, &str)> = vec![
        ("bad-garbage", b"\x07 not a document".to_vec(), "decode"),
        ("bad-json", b"{\"id\": \"x\", \"text\": ".to_vec(), "decode"),
        (
            "bad-missing",
            br#"{"id":"bad-missing"}"#.to_vec(),
            "missing_field",
        ),
        (
            "bad-empty",
            br#"{"id":"bad-empty","text":"the and of to"}"#.to_vec(),
            "empty",
        ),
        (
            "bad-utf8",
            b"{\"id\":\"bad-utf8\",\"text\":\"caf\xe9\"}".to_vec(),
            "invalid_utf8",
        ),
        (
            "bad-large",
            format!("{{\"text\":\"{}\"}}", "word ".repeat(5000)).into_bytes(),
            "too_large",
        ),
        ("bad-avro", vec![0xC3, 0x01, 1, 2, 3], "decode"),
        (
            "bad-schema",
            vec![0xC3, 0x01, 9, 9, 9, 9, 9, 9, 9, 9, 1],
            "unknown_schema",
        ),
        ("bad-nullbyte", Vec::new(), "empty"),
    ];
    for (key, payload, _) in &bad {
        records.push(OutRecord::new(&topics.raw, *key, payload.clone()));
    }
    let produced = records.len();
    latentlabel_common::pipeline::send_all("test", &pipeline.ctx.producer, &records)
        .await
        .expect("produce");

    let tokens_observer = observer(&bootstrap, &topics.tokens);
    let dead_observer = observer(&bootstrap, &topics.deadletter);
    let tokens = collect(&tokens_observer, corpus.len(), Duration::from_secs(90)).await;
    let dead = collect(&dead_observer, bad.len(), Duration::from_secs(60)).await;
    // Anything beyond the expected counts would show up within a few more seconds.
    let extra_tokens = collect(&tokens_observer, 1, Duration::from_secs(3)).await;
    let extra_dead = collect(&dead_observer, 1, Duration::from_secs(1)).await;
    assert!(
        extra_tokens.is_empty() && extra_dead.is_empty(),
        "more outputs than inputs"
    );

    let stamp = config().ingest.tokenizer.fingerprint();
    let token_ids: HashSet<String> = tokens
        .iter()
        .map(|m| {
            let doc = codec
                .decode_cached::<TokenizedDocument>(payload(m))
                .expect("tokenized document decodes");
            assert_eq!(
                doc.tokenizer.as_deref(),
                Some(stamp.as_str()),
                "ingest stamps its tokenizer settings on {}",
                doc.id
            );
            doc.id
        })
        .collect();
    assert_eq!(
        token_ids.len(),
        corpus.len(),
        "each good document tokenized exactly once"
    );
    assert!(token_ids.iter().all(|id| truth.contains_key(id)));
    let reasons: HashMap<String, String> = dead
        .iter()
        .map(|m| {
            let letter: DeadLetter = codec
                .decode_cached(payload(m))
                .expect("dead letter decodes");
            let key = letter
                .key
                .as_deref()
                .map(|k| String::from_utf8_lossy(k).into_owned())
                .unwrap_or_default();
            assert_eq!(letter.source_topic, topics.raw);
            assert!(!letter.message.is_empty());
            (key, letter.reason)
        })
        .collect();
    for (key, payload_bytes, reason) in &bad {
        assert_eq!(
            reasons.get(*key).map(String::as_str),
            Some(*reason),
            "dead letter for {key}"
        );
        let original = dead
            .iter()
            .find(|m| m.key() == Some(key.as_bytes()))
            .expect("dead letter present");
        let letter: DeadLetter = codec.decode_cached(payload(original)).expect("decodes");
        assert_eq!(
            &letter.payload, payload_bytes,
            "original bytes kept for {key}"
        );
    }
    assert_eq!(
        tokens.len() + dead.len(),
        produced,
        "tokenized + dead-lettered = produced"
    );

    // The loop turns: a model snapshot, scored documents, then human labels over HTTP.
    let storage = pipeline.ctx.storage.clone();
    let model = eventually(Duration::from_secs(90), || {
        let storage = storage.clone();
        async move {
            storage
                .latest_version("models/default")
                .await
                .ok()
                .flatten()
        }
    })
    .await;
    assert!(model.is_some(), "the trainer published a model snapshot");
    let scored_observer = observer(&bootstrap, &topics.scored);
    let scored = collect(&scored_observer, corpus.len(), Duration::from_secs(90)).await;
    assert_eq!(
        scored.len(),
        corpus.len(),
        "every tokenized document was scored"
    );

    let http = reqwest::Client::new();
    // Ready = connected to Kafka (every service) and a model loaded (scoring).
    let ready = eventually(Duration::from_secs(30), || {
        let (http, url) = (http.clone(), format!("{}/readyz", pipeline.http));
        async move {
            http.get(url)
                .send()
                .await
                .ok()
                .filter(|r| r.status().as_u16() == 200)
        }
    })
    .await;
    let body: serde_json::Value = ready
        .expect("/readyz turns 200")
        .json()
        .await
        .expect("json");
    for service in ["ingest", "lda-trainer", "scoring", "labeling-queue"] {
        assert_eq!(
            body["components"][service],
            serde_json::Value::Bool(true),
            "{body}"
        );
    }
    let mut labeled = 0;
    for _ in 0..400 {
        let lease = http
            .post(format!("{}/v1/tasks/lease", pipeline.http))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("lease");
        if lease.status().as_u16() == 204 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        assert_eq!(lease.status().as_u16(), 200, "{:?}", lease.text().await);
        let task: serde_json::Value = lease.json().await.expect("task json");
        let label = task["doc_id"]
            .as_str()
            .and_then(|d| truth.get(d))
            .cloned()
            .unwrap_or_else(|| "sports".into());
        let url = format!(
            "{}/v1/tasks/{}/submit",
            pipeline.http,
            task["task_id"].as_str().expect("task id")
        );
        let r = http
            .post(&url)
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({"label": label}))
            .send()
            .await
            .expect("submit");
        assert_eq!(r.status().as_u16(), 200, "{:?}", r.text().await);
        // A retry of the same submission is safe.
        let again = http
            .post(&url)
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({"label": label}))
            .send()
            .await
            .expect("submit");
        assert_eq!(again.status().as_u16(), 200);
        labeled += 1;
        if labeled >= 40 {
            break;
        }
    }
    assert!(labeled >= 40, "labeled {labeled} tasks");

    // With a classifier fitted, the open tasks scored before it are re-ranked through
    // scoring's API under the current classifier.
    let rescored = eventually(Duration::from_secs(60), || {
        let (http, url) = (http.clone(), format!("{}/v1/admin/queue", pipeline.http));
        async move {
            let queue: serde_json::Value = http
                .get(url)
                .bearer_auth(ADMIN)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let n = queue["stats"]["counters"]["rescored"].as_u64()?;
            (n > 0).then_some(n)
        }
    })
    .await;
    assert!(rescored.is_some(), "open tasks were re-scored");

    // Errors are JSON with a message.
    let unauthorized = http
        .post(format!("{}/v1/tasks/lease", pipeline.http))
        .send()
        .await
        .expect("request");
    assert_eq!(unauthorized.status().as_u16(), 401);
    let body: serde_json::Value = unauthorized.json().await.expect("json error body");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));

    // On-demand dataset commit; the version exists once its manifest does.
    let commit = http
        .post(format!("{}/v1/admin/datasets/commit", pipeline.http))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("commit");
    assert_eq!(commit.status().as_u16(), 200, "{:?}", commit.text().await);
    let manifest: serde_json::Value = commit.json().await.expect("manifest");
    assert!(manifest["rows"].as_u64().unwrap_or(0) >= 40, "{manifest}");
    let versions = storage.versions("datasets/labels").await.expect("list");
    assert_eq!(versions.len(), 1);

    let metrics = http
        .get(format!("{}/metrics", pipeline.http))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for name in [
        "latentlabel_cost_per_label_usd{source=\"human\"}",
        "latentlabel_topic_coherence{measure=\"npmi\"}",
        "latentlabel_heldout_perplexity ",
    ] {
        let value =
            metric_value(&metrics, name).unwrap_or_else(|| panic!("{name} missing from /metrics"));
        assert!(value.is_finite(), "{name} {value}");
    }
    // Ingest and scoring run with the same tokenizer settings, and scoring saw the stamps.
    assert_eq!(
        metric_value(&metrics, "latentlabel_scoring_tokenizer_mismatch_total "),
        Some(0.0)
    );
    pipeline.stop().await.expect("clean shutdown");
    drop(broker);
}
