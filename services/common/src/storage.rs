//! Object storage through `object_store`: a local directory by default, S3 in production.
//!
//! Layout (see docs/DESIGN.md): `models/<model>/v<NNNNNN>/…`, `checkpoints/<service>/…`,
//! `datasets/<name>/v<NNNNNN>/…`. Versions are immutable and a version exists once its
//! `manifest.json` does; the manifest is written last with create-only semantics, so readers never
//! see half a version and two writers can never both claim one.

use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::de::DeserializeOwned;
use serde::Serialize;

#[derive(Clone, Debug)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// Printable location, e.g. `file:///tmp/x` or `s3://bucket/prefix`.
    url: String,
    /// Key prefix inside the bucket (S3 URLs may carry one).
    prefix: Path,
}

/// What went wrong with a create-only put.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl Storage {
    /// `file:///abs/dir` (created if missing), a bare path, or `s3://bucket[/prefix]` (credentials
    /// and endpoint from the usual `AWS_*` environment variables).
    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let store = object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .with_context(|| format!("configuring S3 store for {url}"))?;
            return Ok(Self {
                store: Arc::new(store),
                url: url.to_string(),
                prefix: Path::from(prefix),
            });
        }
        let dir = url.strip_prefix("file://").unwrap_or(url);
        std::fs::create_dir_all(dir).with_context(|| format!("creating data directory {dir}"))?;
        let dir = std::fs::canonicalize(dir).with_context(|| format!("resolving {dir}"))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(&dir)
            .with_context(|| format!("opening local store at {}", dir.display()))?;
        Ok(Self {
            store: Arc::new(store),
            url: format!("file://{}", dir.display()),
            prefix: Path::default(),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn full(&self, key: &str) -> Path {
        if self.prefix.as_ref().is_empty() {
            Path::from(key)
        } else {
            Path::from(format!("{}/{}", self.prefix, key))
        }
    }

    fn relative(&self, path: &Path) -> String {
        let p = path.as_ref();
        let prefix = self.prefix.as_ref();
        if prefix.is_empty() {
            p.to_string()
        } else {
            p.strip_prefix(prefix)
                .unwrap_or(p)
                .trim_start_matches('/')
                .to_string()
        }
    }

    pub async fn put(&self, key: &str, data: impl Into<Bytes>) -> anyhow::Result<()> {
        let bytes: Bytes = data.into();
        self.store
            .put(&self.full(key), PutPayload::from_bytes(bytes))
            .await
            .with_context(|| format!("writing {key} to {}", self.url))?;
        Ok(())
    }

    /// Writes only if `key` does not exist yet (S3 `If-None-Match: *`, local: atomic link).
    pub async fn put_create_only(&self, key: &str, data: impl Into<Bytes>) -> Result<(), PutError> {
        let bytes: Bytes = data.into();
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .store
            .put_opts(&self.full(key), PutPayload::from_bytes(bytes), opts)
            .await
        {
            Ok(_) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. }) => {
                Err(PutError::AlreadyExists(key.to_string()))
            }
            Err(e) => Err(PutError::Other(
                anyhow::Error::new(e).context(format!("writing {key} to {}", self.url)),
            )),
        }
    }

    pub async fn get(&self, key: &str) -> anyhow::Result<Bytes> {
        let result = self
            .store
            .get(&self.full(key))
            .await
            .with_context(|| format!("reading {key} from {}", self.url))?;
        result
            .bytes()
            .await
            .with_context(|| format!("reading {key} from {}", self.url))
    }

    /// `None` when the object does not exist.
    pub async fn get_opt(&self, key: &str) -> anyhow::Result<Option<Bytes>> {
        match self.store.get(&self.full(key)).await {
            Ok(r) => Ok(Some(
                r.bytes().await.with_context(|| format!("reading {key}"))?,
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => {
                Err(anyhow::Error::new(e).context(format!("reading {key} from {}", self.url)))
            }
        }
    }

    pub async fn put_json<T: Serialize>(&self, key: &str, value: &T) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec_pretty(value).context("serialising json")?;
        self.put(key, bytes).await
    }

    pub async fn put_json_create_only<T: Serialize>(
        &self,
        key: &str,
        value: &T,
    ) -> Result<(), PutError> {
        let bytes = serde_json::to_vec_pretty(value).context("serialising json")?;
        self.put_create_only(key, bytes).await
    }

    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> anyhow::Result<T> {
        let bytes = self.get(key).await?;
        serde_json::from_slice(&bytes).with_context(|| format!("parsing {key}"))
    }

    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        self.store
            .delete(&self.full(key))
            .await
            .with_context(|| format!("deleting {key} from {}", self.url))
    }

    /// All object keys under `prefix`, relative to the store root.
    pub async fn list(&self, prefix: &str) -> anyhow::Result<Vec<String>> {
        let full = self.full(prefix);
        let metas: Vec<_> = self
            .store
            .list(Some(&full))
            .try_collect()
            .await
            .with_context(|| format!("listing {prefix} in {}", self.url))?;
        let mut keys: Vec<String> = metas.iter().map(|m| self.relative(&m.location)).collect();
        keys.sort();
        Ok(keys)
    }

    /// Committed versions under `prefix` (`<prefix>/v<NNNNNN>/manifest.json`), ascending.
    pub async fn versions(&self, prefix: &str) -> anyhow::Result<Vec<u64>> {
        let mut versions: Vec<u64> = self
            .list(prefix)
            .await?
            .iter()
            .filter_map(|key| {
                let rest = key.strip_prefix(prefix)?.trim_start_matches('/');
                let (dir, file) = rest.split_once('/')?;
                (file == "manifest.json").then_some(())?;
                dir.strip_prefix('v')?.parse().ok()
            })
            .collect();
        versions.sort_unstable();
        versions.dedup();
        Ok(versions)
    }

    pub async fn latest_version(&self, prefix: &str) -> anyhow::Result<Option<u64>> {
        Ok(self.versions(prefix).await?.last().copied())
    }
}

/// `v000042`.
pub fn version_dir(version: u64) -> String {
    format!("v{version:06}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn versions_and_create_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Storage::from_url(dir.path().to_str().expect("utf8")).expect("store");
        assert_eq!(
            store.latest_version("datasets/d").await.expect("list"),
            None
        );
        store
            .put("datasets/d/v000001/part-0.parquet", vec![1u8])
            .await
            .expect("put");
        // A version without a manifest does not exist yet.
        assert_eq!(
            store.latest_version("datasets/d").await.expect("list"),
            None
        );
        store
            .put_create_only("datasets/d/v000001/manifest.json", b"{}".to_vec())
            .await
            .expect("manifest");
        store
            .put_create_only("datasets/d/v000002/manifest.json", b"{}".to_vec())
            .await
            .expect("manifest");
        assert_eq!(
            store.versions("datasets/d").await.expect("list"),
            vec![1, 2]
        );
        let again = store
            .put_create_only("datasets/d/v000002/manifest.json", b"{}".to_vec())
            .await;
        assert!(
            matches!(again, Err(PutError::AlreadyExists(_))),
            "{again:?}"
        );
        assert_eq!(store.get_opt("nope").await.expect("get"), None);
    }
}
