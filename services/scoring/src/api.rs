//! HTTP scoring API: `POST /v1/score`, `GET /v1/model`, `GET /v1/classifier`,
//! `GET /v1/scoring/openapi.json`. Errors are JSON (`{"error": {"code", "message"}}`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use latentlabel_common::ApiError;
use latentlabel_text::Tokenizer;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::ScoringConfig;
use crate::labels::{borrow_terms, ClassifierSlot};
use crate::model::ModelSlot;
use crate::scorer::{score, Score};

#[derive(Clone)]
pub struct ApiState {
    pub models: ModelSlot,
    pub classifier: ClassifierSlot,
    pub tokenizer: Arc<Tokenizer>,
    pub config: Arc<ScoringConfig>,
}

pub fn routes(state: ApiState) -> Router {
    let limit = state.config.max_request_bytes;
    Router::new()
        .route("/v1/score", post(score_handler))
        .route("/v1/model", get(model_handler))
        .route("/v1/classifier", get(classifier_handler))
        .route(
            "/v1/scoring/openapi.json",
            get(|| async { Json(openapi()) }),
        )
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoreRequest {
    text: Option<String>,
    texts: Option<Vec<String>>,
    documents: Option<Vec<DocumentIn>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentIn {
    id: Option<String>,
    text: String,
}

fn body_error(rejection: BytesRejection) -> ApiError {
    let status = rejection.status();
    if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            status,
            "too_large",
            "request body exceeds the configured limit",
        )
    } else {
        ApiError::new(status, "bad_request", rejection.body_text())
    }
}

async fn score_handler(
    State(state): State<ApiState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body = body.map_err(body_error)?;
    let request: ScoreRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid request JSON: {e}")))?;
    let model = state.models.get().ok_or_else(|| {
        ApiError::unavailable("no topic model loaded yet; the trainer has not published a snapshot")
    })?;
    let classifier = state.classifier.get();
    let run = |text: &str| -> Score {
        let prepared = state.tokenizer.prepare(text);
        score(
            &model,
            &classifier,
            &borrow_terms(&prepared.processed.terms),
            &borrow_terms(&prepared.context_terms),
            state.config.top_topics,
            state.config.top_words,
        )
    };
    match (request.text, request.texts, request.documents) {
        (Some(text), None, None) => Ok(Json(to_json(None, run(&text)))),
        (None, Some(texts), None) => {
            check_batch(texts.len(), &state.config)?;
            Ok(Json(
                json!({ "results": texts.iter().map(|t| to_json(None, run(t))).collect::<Vec<_>>() }),
            ))
        }
        (None, None, Some(docs)) => {
            check_batch(docs.len(), &state.config)?;
            Ok(Json(
                json!({ "results": docs.iter().map(|d| to_json(d.id.clone(), run(&d.text))).collect::<Vec<_>>() }),
            ))
        }
        _ => Err(ApiError::bad_request(
            "send exactly one of \"text\", \"texts\" or \"documents\"",
        )),
    }
}

fn check_batch(n: usize, config: &ScoringConfig) -> Result<(), ApiError> {
    if n == 0 {
        return Err(ApiError::bad_request("the batch is empty"));
    }
    if n > config.max_batch {
        return Err(ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "batch of {n} texts exceeds the limit of {}",
                config.max_batch
            ),
        ));
    }
    Ok(())
}

fn to_json(id: Option<String>, s: Score) -> Value {
    let mut v = serde_json::to_value(&s).unwrap_or(Value::Null);
    if let (Some(id), Value::Object(map)) = (id, &mut v) {
        map.insert("id".into(), Value::String(id));
    }
    v
}

async fn model_handler(State(state): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let model = state
        .models
        .get()
        .ok_or_else(|| ApiError::unavailable("no topic model loaded yet"))?;
    Ok(Json(
        serde_json::to_value(&model.manifest).map_err(ApiError::internal)?,
    ))
}

async fn classifier_handler(State(state): State<ApiState>) -> Json<Value> {
    let c = state.classifier.get();
    let fitted = c.fitted.as_ref();
    Json(json!({
        "version": fitted.map(|_| c.version),
        "labels": fitted.map(|f| f.labels.names().to_vec()).unwrap_or_default(),
        "training_labels": fitted.map(|f| f.training_labels),
        "evaluation_labels": fitted.map(|f| f.evaluation_labels),
        "text_feature_buckets": fitted.and_then(|f| f.text.as_ref().map(|t| t.buckets())),
        "evaluation": fitted.and_then(|f| f.evaluation),
        "learning_curve": c.curve,
        "gain_per_100_labels": c.curve.gain_per_100_labels(),
        "plateaued": c.plateaued(state.config.classifier.plateau_epsilon),
        "min_labels": state.config.classifier.min_labels,
    }))
}

pub fn openapi() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": { "title": "latentlabel scoring API", "version": env!("CARGO_PKG_VERSION") },
        "paths": {
            "/v1/score": { "post": {
                "summary": "Topic mixture and label for one text or a batch",
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "oneOf": [
                        { "type": "object", "required": ["text"], "properties": { "text": { "type": "string" } }, "additionalProperties": false },
                        { "type": "object", "required": ["texts"], "properties": { "texts": { "type": "array", "items": { "type": "string" }, "minItems": 1 } }, "additionalProperties": false },
                        { "type": "object", "required": ["documents"], "properties": { "documents": { "type": "array", "minItems": 1, "items": {
                            "type": "object", "required": ["text"], "properties": { "id": { "type": "string" }, "text": { "type": "string" } } } } }, "additionalProperties": false }
                    ] } } } },
                "responses": {
                    "200": { "description": "A score, or {\"results\": [score...]} for a batch", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Score" } } } },
                    "400": { "$ref": "#/components/responses/Error" },
                    "413": { "$ref": "#/components/responses/Error" },
                    "503": { "$ref": "#/components/responses/Error" }
                } } },
            "/v1/model": { "get": { "summary": "Manifest of the topic model in use", "responses": { "200": { "description": "manifest" }, "503": { "$ref": "#/components/responses/Error" } } } },
            "/v1/classifier": { "get": { "summary": "Classifier version, held-out evaluation and learning curve", "responses": { "200": { "description": "classifier state" } } } }
        },
        "components": {
            "schemas": {
                "Score": { "type": "object", "properties": {
                    "theta": { "type": "array", "items": { "type": "number" } },
                    "top_topics": { "type": "array", "items": { "type": "object", "properties": {
                        "topic": { "type": "integer" }, "weight": { "type": "number" }, "words": { "type": "array", "items": { "type": "string" } } } } },
                    "label": { "type": "string", "nullable": true },
                    "confidence": { "type": "number" }, "margin": { "type": "number" }, "entropy": { "type": "number" },
                    "unknown_words": { "type": "integer" }, "model_version": { "type": "integer" },
                    "classifier_version": { "type": "integer", "nullable": true } } },
                "Error": { "type": "object", "properties": { "error": { "type": "object", "properties": {
                    "code": { "type": "string" }, "message": { "type": "string" } } } } }
            },
            "responses": { "Error": { "description": "error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } } }
        }
    })
}
