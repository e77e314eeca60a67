//! `latentlabel up --demo` as a user runs it: a separate process with the embedded broker. Within
//! three minutes a dataset version must exist that pyarrow reads, `/metrics` must carry the three
//! business metrics with finite values, and then a real Prometheus scraping it must answer every
//! PromQL expression of the Grafana dashboards and alert rules with data.

use std::path::Path;
use std::time::{Duration, Instant};

use latentlabel_tests::*;

fn scrape(url: &str) -> Option<String> {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys,urllib.request;print(urllib.request.urlopen(sys.argv[1],timeout=5).read().decode())", url])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn newest_manifest(data: &Path) -> Option<std::path::PathBuf> {
    let dir = data.join("datasets/labels");
    let mut versions: Vec<_> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("manifest.json").is_file())
        .collect();
    versions.sort();
    versions.pop().map(|p| p.join("manifest.json"))
}

#[test]
fn demo_commits_a_readable_dataset_and_every_dashboard_query_has_data() {
    let data = tempfile::tempdir().expect("tempdir");
    let (mut node, addr) = Node::up_demo(env!("CARGO_BIN_EXE_latentlabel-node"), 1200, data.path());
    let banner = node.wait_line(
        "Kafka (embedded broker) bootstrap: 127.0.0.1:",
        Duration::from_secs(60),
    );
    assert!(banner.is_some(), "up printed the embedded broker address");

    // A committed dataset version within 3 minutes.
    let start = Instant::now();
    let manifest = loop {
        if let Some(m) = newest_manifest(data.path()) {
            break m;
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "no dataset version after 3 minutes"
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    println!(
        "dataset version after {:?}: {}",
        start.elapsed(),
        manifest.display()
    );
    let manifest_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).expect("read manifest"))
            .expect("manifest json");
    let rows = manifest_json["rows"].as_u64().expect("rows");
    assert!(rows > 0);

    if have_python_modules(&["pyarrow.parquet"]) {
        let datasets = manifest
            .parent()
            .and_then(|p| p.parent())
            .expect("dataset dir");
        // Every committed version, not just the newest.
        let script = r#"
import json, sys, glob, os, pyarrow.parquet as pq
versions = sorted(d for d in glob.glob(sys.argv[1] + '/v*') if os.path.exists(d + '/manifest.json'))
assert versions, 'no committed version'
for d in versions:
    m = json.load(open(d + '/manifest.json'))
    tables = [pq.read_table(p) for p in sorted(glob.glob(d + '/part-*.parquet'))]
    n = sum(t.num_rows for t in tables)
    ids = [i for t in tables for i in t.column('doc_id').to_pylist()]
    assert n == m['rows'] and n > 0, (d, n, m['rows'])
    assert len(ids) == len(set(ids)), d + ': a document appears twice'
    assert set(tables[0].column_names) >= {'doc_id','text','label','source','confidence','annotators','cost_usd','split'}
print('pyarrow read', len(versions), 'versions')
"#;
        let out = std::process::Command::new("python3")
            .args(["-c", script, datasets.to_str().expect("utf8")])
            .output()
            .expect("python3");
        assert!(
            out.status.success(),
            "pyarrow: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }

    let metrics_url = format!("http://{addr}/metrics");
    let metrics = scrape(&metrics_url).expect("scrape /metrics");
    for name in [
        "latentlabel_cost_per_label_usd{source=\"all\"}",
        "latentlabel_topic_coherence{measure=\"npmi\"}",
        "latentlabel_heldout_perplexity ",
    ] {
        let v = metric_value(&metrics, name).unwrap_or_else(|| panic!("{name} missing"));
        assert!(v.is_finite() && v != 0.0, "{name} {v}");
    }

    // Metric hygiene: units, `_total` counters, help texts, as promtool lints them.
    if have_tool("promtool") {
        use std::io::Write;
        let mut lint = std::process::Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("promtool");
        lint.stdin
            .take()
            .expect("stdin")
            .write_all(metrics.as_bytes())
            .expect("write");
        let out = lint.wait_with_output().expect("promtool");
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "promtool check metrics:\n{report}");
    }

    // Every dashboard panel and alert rule against a real Prometheus scraping the demo.
    if have_tool("prometheus") && have_python_modules(&["yaml"]) {
        let root = repo_root();
        let mut prom = std::process::Command::new("python3")
            .arg(root.join("tests/observability/run_prometheus.py"))
            .args(["--target", &addr, "--port", "0"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("run_prometheus.py");
        let mut reader = std::io::BufReader::new(prom.stdout.take().expect("stdout"));
        let mut line = String::new();
        use std::io::BufRead;
        let url = loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                panic!("prometheus did not start");
            }
            if let Some(u) = line.trim().strip_prefix("READY ") {
                break u.to_string();
            }
        };
        let check = std::process::Command::new("python3")
            .arg(root.join("tests/observability/promql_check.py"))
            .args([
                "--prometheus",
                &url,
                "--metrics-url",
                &metrics_url,
                "--wait",
                "120",
            ])
            .status()
            .expect("promql_check.py");
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &prom.id().to_string()])
            .status();
        let _ = prom.wait();
        assert!(
            check.success(),
            "a dashboard or alert expression failed against the running demo"
        );
    }

    // Graceful shutdown finishes in-flight work and exits 0.
    let status = node
        .terminate(Duration::from_secs(60))
        .expect("exits after SIGTERM");
    assert!(status.success(), "{status:?}");
}
