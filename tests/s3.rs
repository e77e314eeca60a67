//! Object storage against an S3-compatible server (moto's server from PyPI, path-style) through
//! object_store's S3 client: dataset versions commit, create-only manifests refuse a second writer,
//! and everything reads back.

use std::time::Duration;

use latentlabel_common::storage::PutError;
use latentlabel_common::Storage;
use latentlabel_labeling_queue::dataset::{self, CommitInfo, CostTotals, DatasetRow};
use latentlabel_tests::*;

fn row(id: &str) -> DatasetRow {
    DatasetRow {
        doc_id: id.into(),
        text: format!("text {id}"),
        label: "x".into(),
        source: "human".into(),
        confidence: Some(0.9),
        annotators: vec!["alice".into()],
        agreement: None,
        cost_usd: 0.05,
        model_version: Some(1),
        classifier_version: Some(2),
        split: dataset::split_of(id).into(),
        labeled_at_ms: 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datasets_commit_and_read_back_on_s3() {
    if !have_python_modules(&["moto.server"]) {
        return;
    }
    let port = free_port();
    let mut moto = std::process::Command::new("python3")
        .args(["-m", "moto.server", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("moto server");
    let endpoint = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let up = eventually(Duration::from_secs(30), || {
        let (http, url) = (http.clone(), format!("{endpoint}/latentlabel-test"));
        async move {
            http.put(url)
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success())
        }
    })
    .await;
    assert!(up.is_some(), "moto answered and created the bucket");
    // SAFETY: this test binary has a single test; nothing reads the environment concurrently.
    for (k, v) in [
        ("AWS_ENDPOINT", endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
    ] {
        std::env::set_var(k, v);
    }
    let storage = Storage::from_url("s3://latentlabel-test/team-a").expect("s3 store");
    let info = || CommitInfo {
        cost: CostTotals::default(),
        learning_curve: serde_json::Value::Null,
        trigger: "test".into(),
    };
    let v1 = dataset::commit(&storage, "labels", &[row("a"), row("b")], info())
        .await
        .expect("commit v1");
    let v2 = dataset::commit(&storage, "labels", &[row("a"), row("b"), row("c")], info())
        .await
        .expect("commit v2");
    assert_eq!((v1.version, v2.version, v2.parent_version), (1, 2, Some(1)));
    assert_eq!(
        storage.versions("datasets/labels").await.expect("list"),
        vec![1, 2]
    );
    let rows = dataset::read_rows(&storage, &v2).await.expect("read");
    assert_eq!(
        rows.iter().map(|r| r.doc_id.as_str()).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    // A second writer cannot claim a committed version.
    let again = storage
        .put_create_only("datasets/labels/v000002/manifest.json", b"{}".to_vec())
        .await;
    assert!(
        matches!(again, Err(PutError::AlreadyExists(_))),
        "{again:?}"
    );
    let _ = moto.kill();
    let _ = moto.wait();
}
