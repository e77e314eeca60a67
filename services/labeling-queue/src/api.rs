//! The annotator and admin HTTP API, and the annotator page.
//!
//! Annotators authenticate with their bearer token and only ever see and touch their own leases.
//! A label is answered 200 only once its annotation event is on Kafka, so an acknowledged label
//! survives any crash; retrying a submission is safe (same answer, counted once).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use latentlabel_common::{pipeline, ApiError, OutRecord, ServiceContext};
use latentlabel_curation::{CurationError, GoldItem, LeasedTask, SubmitOutcome};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Tokens;
use crate::config::QueueServiceConfig;
use crate::queue::{self, now_ms, Shared};
use crate::SERVICE;

const PAGE: &str = include_str!("web/index.html");

#[derive(Clone)]
pub struct ApiState {
    pub ctx: ServiceContext,
    pub config: Arc<QueueServiceConfig>,
    pub shared: Arc<Shared>,
    pub tokens: Tokens,
}

pub fn routes(state: ApiState) -> Router {
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/v1/tasks/lease", post(lease))
        .route("/v1/tasks/{task_id}", get(get_task))
        .route("/v1/tasks/{task_id}/submit", post(submit))
        .route("/v1/tasks/{task_id}/skip", post(skip))
        .route("/v1/tasks/{task_id}/extend", post(extend))
        .route("/v1/tasks/{task_id}/release", post(release))
        .route("/v1/me", get(me))
        .route("/v1/admin/queue", get(admin_queue))
        .route("/v1/admin/config", get(admin_config))
        .route("/v1/admin/datasets/commit", post(admin_commit))
        .route("/v1/admin/gold", post(admin_gold))
        .route(
            "/v1/openapi.json",
            get(|| async { Json(crate::openapi::document()) }),
        )
        .layer(DefaultBodyLimit::max(256 * 1024))
        .with_state(state)
}

fn curation_error(e: CurationError) -> ApiError {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let code = match status.as_u16() {
        400 => "bad_request",
        402 => "budget_exhausted",
        403 => "forbidden",
        404 => "not_found",
        409 => "conflict",
        410 => "lease_expired",
        422 => "unknown_label",
        _ => "internal",
    };
    ApiError::new(status, code, e.to_string())
}

fn locked<T>(r: Result<T, impl std::fmt::Display>) -> Result<T, ApiError> {
    r.map_err(|e| ApiError::internal(format!("state lock: {e}")))
}

fn task_json(state: &ApiState, task: &LeasedTask) -> Value {
    let display = state
        .shared
        .display
        .lock()
        .ok()
        .and_then(|d| d.get(&task.doc_id).cloned());
    json!({
        "task_id": task.task_id,
        "doc_id": task.doc_id,
        "text": task.text,
        "labels": task.labels,
        "annotator": task.annotator,
        "leased_at_ms": task.leased_at_ms,
        "lease_expires_at_ms": task.expires_at_ms,
        "topics": display.as_ref().map(|d| d.topics.clone()).unwrap_or_default(),
        "suggestion": display.and_then(|d| d.suggestion),
    })
}

