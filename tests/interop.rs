//! Interop: a Python producer (confluent-kafka + fastavro) sends Avro and JSON documents mixed
//! with malformed records to the real ingest service over TCP. Every good document comes out
//! tokenized, every bad one is dead-lettered with the right reason, and the counts add up exactly
//! (the assertions live in tests/interop/interop_ingest.py).

use latentlabel_cli::args::PipelineConfig;
use latentlabel_common::embedded::EmbeddedKafka;
use latentlabel_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn python_producer_documents_are_all_accounted_for() {
    if !have_python_modules(&["confluent_kafka", "fastavro"]) {
        return;
    }
    let prefix = "interop.";
    let broker = EmbeddedKafka::start(1, &topics(prefix), 3).expect("broker");
    let bootstrap = broker.bootstrap_servers();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = PipelineConfig::default();
    config.labeling_queue.curation.labels = vec!["a".into(), "b".into()];
    let pipeline = start_pipeline(&bootstrap, prefix, dir.path(), config)
        .await
        .expect("pipeline");
    let script = repo_root().join("tests/interop/interop_ingest.py");
    let bootstrap_arg = bootstrap.clone();
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(script)
            .args(["--bootstrap", &bootstrap_arg, "--prefix", prefix])
            .status()
    })
    .await
    .expect("join")
    .expect("python3");
    assert!(status.success(), "interop_ingest.py reported a mismatch");
    pipeline.stop().await.expect("clean stop");
    drop(broker);
}
