//! Dead letters, built the same way by every service: where the record came from, a stable
//! reason code, a message, and the original bytes (truncated only if they could not fit on a
//! topic). Keyed by the original key, so one document's failures stay on one partition.

use crate::avro::{Codec, CodecError};
use crate::kafka::{OutRecord, Topics, MAX_RECORD_BYTES};
use crate::metrics;
use crate::pipeline::Incoming;
use crate::records::{now_ms, DeadLetter};

/// Largest original payload a dead letter carries: half a topic's record limit, leaving room
/// for the envelope.
pub const MAX_DEADLETTER_PAYLOAD: usize = MAX_RECORD_BYTES / 2;

/// Counts the rejection and builds the record for the dead-letter topic.
pub fn dead_letter(
    service: &'static str,
    codec: &Codec,
    topics: &Topics,
    record: &Incoming,
    reason: &'static str,
    message: &str,
) -> Result<OutRecord, CodecError> {
    metrics::DEADLETTERS
        .with_label_values(&[service, reason])
        .inc();
    let (payload, message) = if record.payload.len() > MAX_DEADLETTER_PAYLOAD {
        (
            record.payload[..MAX_DEADLETTER_PAYLOAD].to_vec(),
            format!(
                "{message} (payload truncated from {} to {MAX_DEADLETTER_PAYLOAD} bytes)",
                record.payload.len()
            ),
        )
    } else {
        (record.payload.clone(), message.to_string())
    };
    let letter = DeadLetter {
        service: service.into(),
        source_topic: record.topic.clone(),
        source_partition: record.partition,
        source_offset: record.offset,
        reason: reason.into(),
        message,
        key: record.key.clone(),
        payload,
        failed_at_ms: now_ms(),
    };
    let key = record
        .key_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}:{}:{}", record.topic, record.partition, record.offset));
    Ok(OutRecord::new(&topics.deadletter, key, codec.encode(&letter)?).header("reason", reason))
}
