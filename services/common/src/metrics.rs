//! Process-wide Prometheus metrics shared by all services, registered in the default registry so
//! that `latentlabel up` exposes every service's metrics from one `/metrics`.
//! Names and labels follow docs/METRICS.md, which is the contract with dashboards and alerts.

use std::sync::LazyLock;

use prometheus::{
    register_histogram_vec, register_int_counter_vec, register_int_gauge_vec, Encoder,
    HistogramVec, IntCounterVec, IntGaugeVec, TextEncoder,
};

/// Registration fails only on a duplicate name, which is a programming error caught by tests.
macro_rules! metric {
    ($reg:ident, $name:literal, $help:literal, $labels:expr) => {
        $reg!($name, $help, $labels).expect(concat!("registering ", $name))
    };
}

pub static BUILD_INFO: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    metric!(
        register_int_gauge_vec,
        "latentlabel_build_info",
        "Always 1; carries the version.",
        &["version"]
    )
});
pub static KAFKA_CONSUMED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    metric!(
        register_int_counter_vec,
        "latentlabel_kafka_consumed_records_total",
        "Records read from Kafka.",
        &["service"]
    )
});
pub static KAFKA_PRODUCED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    metric!(
        register_int_counter_vec,
        "latentlabel_kafka_produced_records_total",
        "Records acknowledged by Kafka.",
        &["service"]
    )
});
pub static KAFKA_PRODUCE_ERRORS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    metric!(
        register_int_counter_vec,
        "latentlabel_kafka_produce_errors_total",
        "Produce attempts that failed.",
        &["service"]
    )
});
pub static KAFKA_COMMITS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    metric!(
        register_int_counter_vec,
        "latentlabel_kafka_committed_offsets_total",
        "Offset commits made.",
        &["service"]
    )
});
pub static KAFKA_LAG: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    metric!(
        register_int_gauge_vec,
        "latentlabel_kafka_consumer_lag_records",
        "High watermark minus position, summed over assigned partitions.",
        &["service"]
    )
});
pub static DEADLETTERS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    metric!(
        register_int_counter_vec,
        "latentlabel_deadletter_records_total",
        "Records sent to the dead-letter topic.",
        &["service", "reason"]
    )
});
pub static HTTP_REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    metric!(
        register_int_counter_vec,
        "latentlabel_http_requests_total",
        "HTTP requests served.",
        &["route", "status"]
    )
});
pub static HTTP_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "latentlabel_http_request_duration_seconds",
        "HTTP request latency.",
        &["route"],
        vec![0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]
    )
    .expect("registering latentlabel_http_request_duration_seconds")
});

/// Touches the shared metrics so they are exported (with zero values) before first use.
pub fn init(service: &str) {
    BUILD_INFO
        .with_label_values(&[env!("CARGO_PKG_VERSION")])
        .set(1);
    KAFKA_CONSUMED.with_label_values(&[service]);
    KAFKA_PRODUCED.with_label_values(&[service]);
    KAFKA_PRODUCE_ERRORS.with_label_values(&[service]);
    KAFKA_COMMITS.with_label_values(&[service]);
    KAFKA_LAG.with_label_values(&[service]);
}

/// The default registry in Prometheus text format.
pub fn render() -> String {
    let mut buf = Vec::new();
    let encoder = TextEncoder::new();
    if let Err(e) = encoder.encode(&prometheus::gather(), &mut buf) {
        tracing::error!(error = %e, "encoding metrics");
    }
    String::from_utf8(buf).unwrap_or_default()
}
