//! Shared helpers for the end-to-end tests: a whole pipeline in-process against the embedded
//! Kafka-protocol broker over TCP, consumers to observe topics, and tool/data discovery.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use latentlabel_cli::args::PipelineConfig;
use latentlabel_common::{Codec, KafkaSettings, ServiceContext, Storage, Topics};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::ClientConfig;
use tokio_util::sync::CancellationToken;

/// True if `tool` is on PATH. Otherwise prints why the test is skipped, or panics when
/// `LATENTLABEL_REQUIRE_TOOLS` is set (CI), so a missing tool can never pass silently there.
pub fn have_tool(tool: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join(tool).is_file()))
        .unwrap_or(false);
    if !found {
        if std::env::var_os("LATENTLABEL_REQUIRE_TOOLS").is_some() {
            panic!("{tool} is required (LATENTLABEL_REQUIRE_TOOLS is set) but not on PATH");
        }
        eprintln!("SKIPPED: {tool} is not installed (.ci/run installs it)");
    }
    found
}

/// True if the Python modules import. Same skip/require rule as [`have_tool`].
pub fn have_python_modules(modules: &[&str]) -> bool {
    let code = modules
        .iter()
        .map(|m| format!("import {m}"))
        .collect::<Vec<_>>()
        .join("; ");
    let ok = std::process::Command::new("python3")
        .args(["-c", &code])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var_os("LATENTLABEL_REQUIRE_TOOLS").is_some() {
            panic!("python modules {modules:?} are required (LATENTLABEL_REQUIRE_TOOLS is set)");
        }
        eprintln!("SKIPPED: python modules {modules:?} are missing (pip install -r tests/requirements.txt)");
    }
    ok
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// `../shared/data` next to the repository, when present. Prints the skip reason when not.
pub fn shared_data() -> Option<PathBuf> {
    let dir = repo_root().join("../shared/data");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: {} not present", dir.display());
        None
    }
}

/// Client settings for tests: short group timeouts so a late joiner rebalances in seconds.
pub fn kafka_settings(bootstrap: &str, prefix: &str) -> KafkaSettings {
    KafkaSettings {
        bootstrap_servers: bootstrap.to_string(),
        topic_prefix: prefix.to_string(),
        client_options: vec![
            ("session.timeout.ms".into(), "6000".into()),
            ("heartbeat.interval.ms".into(), "500".into()),
            ("topic.metadata.refresh.interval.ms".into(), "1000".into()),
        ],
        partitions: 3,
        replication: 1,
    }
}

pub struct Pipeline {
    pub ctx: ServiceContext,
    pub http: String,
    pub shutdown: CancellationToken,
    pub handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Pipeline {
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(60), self.handle).await??
    }
}

/// Starts the four services against `bootstrap` with `config`, storing into `data_dir`.
pub async fn start_pipeline(
    bootstrap: &str,
    prefix: &str,
    data_dir: &std::path::Path,
    mut config: PipelineConfig,
) -> anyhow::Result<Pipeline> {
    let shutdown = CancellationToken::new();
    let storage = Storage::from_url(data_dir.to_str().unwrap_or("."))?;
    let ctx = ServiceContext::new(
        kafka_settings(bootstrap, prefix),
        storage,
        Codec::single_object(),
        shutdown.clone(),
    )?;
    let listener = latentlabel_common::http::bind("127.0.0.1:0").await?;
    let http = format!("http://{}", listener.local_addr()?);
    // As `latentlabel up`: scoring's API on this listener, for the queue's re-ranking when enabled.
    if config.labeling_queue.rescore.scoring_url.is_none() {
        config.labeling_queue.rescore.scoring_url = Some(http.clone());
    }
    let services = vec![
        latentlabel_ingest::start(&ctx, config.ingest).await?,
        latentlabel_lda_trainer::start(&ctx, config.lda_trainer).await?,
        latentlabel_scoring::start(&ctx, config.scoring).await?,
        latentlabel_labeling_queue::start(&ctx, config.labeling_queue).await?,
    ];
    let run_ctx = ctx.clone();
    let handle = tokio::spawn(async move {
        latentlabel_common::service::run_services(&run_ctx, services, listener).await
    });
    Ok(Pipeline {
        ctx,
        http,
        shutdown,
        handle,
    })
}

