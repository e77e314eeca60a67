//! Following scoring's learning curve: the newest classifier manifest says whether more human
//! labels still pay (plateau) and what they buy (accuracy gain per 100 labels).

use latentlabel_common::ServiceContext;

use crate::config::QueueServiceConfig;
use crate::queue::Shared;

pub async fn latest_classifier_manifest(
    ctx: &ServiceContext,
    model_name: &str,
) -> anyhow::Result<Option<serde_json::Value>> {
    let prefix = format!("classifiers/{model_name}");
    let Some(v) = ctx.storage.latest_version(&prefix).await? else {
        return Ok(None);
    };
    let key = format!(
        "{prefix}/{}/manifest.json",
        latentlabel_common::storage::version_dir(v)
    );
    Ok(Some(ctx.storage.get_json(&key).await?))
}

pub async fn follow_learning_curve(
    ctx: &ServiceContext,
    config: &QueueServiceConfig,
    shared: &Shared,
) {
    let manifest = match latest_classifier_manifest(ctx, &config.model_name).await {
        Ok(Some(m)) => m,
        Ok(None) => return,
        Err(e) => {
            tracing::debug!(error = %e, "reading classifier manifest");
            return;
        }
    };
    let plateaued = manifest
        .get("plateaued")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let gain = manifest.get("gain_per_100_labels").and_then(|v| v.as_f64());
    if let Ok(mut c) = shared.curator.lock() {
        c.set_plateaued(plateaued);
        c.set_learning_curve_gain(gain);
        c.recalibrate();
    }
}