async fn lease(State(state): State<ApiState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let annotator = state.tokens.annotator(&headers)?;
    let task = locked(state.shared.curator.lock())?
        .lease(&annotator, now_ms())
        .map_err(curation_error)?;
    Ok(match task {
        Some(t) => Json(task_json(&state, &t)).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

async fn get_task(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(task_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let annotator = state.tokens.annotator(&headers)?;
    let task = locked(state.shared.curator.lock())?
        .leased_task(&task_id, &annotator, now_ms())
        .map_err(curation_error)?;
    Ok(Json(task_json(&state, &task)))
}

async fn extend(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(task_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let annotator = state.tokens.annotator(&headers)?;
    let task = locked(state.shared.curator.lock())?
        .extend(&task_id, &annotator, now_ms())
        .map_err(curation_error)?;
    Ok(Json(task_json(&state, &task)))
}

async fn release(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(task_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let annotator = state.tokens.annotator(&headers)?;
    let released = locked(state.shared.curator.lock())?
        .release(&task_id, &annotator, now_ms())
        .map_err(curation_error)?;
    Ok(Json(json!({ "released": released })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelRequest {
    label: String,
}

fn parse<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let body = body.map_err(|r| ApiError::new(r.status(), "bad_request", r.body_text()))?;
    serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid request JSON: {e}")))
}

/// Makes a judgment durable: its event must be acknowledged by Kafka before we answer. Retries
/// re-publish the same event, which replay ignores (idempotent by task and annotator).
async fn persist(state: &ApiState, outcome: &SubmitOutcome) -> Result<(), ApiError> {
    let record = queue::annotation_record(&outcome.event);
    let payload = state
        .ctx
        .codec
        .encode(&record)
        .map_err(ApiError::internal)?;
    let out = OutRecord::new(
        &state.ctx.topics.annotations,
        outcome.event.doc_id.clone(),
        payload,
    );
    pipeline::send_all(SERVICE, &state.ctx.producer, &[out])
        .await
        .map_err(|e| ApiError::unavailable(format!("label not yet durable, retry: {e:#}")))
}

fn outcome_json(outcome: &SubmitOutcome) -> Value {
    json!({ "task_id": outcome.event.task_id, "status": outcome.status, "duplicate": outcome.duplicate })
}

async fn submit(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(task_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let annotator = state.tokens.annotator(&headers)?;
    let request: LabelRequest = parse(body)?;
    let outcome = locked(state.shared.curator.lock())?
        .submit(&task_id, &annotator, &request.label, now_ms())
        .map_err(curation_error)?;
    persist(&state, &outcome).await?;
    Ok(Json(outcome_json(&outcome)))
}

async fn skip(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(task_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let annotator = state.tokens.annotator(&headers)?;
    let outcome = locked(state.shared.curator.lock())?
        .skip(&task_id, &annotator, now_ms())
        .map_err(curation_error)?;
    persist(&state, &outcome).await?;
    Ok(Json(outcome_json(&outcome)))
}

async fn me(State(state): State<ApiState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let annotator = state.tokens.annotator(&headers)?;
    let c = locked(state.shared.curator.lock())?;
    let stats = c.annotator_stats(&annotator).unwrap_or_default();
    let queue = c.stats();
    let cost = c.cost_summary();
    Ok(Json(json!({
        "annotator": annotator,
        "labels": stats.labels,
        "skips": stats.skips,
        "gold_accuracy": stats.gold_accuracy(),
        "cost_usd": stats.cost_usd,
        "time_spent_ms": stats.time_spent_ms,
        "queue_waiting": queue.open_routine + queue.open_audit,
        "cost_per_label_usd": cost.cost_per_label_all_usd,
        "budget_remaining_usd": cost.budget_remaining_usd,
        "routing_stopped": c.routing_stopped(),
    })))
}

async fn admin_queue(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    state.tokens.admin(&headers)?;
    let c = locked(state.shared.curator.lock())?;
    Ok(Json(json!({
        "stats": c.stats(),
        "cost": c.cost_summary(),
        "agreement": c.agreement(),
        "annotators": c.all_annotator_stats(),
        "auto_label_threshold": c.auto_label_threshold(),
        "threshold_choice": c.threshold_choice(),
        "routing_stopped": c.routing_stopped(),
    })))
}

async fn admin_config(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    state.tokens.admin(&headers)?;
    let mut config = serde_json::to_value(state.config.as_ref()).map_err(ApiError::internal)?;
    // Tokens are secrets; show who exists, not how they sign in.
    if let Some(obj) = config.as_object_mut() {
        obj.insert(
            "annotators".into(),
            json!(state
                .config
                .annotators
                .iter()
                .map(|a| a.name.clone())
                .collect::<Vec<_>>()),
        );
        obj.insert(
            "admin_token".into(),
            json!(state.config.admin_token.as_ref().map(|_| "<set>")),
        );
    }
    Ok(Json(config))
}

async fn admin_commit(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    state.tokens.admin(&headers)?;
    let manifest =
        crate::service::commit_dataset(&state.ctx, &state.config, &state.shared, "on_demand")
            .await
            .map_err(|e| ApiError::new(StatusCode::CONFLICT, "commit_failed", format!("{e:#}")))?;
    Ok(Json(
        serde_json::to_value(manifest).map_err(ApiError::internal)?,
    ))
}

async fn admin_gold(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    state.tokens.admin(&headers)?;
    let gold: GoldItem = parse(body)?;
    let task_id = locked(state.shared.curator.lock())?
        .add_gold(gold)
        .map_err(curation_error)?;
    Ok(Json(json!({ "task_id": task_id })))
}