/// A consumer that reads `topic` from the beginning, outside any service's group.
pub fn observer(bootstrap: &str, topic: &str) -> StreamConsumer {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set(
            "group.id",
            format!("observer-{}-{}", topic, std::process::id()),
        )
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        .create()
        .expect("observer consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    consumer
}

/// Reads until `want` records arrived or `timeout` passed; returns what arrived.
pub async fn collect(
    consumer: &StreamConsumer,
    want: usize,
    timeout: Duration,
) -> Vec<OwnedMessage> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < want {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match tokio::time::timeout(left, consumer.recv()).await {
            Ok(Ok(m)) => out.push(m.detach()),
            Ok(Err(e)) => eprintln!("observer: {e}"),
            Err(_) => break,
        }
    }
    out
}

/// Waits until `check` returns Some, polling every 250 ms.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(v) = check().await {
            return Some(v);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    None
}

pub fn topics(prefix: &str) -> Topics {
    Topics::new(prefix)
}

pub fn payload(m: &OwnedMessage) -> &[u8] {
    m.payload().unwrap_or_default()
}

/// A `latentlabel` child process, killed (SIGKILL) when dropped.
pub struct Node {
    pub child: std::process::Child,
    pub stdout_lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Node {
    /// Runs the test crate's copy of the `latentlabel` binary with `args`.
    pub fn spawn(binary: &str, args: &[&str]) -> Node {
        use std::io::BufRead;
        let mut child = std::process::Command::new(binary)
            .args(args)
            .env("LATENTLABEL_LOG", "info,librdkafka=off,rdkafka=off")
            .stdout(std::process::Stdio::piped())
            .env("NO_COLOR", "1")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawning latentlabel");
        // Relayed through the test harness so its output capture applies.
        let err = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                eprintln!("[node] {line}");
            }
        });
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let out = child.stdout.take().expect("stdout");
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                println!("[node] {line}");
                if let Ok(mut l) = sink.lock() {
                    l.push(line);
                }
            }
        });
        Node {
            child,
            stdout_lines: lines,
        }
    }

    /// One service (`ingest`, `lda-trainer`, ...) as its own process against `bootstrap`, the
    /// shape of a pod: topics are expected to exist. `extra` flags follow the common ones.
    pub fn service(
        binary: &str,
        service: &str,
        bootstrap: &str,
        topic_prefix: &str,
        object_store: &str,
        port: u16,
        extra: &[&str],
    ) -> Node {
        let addr = format!("127.0.0.1:{port}");
        let mut args = vec![
            service,
            "--kafka-bootstrap",
            bootstrap,
            "--topic-prefix",
            topic_prefix,
            "--object-store-url",
            object_store,
            "--http-addr",
            &addr,
            "--no-create-topics",
        ];
        args.extend_from_slice(extra);
        Node::spawn(binary, &args)
    }

    /// `latentlabel up --demo --docs N` on a free port, storing into `data_dir`; returns the node
    /// and its HTTP address.
    pub fn up_demo(binary: &str, docs: usize, data_dir: &std::path::Path) -> (Node, String) {
        let addr = format!("127.0.0.1:{}", free_port());
        let docs = docs.to_string();
        let data = data_dir.to_str().expect("utf8 data dir");
        let node = Node::spawn(
            binary,
            &[
                "up",
                "--demo",
                "--docs",
                &docs,
                "--data-dir",
                data,
                "--http-addr",
                &addr,
            ],
        );
        (node, addr)
    }

    /// The first stdout line containing `needle`, waiting up to `timeout`.
    pub fn wait_line(&self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(l) = self
                .stdout_lines
                .lock()
                .ok()
                .and_then(|l| l.iter().find(|l| l.contains(needle)).cloned())
            {
                return Some(l);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait: the graceful path.
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free TCP port on 127.0.0.1 (bind to 0, read, release).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The value of the sample whose line starts with `series` (name plus labels, e.g.
/// `latentlabel_heldout_perplexity ` or `x_total{service="ingest"}`) in a /metrics text.
pub fn metric_value(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(series))?
        .rsplit(' ')
        .next()?
        .parse()
        .ok()
}
