//! HTTP plumbing: JSON errors, health endpoints, `/metrics`, and per-route metrics. Each service
//! contributes a `Router`; `serve` merges them with the shared endpoints so one address can carry
//! all services (`latentlabel up`) or one (a pod).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tokio_util::sync::CancellationToken;

use crate::metrics;

/// An error answered as `{"error": {"code": ..., "message": ...}}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
    pub fn internal(err: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            err.to_string(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}

/// Readiness of the components in this process; `/readyz` is 200 only when all are ready.
#[derive(Clone, Default)]
pub struct Health {
    components: Arc<Mutex<Vec<Component>>>,
}

/// A named readiness flag.
type Component = (String, Arc<AtomicBool>);

impl Health {
    /// Registers a component, not ready yet; flip the returned flag when it is.
    pub fn component(&self, name: &str) -> Arc<AtomicBool> {
        let flag = Arc::new(AtomicBool::new(false));
        if let Ok(mut c) = self.components.lock() {
            c.push((name.to_string(), flag.clone()));
        }
        flag
    }

    fn report(&self) -> (bool, serde_json::Value) {
        let c = self
            .components
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default();
        let all = c.iter().all(|(_, f)| f.load(Ordering::Relaxed));
        let map: serde_json::Map<String, serde_json::Value> = c
            .iter()
            .map(|(n, f)| {
                (
                    n.clone(),
                    serde_json::Value::Bool(f.load(Ordering::Relaxed)),
                )
            })
            .collect();
        (all, serde_json::Value::Object(map))
    }
}

async fn readyz(State(health): State<Health>) -> Response {
    let (ready, components) = health.report();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(serde_json::json!({ "ready": ready, "components": components })),
    )
        .into_response()
}

async fn metrics_handler() -> Response {
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        metrics::render(),
    )
        .into_response()
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let start = Instant::now();
    let response = next.run(req).await;
    // Status classes keep the label set small.
    let class = match response.status().as_u16() {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    metrics::HTTP_DURATION
        .with_label_values(&[&route])
        .observe(start.elapsed().as_secs_f64());
    metrics::HTTP_REQUESTS
        .with_label_values(&[&route, class])
        .inc();
    response
}

/// The shared endpoints plus the services' routes, with metrics and a JSON 404.
pub fn app(routes: Router, health: Health) -> Router {
    let shared = Router::new()
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_handler))
        .with_state(health);
    routes
        .merge(shared)
        .fallback(not_found)
        .layer(axum::middleware::from_fn(track))
}

/// Binds `addr` and serves until `shutdown`. Returns the bound address through `bound` first, so
/// callers (and tests using port 0) learn the real port.
pub async fn bind(addr: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("binding HTTP address {addr}: {e}"))
}

pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let addr: SocketAddr = listener.local_addr()?;
    tracing::info!(%addr, "http listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .map_err(|e| anyhow::anyhow!("http server: {e}"))
}
