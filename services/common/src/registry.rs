//! Minimal Confluent Schema Registry client: register a subject's schema, fetch a schema by id.
//! Ids are immutable in the registry, so fetched schemas are cached forever.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use apache_avro::Schema;
use serde::Deserialize;

use crate::avro::CodecError;

pub struct SchemaRegistry {
    base_url: String,
    http: reqwest::Client,
    by_id: RwLock<HashMap<u32, Schema>>,
}

#[derive(Deserialize)]
struct IdResponse {
    id: u32,
}

#[derive(Deserialize)]
struct SchemaResponse {
    schema: String,
}

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

impl SchemaRegistry {
    pub fn new(base_url: &str) -> Result<Self, CodecError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| CodecError::Registry(format!("building http client: {e}")))?;
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            http,
            by_id: RwLock::new(HashMap::new()),
        })
    }

    pub async fn register(&self, subject: &str, schema_json: &str) -> Result<u32, CodecError> {
        let url = format!("{}/subjects/{}/versions", self.base_url, subject);
        let body = serde_json::json!({ "schema": schema_json });
        let resp = self
            .http
            .post(&url)
            .header("content-type", CONTENT_TYPE)
            .json(&body)
            .send()
            .await
            .map_err(|e| CodecError::Registry(format!("POST {url}: {e}")))?;
        if !resp.status().is_success() {
            let status = resp.status();
            let text = resp.text().await.unwrap_or_default();
            return Err(CodecError::Registry(format!(
                "POST {url}: {status}: {text}"
            )));
        }
        let id: IdResponse = resp
            .json()
            .await
            .map_err(|e| CodecError::Registry(format!("POST {url}: {e}")))?;
        Ok(id.id)
    }

    pub fn cached(&self, id: u32) -> Option<Schema> {
        self.by_id.read().ok().and_then(|m| m.get(&id).cloned())
    }

    pub fn remember(&self, id: u32, schema: Schema) {
        if let Ok(mut m) = self.by_id.write() {
            m.insert(id, schema);
        }
    }

    pub async fn fetch(&self, id: u32) -> Result<Schema, CodecError> {
        let url = format!("{}/schemas/ids/{}", self.base_url, id);
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| CodecError::Registry(format!("GET {url}: {e}")))?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(CodecError::UnknownSchemaId(id));
        }
        if !resp.status().is_success() {
            return Err(CodecError::Registry(format!(
                "GET {url}: {}",
                resp.status()
            )));
        }
        let body: SchemaResponse = resp
            .json()
            .await
            .map_err(|e| CodecError::Registry(format!("GET {url}: {e}")))?;
        let schema = Schema::parse_str(&body.schema)
            .map_err(|e| CodecError::Registry(format!("schema id {id} does not parse: {e}")))?;
        self.remember(id, schema.clone());
        Ok(schema)
    }
}
