//! Turning raw record bytes into a [`RawDocument`].
//!
//! Producers without Avro may send JSON. The format is taken from the `content-type` header when
//! present (`application/json`, `avro/binary`, `application/vnd.apache.avro+binary`), else from
//! the first byte: `0xC3` (Avro single-object), `0x00` (Confluent framing), `{` (JSON).
//!
//! Document ids: the record's own `id` field, else the Kafka key, else `sha256:<hex>` of the text.
//! Content-derived ids make replays of id-less records idempotent downstream.

use std::collections::HashMap;

use latentlabel_common::pipeline::Incoming;
use latentlabel_common::records::RawDocument;
use latentlabel_common::Codec;
use serde_json::Value;

/// Why a record was rejected: a stable code (for metrics and the dead-letter record) and detail.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub reason: &'static str,
    pub message: String,
}

impl Rejection {
    pub fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Format {
    Json,
    Avro,
}

fn sniff(record: &Incoming) -> Result<Format, Rejection> {
    if let Some(ct) = record.header("content-type") {
        let ct = String::from_utf8_lossy(ct).to_ascii_lowercase();
        if ct.contains("json") {
            return Ok(Format::Json);
        }
        if ct.contains("avro") {
            return Ok(Format::Avro);
        }
    }
    match record.payload.iter().find(|b| !b.is_ascii_whitespace()) {
        None => Err(Rejection::new("empty", "record value is empty")),
        Some(b'{') | Some(0xEF) => Ok(Format::Json),
        Some(0xC3) | Some(0x00) => Ok(Format::Avro),
        Some(b) => Err(Rejection::new(
            "decode",
            format!("unrecognised payload: first byte 0x{b:02x} is not Avro (0xC3/0x00) or JSON ('{{'); set a content-type header"),
        )),
    }
}

/// The charset from a `charset` header, or the `charset=` parameter of `content-type`.
fn declared_charset(record: &Incoming) -> Option<String> {
    if let Some(c) = record.header("charset") {
        return Some(String::from_utf8_lossy(c).trim().to_string());
    }
    let ct = String::from_utf8_lossy(record.header("content-type")?).to_ascii_lowercase();
    ct.split(';').find_map(|p| {
        p.trim()
            .strip_prefix("charset=")
            .map(|c| c.trim_matches('"').to_string())
    })
}

/// Decodes text bytes in a declared charset (`charset` header). UTF-8 unless declared otherwise.
fn decode_charset(bytes: &[u8], charset: Option<&str>) -> Result<String, Rejection> {
    match charset.map(str::to_ascii_lowercase).as_deref() {
        None | Some("utf-8") | Some("utf8") => {
            std::str::from_utf8(bytes).map(str::to_string).map_err(|e| {
                Rejection::new("invalid_utf8", format!("payload is not valid UTF-8: {e}"))
            })
        }
        Some("iso-8859-1") | Some("latin1") | Some("latin-1") => {
            Ok(bytes.iter().map(|&b| b as char).collect())
        }
        Some(other) => Err(Rejection::new(
            "invalid_charset",
            format!("unsupported charset {other:?}; use utf-8 or iso-8859-1"),
        )),
    }
}

pub async fn decode(record: &Incoming, codec: &Codec) -> Result<RawDocument, Rejection> {
    let mut doc = match sniff(record)? {
        Format::Avro => codec
            .decode::<RawDocument>(&record.payload)
            .await
            .map_err(|e| Rejection::new(e.reason(), format!("avro: {e}")))?,
        Format::Json => {
            let text = decode_charset(&record.payload, declared_charset(record).as_deref())?;
            // A UTF-8 byte-order mark is legal in a file, not in JSON; producers copy it anyway.
            parse_json(text.strip_prefix('\u{feff}').unwrap_or(&text))?
        }
    };
    if doc.id.as_deref().is_none_or(|id| id.trim().is_empty()) {
        doc.id = match record.key_str().filter(|k| !k.trim().is_empty()) {
            Some(key) => Some(key.to_string()),
            None => Some(content_id(&doc.text)),
        };
    }
    Ok(doc)
}

/// `sha256:<hex>` of the text: the id of a document that arrived without one.
pub fn content_id(text: &str) -> String {
    use sha2::Digest;
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(text.as_bytes()))
    )
}

