//! Labeling metrics (names per docs/METRICS.md).

use std::sync::LazyLock;

use prometheus::{
    register_counter_vec, register_gauge, register_gauge_vec, register_int_counter_vec,
    register_int_gauge, register_int_gauge_vec, CounterVec, Gauge, GaugeVec, IntCounterVec,
    IntGauge, IntGaugeVec,
};

pub static LABELS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "latentlabel_labels_total",
        "Labels recorded, by source.",
        &["source"]
    )
    .expect("registering metric")
});
pub static COST_PER_LABEL: LazyLock<GaugeVec> = LazyLock::new(|| {
    register_gauge_vec!(
        "latentlabel_cost_per_label_usd",
        "Spend divided by labels, by source.",
        &["source"]
    )
    .expect("registering metric")
});
pub static SPEND: LazyLock<CounterVec> = LazyLock::new(|| {
    register_counter_vec!(
        "latentlabel_labeling_spend_usd_total",
        "Money spent on labels, by source.",
        &["source"]
    )
    .expect("registering metric")
});
pub static BUDGET_REMAINING: LazyLock<Gauge> = LazyLock::new(|| {
    register_gauge!(
        "latentlabel_labeling_budget_remaining_usd",
        "Budget cap minus spend."
    )
    .expect("registering metric")
});
pub static QUEUE_TASKS: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "latentlabel_labeling_queue_tasks",
        "Tasks waiting or leased.",
        &["state"]
    )
    .expect("registering metric")
});
pub static HUMAN_ROUTING: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "latentlabel_labeling_human_routing_active",
        "1 while routine items go to humans."
    )
    .expect("registering metric")
});
pub static ANNOTATOR_ACCURACY: LazyLock<GaugeVec> = LazyLock::new(|| {
    register_gauge_vec!(
        "latentlabel_annotator_accuracy",
        "Annotator accuracy on gold items.",
        &["annotator"]
    )
    .expect("registering metric")
});
pub static AGREEMENT: LazyLock<GaugeVec> = LazyLock::new(|| {
    register_gauge_vec!(
        "latentlabel_annotator_agreement_kappa",
        "Inter-annotator agreement.",
        &["measure"]
    )
    .expect("registering metric")
});
pub static AUTO_PRECISION: LazyLock<Gauge> = LazyLock::new(|| {
    register_gauge!(
        "latentlabel_auto_label_precision",
        "Audited precision of machine labels."
    )
    .expect("registering metric")
});
pub static AUTO_THRESHOLD: LazyLock<Gauge> = LazyLock::new(|| {
    register_gauge!(
        "latentlabel_auto_label_threshold",
        "Calibrated confidence at or above which a machine label is accepted."
    )
    .expect("registering metric")
});
pub static SUSPENDED_LABELS: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "latentlabel_auto_label_suspended_labels",
        "Labels the machine may not give on its own (outlier classes)."
    )
    .expect("registering metric")
});
pub static CAPPED_LABELS: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "latentlabel_auto_label_capped_labels",
        "Labels not auto-labeled because they used up routing.unjudged_class_auto_labels before \
         the outlier test could judge them."
    )
    .expect("registering metric")
});
pub static DATASET_VERSION: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "latentlabel_dataset_version",
        "Newest committed dataset version."
    )
    .expect("registering metric")
});
pub static DATASET_ROWS: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "latentlabel_dataset_rows",
        "Rows in the newest dataset version."
    )
    .expect("registering metric")
});

pub fn init(annotators: &[String]) {
    for s in ["human", "model", "consensus"] {
        LABELS.with_label_values(&[s]);
    }
    for s in ["human", "model", "all"] {
        COST_PER_LABEL.with_label_values(&[s]);
    }
    for s in ["human", "model"] {
        SPEND.with_label_values(&[s]);
    }
    for s in ["queued", "leased"] {
        QUEUE_TASKS.with_label_values(&[s]);
    }
    for m in ["fleiss", "cohen"] {
        AGREEMENT.with_label_values(&[m]);
    }
    for a in annotators {
        ANNOTATOR_ACCURACY.with_label_values(&[a]);
    }
    LazyLock::force(&BUDGET_REMAINING);
    LazyLock::force(&HUMAN_ROUTING);
    LazyLock::force(&AUTO_PRECISION);
    LazyLock::force(&AUTO_THRESHOLD);
    LazyLock::force(&SUSPENDED_LABELS);
    LazyLock::force(&DATASET_VERSION);
    LazyLock::force(&DATASET_ROWS);
}
