//! Scoring swaps models under load with zero failed requests, and every answer names the model
//! version it used.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use latentlabel_common::embedded::EmbeddedKafka;
use latentlabel_common::records::ModelSnapshot;
use latentlabel_common::{Codec, OutRecord, ServiceContext, Storage};
use latentlabel_lda::{Document, LdaConfig, OnlineLda};
use latentlabel_lda_trainer::snapshot::{snapshot_dir, write_snapshot, Evaluation};
use latentlabel_tests::*;
use tokio_util::sync::CancellationToken;

fn model(seed: u64) -> (OnlineLda, Vec<String>) {
    let words: Vec<String> = (0..400).map(|i| format!("word{i}")).collect();
    let config = LdaConfig {
        num_topics: 20,
        batch_size: 50,
        seed,
        threads: 1,
        ..LdaConfig::default()
    };
    let mut lda = OnlineLda::new(config, words.len()).expect("model");
    let docs: Vec<Document> = (0..200u32)
        .map(|d| {
            Document::from_pairs(
                (0..30u32).map(|j| (((d * 7 + j * 13) % 400), 1.0 + (j % 3) as f32)),
            )
        })
        .collect();
    for batch in docs.chunks(50) {
        lda.update(batch);
    }
    (lda, words)
}

async fn publish(ctx: &ServiceContext, version: u64) {
    let (lda, words) = model(version);
    let dir = snapshot_dir("default", version);
    let manifest = write_snapshot(
        &ctx.storage,
        &dir,
        "default",
        version,
        &lda,
        &words,
        Evaluation::default(),
    )
    .await
    .expect("snapshot");
    let announcement = ModelSnapshot {
        model: "default".into(),
        version: version as i64,
        created_at_ms: 0,
        num_topics: manifest.num_topics as i32,
        num_words: manifest.num_words as i32,
        docs_seen: 0,
        updates: 0,
        topics_path: manifest.topics_path,
        manifest_path: format!("{dir}/manifest.json"),
        heldout_perplexity: None,
        npmi: None,
        umass: None,
    };
    let record = OutRecord::new(
        &ctx.topics.models,
        "default",
        Codec::single_object()
            .encode(&announcement)
            .expect("encode"),
    );
    latentlabel_common::pipeline::send_all("test", &ctx.producer, &[record])
        .await
        .expect("announce");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn models_swap_under_load_without_failed_requests() {
    let topics = topics("swap.");
    let broker = EmbeddedKafka::start(1, &topics, 1).expect("broker");
    let dir = tempfile::tempdir().expect("tempdir");
    let shutdown = CancellationToken::new();
    let storage = Storage::from_url(dir.path().to_str().expect("utf8")).expect("store");
    let ctx = ServiceContext::new(
        kafka_settings(&broker.bootstrap_servers(), "swap."),
        storage,
        Codec::single_object(),
        shutdown.clone(),
    )
    .expect("ctx");
    publish(&ctx, 1).await;
    let listener = latentlabel_common::http::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let service = latentlabel_scoring::start(&ctx, latentlabel_scoring::ScoringConfig::default())
        .await
        .expect("scoring");
    let run_ctx = ctx.clone();
    let server = tokio::spawn(async move {
        latentlabel_common::service::run_services(&run_ctx, vec![service], listener).await
    });

    let http = reqwest::Client::new();
    let body = serde_json::json!({ "text": "word1 word20 word33 word47 word100 word250 word399 unknownword" });
    let ready = eventually(Duration::from_secs(30), || {
        let (http, base, body) = (http.clone(), base.clone(), body.clone());
        async move {
            http.post(format!("{base}/v1/score"))
                .json(&body)
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success())
        }
    })
    .await;
    assert!(
        ready.is_some(),
        "scoring answers once the first model is loaded"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let newest_seen = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (http, base, body, stop, ok, failed, newest) = (
            http.clone(),
            base.clone(),
            body.clone(),
            stop.clone(),
            ok.clone(),
            failed.clone(),
            newest_seen.clone(),
        );
        clients.push(tokio::spawn(async move {
            let mut last = 0;
            while !stop.load(Ordering::Relaxed) {
                match http
                    .post(format!("{base}/v1/score"))
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => {
                        let v: serde_json::Value = r.json().await.expect("json");
                        let version = v["model_version"]
                            .as_u64()
                            .expect("every answer names its model version");
                        assert!(
                            version >= last,
                            "model versions never go backwards for one client"
                        );
                        assert_eq!(v["theta"].as_array().map(Vec::len), Some(20));
                        last = version;
                        newest.fetch_max(version, Ordering::Relaxed);
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for version in 2..=6 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        publish(&ctx, version).await;
    }
    let swapped = eventually(Duration::from_secs(20), || {
        let newest = newest_seen.clone();
        async move { (newest.load(Ordering::Relaxed) == 6).then_some(()) }
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.expect("client");
    }
    println!(
        "requests ok={} failed={}",
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed)
    );
    assert!(swapped.is_some(), "the newest model (v6) was swapped in");
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "no request failed during swaps"
    );
    assert!(ok.load(Ordering::Relaxed) > 100);
    shutdown.cancel();
    server.await.expect("join").expect("clean stop");
    drop(broker);
}