fn parse_json(text: &str) -> Result<RawDocument, Rejection> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Rejection::new("decode", format!("invalid JSON: {e}")))?;
    let Value::Object(mut map) = value else {
        return Err(Rejection::new("decode", "JSON value is not an object"));
    };
    let text = match map.remove("text") {
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(Rejection::new(
                "missing_field",
                format!("field 'text' must be a string, got {}", type_name(&other)),
            ))
        }
        None => {
            return Err(Rejection::new(
                "missing_field",
                "required field 'text' is missing",
            ))
        }
    };
    let id = match map.remove("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => {
            return Err(Rejection::new(
                "missing_field",
                format!("field 'id' must be a string, got {}", type_name(&other)),
            ))
        }
    };
    let source = match map.remove("source") {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    let created_at_ms = map.remove("created_at_ms").and_then(|v| v.as_i64());
    // Everything else is carried as metadata, stringified, so producers' attributes survive.
    let mut metadata: HashMap<String, String> = HashMap::new();
    if let Some(Value::Object(m)) = map.remove("metadata") {
        for (k, v) in m {
            metadata.insert(k, stringify(v));
        }
    }
    for (k, v) in map {
        metadata.entry(k).or_insert_with(|| stringify(v));
    }
    Ok(RawDocument {
        id,
        text,
        source,
        metadata,
        created_at_ms,
    })
}

fn stringify(v: Value) -> String {
    match v {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(payload: &[u8], key: Option<&str>, headers: &[(&str, &str)]) -> Incoming {
        Incoming {
            topic: "raw".into(),
            partition: 0,
            offset: 0,
            key: key.map(|k| k.as_bytes().to_vec()),
            payload: payload.to_vec(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect(),
        }
    }

    fn run(r: &Incoming) -> Result<RawDocument, Rejection> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("rt")
            .block_on(decode(r, &Codec::single_object()))
    }

    #[test]
    fn json_with_and_without_ids() {
        let d = run(&record(br#"{"id":"a","text":"hi","label":"x"}"#, None, &[])).expect("ok");
        assert_eq!(d.id.as_deref(), Some("a"));
        assert_eq!(d.metadata.get("label").map(String::as_str), Some("x"));
        let d = run(&record(br#"{"text":"hi"}"#, Some("k1"), &[])).expect("ok");
        assert_eq!(d.id.as_deref(), Some("k1"));
        let d = run(&record(br#"{"text":"hi"}"#, None, &[])).expect("ok");
        assert_eq!(d.id, Some(content_id("hi")));
        let d = run(&record(br#"{"id":7,"text":"hi"}"#, None, &[])).expect("ok");
        assert_eq!(d.id.as_deref(), Some("7"));
    }

    #[test]
    fn avro_round_trip() {
        let codec = Codec::single_object();
        let raw = RawDocument {
            id: Some("z".into()),
            text: "t".into(),
            source: None,
            metadata: HashMap::new(),
            created_at_ms: None,
        };
        let d = run(&record(&codec.encode(&raw).expect("enc"), None, &[])).expect("ok");
        assert_eq!(d, raw);
    }

    #[test]
    fn rejections_carry_reasons() {
        assert_eq!(run(&record(b"", None, &[])).unwrap_err().reason, "empty");
        assert_eq!(
            run(&record(b"hello", None, &[])).unwrap_err().reason,
            "decode"
        );
        assert_eq!(
            run(&record(b"{not json", None, &[])).unwrap_err().reason,
            "decode"
        );
        assert_eq!(
            run(&record(br#"{"id":"a"}"#, None, &[]))
                .unwrap_err()
                .reason,
            "missing_field"
        );
        assert_eq!(
            run(&record(br#"{"text":5}"#, None, &[]))
                .unwrap_err()
                .reason,
            "missing_field"
        );
        assert_eq!(
            run(&record(b"{\"text\":\"\xff\"}", None, &[]))
                .unwrap_err()
                .reason,
            "invalid_utf8"
        );
        assert_eq!(
            run(&record(&[0xC3, 0x01, 1, 2], None, &[]))
                .unwrap_err()
                .reason,
            "decode"
        );
        assert_eq!(
            run(&record(&[0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9], None, &[]))
                .unwrap_err()
                .reason,
            "unknown_schema"
        );
    }

    #[test]
    fn declared_latin1_is_decoded() {
        let d = run(&record(
            b"{\"text\":\"caf\xe9\"}",
            None,
            &[("charset", "iso-8859-1")],
        ))
        .expect("ok");
        assert_eq!(d.text, "café");
        let ct = [("content-type", "application/json; charset=ISO-8859-1")];
        let d =
            run(&record(b"{\"text\":\"caf\xe9\"}", None, &ct)).expect("charset in content-type");
        assert_eq!(d.text, "café");
    }

    #[test]
    fn a_byte_order_mark_is_tolerated() {
        let d = run(&record(b"\xef\xbb\xbf{\"text\":\"hi\"}", None, &[])).expect("ok");
        assert_eq!(d.text, "hi");
    }

    proptest::proptest! {
        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = run(&record(&bytes, None, &[]));
            let mut avro = vec![0xC3, 0x01];
            avro.extend_from_slice(&bytes);
            let _ = run(&record(&avro, None, &[]));
        }
    }
}
