//! What every service shares at run time, and how services are run: alone (one pod) or several in
//! one process (`latentlabel up`). Same code either way; only the HTTP router is merged.

use axum::Router;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::avro::Codec;
use crate::http::{self, Health};
use crate::kafka::{KafkaSettings, Producer, Topics};
use crate::storage::Storage;

/// Connections and signals a service needs. Cheap to clone.
#[derive(Clone)]
pub struct ServiceContext {
    pub kafka: KafkaSettings,
    pub topics: Topics,
    pub storage: Storage,
    pub codec: Codec,
    pub producer: Producer,
    pub health: Health,
    /// Cancelled on SIGINT/SIGTERM or when any service fails.
    pub shutdown: CancellationToken,
}

impl ServiceContext {
    pub fn new(
        kafka: KafkaSettings,
        storage: Storage,
        codec: Codec,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let producer = kafka
            .producer()
            .map_err(|e| anyhow::anyhow!("creating Kafka producer: {e}"))?;
        Ok(Self {
            topics: kafka.topics(),
            kafka,
            storage,
            codec,
            producer,
            health: Health::default(),
            shutdown,
        })
    }
}

/// A started service: its HTTP routes and its background work.
pub struct Service {
    pub name: &'static str,
    pub routes: Router,
    pub task: JoinHandle<anyhow::Result<()>>,
}

/// Serves the services' routes on `listener` and waits for all of them. The first failure cancels
/// the others (a half-running pipeline would silently stall), and is returned.
pub async fn run_services(
    ctx: &ServiceContext,
    services: Vec<Service>,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<()> {
    let mut router = Router::new();
    let mut tasks = Vec::new();
    for service in services {
        router = router.merge(service.routes);
        tasks.push((service.name, service.task));
    }
    let app = http::app(router, ctx.health.clone());
    let http_shutdown = CancellationToken::new();
    let http_task = tokio::spawn(http::serve(listener, app, http_shutdown.clone()));

    let mut first_error = None;
    let mut pending: futures::stream::FuturesUnordered<_> = tasks
        .into_iter()
        .map(|(name, task)| async move { (name, task.await) })
        .collect();
    use futures::StreamExt;
    while let Some((name, outcome)) = pending.next().await {
        let outcome = outcome
            .map_err(|e| anyhow::anyhow!("{name} task panicked: {e}"))
            .and_then(|r| r);
        match outcome {
            Ok(()) => tracing::info!(service = name, "stopped"),
            Err(e) => {
                tracing::error!(service = name, error = format!("{e:#}"), "failed");
                ctx.shutdown.cancel();
                first_error.get_or_insert(e.context(format!("{name} failed")));
            }
        }
    }
    // HTTP goes last so /metrics and /readyz stay answerable while services drain.
    http_shutdown.cancel();
    if let Ok(Err(e)) = http_task.await {
        first_error.get_or_insert(e);
    }
    let _ = ctx.producer.flush(std::time::Duration::from_secs(10));
    first_error.map_or(Ok(()), Err)
}

/// Cancels `token` on SIGINT or SIGTERM.
pub fn cancel_on_signals(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for SIGTERM");
                        let _ = ctrl_c.await;
                        token.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutdown requested; finishing in-flight work");
        token.cancel();
    });
}
