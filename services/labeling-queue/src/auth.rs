//! Bearer-token authentication: each annotator has a token, plus one admin token.

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode};
use latentlabel_common::ApiError;

use crate::config::AnnotatorConfig;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    Annotator(String),
    Admin,
}

#[derive(Clone, Default)]
pub struct Tokens {
    by_token: HashMap<String, Caller>,
}

impl Tokens {
    pub fn new(annotators: &[AnnotatorConfig], admin: Option<&str>) -> Self {
        let mut by_token: HashMap<String, Caller> = annotators
            .iter()
            .map(|a| (a.token.clone(), Caller::Annotator(a.name.clone())))
            .collect();
        if let Some(t) = admin {
            by_token.insert(t.to_string(), Caller::Admin);
        }
        Self { by_token }
    }

    pub fn caller(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let value = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "missing 'Authorization: Bearer <token>' header",
                )
            })?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "authorization must use the Bearer scheme",
                )
            })?;
        // Comparing through the map is not constant-time; tokens are long random strings and the
        // API sits behind TLS termination, which bounds what timing could reveal. Noted in docs.
        self.by_token
            .get(token.trim())
            .cloned()
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "unknown token"))
    }

    pub fn annotator(&self, headers: &HeaderMap) -> Result<String, ApiError> {
        match self.caller(headers)? {
            Caller::Annotator(name) => Ok(name),
            Caller::Admin => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "the admin token cannot label; use an annotator token",
            )),
        }
    }

    pub fn admin(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        match self.caller(headers)? {
            Caller::Admin => Ok(()),
            Caller::Annotator(_) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this endpoint needs the admin token",
            )),
        }
    }
}
