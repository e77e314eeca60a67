//! Avro codec for every record on our topics.
//!
//! Two wire formats, told apart by their first bytes:
//! - Avro single-object encoding (`C3 01`, 8-byte little-endian CRC-64-AVRO fingerprint, datum): the
//!   default, self-describing without any service to ask.
//! - Confluent Schema Registry framing (`00`, 4-byte big-endian schema id, datum): used when a registry
//!   is configured. Writer schemas are fetched by id and cached; the datum is resolved against our
//!   reader schema, so producers may use any compatible schema version.
//!
//! Decoding never panics: every malformed input comes back as a [`CodecError`] whose
//! [`CodecError::reason`] is a stable code for the dead-letter topic.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use apache_avro::rabin::Rabin;
use apache_avro::Schema;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::registry::SchemaRegistry;

/// Marker of Avro single-object encoding.
const SINGLE_OBJECT_MARKER: [u8; 2] = [0xC3, 0x01];
const CONFLUENT_MAGIC: u8 = 0;
/// Upper bound for any single allocation the Avro decoder makes. A garbage length prefix must not
/// make us reserve hundreds of megabytes.
const MAX_AVRO_ALLOCATION: usize = 64 * 1024 * 1024;

/// A record type with a schema in `schemas/`.
pub trait AvroRecord: Serialize + DeserializeOwned {
    const SCHEMA_JSON: &'static str;
    /// Registry subject (record name strategy: the full record name).
    const SUBJECT_NAME: &'static str;
    /// Earlier versions of the schema (`schemas/history/`), oldest first. Single-object
    /// frames carry only the writer schema's fingerprint, so without these a reader would
    /// dead-letter every record an older producer wrote during a rolling upgrade; with them
    /// the datum is read with its writer schema and resolved to the current one (new fields
    /// take their defaults). The registry path needs none of this: it fetches writer schemas.
    const PREVIOUS_SCHEMAS: &'static [&'static str] = &[];
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("empty payload")]
    Empty,
    #[error("unknown wire format: first byte 0x{0:02x} is neither Avro single-object (0xC3 0x01) nor Confluent (0x00)")]
    UnknownFormat(u8),
    #[error("payload too short for its {0} header")]
    Truncated(&'static str),
    #[error("unknown schema fingerprint {0:016x} for {1}")]
    UnknownFingerprint(u64, &'static str),
    #[error("schema id {0} is unknown (no schema registry configured or it does not know the id)")]
    UnknownSchemaId(u32),
    #[error("schema registry: {0}")]
    Registry(String),
    #[error("avro: {0}")]
    Avro(String),
}

impl CodecError {
    /// Stable reason code for dead letters and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            CodecError::Empty => "empty",
            CodecError::UnknownFormat(_) | CodecError::Truncated(_) => "decode",
            CodecError::UnknownFingerprint(..) | CodecError::UnknownSchemaId(_) => "unknown_schema",
            CodecError::Registry(_) => "schema_registry",
            CodecError::Avro(_) => "decode",
        }
    }
}

struct SchemaEntry {
    schema: Schema,
    fingerprint: u64,
    /// Earlier versions by fingerprint (see [`AvroRecord::PREVIOUS_SCHEMAS`]).
    previous: Vec<(u64, Schema)>,
}

/// CRC-64-AVRO of the schema's parsing canonical form, as single-object frames carry it.
fn rabin_fingerprint(schema: &Schema) -> u64 {
    let fp = schema.fingerprint::<Rabin>();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&fp.bytes[..8]);
    u64::from_le_bytes(bytes)
}

/// Parsed schemas, keyed by subject. Parsing happens once per type per process.
fn schema_entry<T: AvroRecord>() -> Arc<SchemaEntry> {
    static CACHE: OnceLock<RwLock<HashMap<&'static str, Arc<SchemaEntry>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| {
        // Cap the decoder's allocations once for the whole process.
        let _ = apache_avro::util::max_allocation_bytes(MAX_AVRO_ALLOCATION);
        RwLock::new(HashMap::new())
    });
    if let Some(entry) = cache
        .read()
        .ok()
        .and_then(|c| c.get(T::SUBJECT_NAME).cloned())
    {
        return entry;
    }
    // The schemas are compiled into the binary from schemas/*.avsc and covered by tests, so a parse
    // failure is a build defect, not an input error.
    let parse = |json| Schema::parse_str(json).expect("embedded Avro schema must parse");
    let schema = parse(T::SCHEMA_JSON);
    let previous = T::PREVIOUS_SCHEMAS
        .iter()
        .map(|json| {
            let old = parse(json);
            (rabin_fingerprint(&old), old)
        })
        .collect();
    let entry = Arc::new(SchemaEntry {
        fingerprint: rabin_fingerprint(&schema),
        schema,
        previous,
    });
    if let Ok(mut c) = cache.write() {
        c.insert(T::SUBJECT_NAME, entry.clone());
    }
    entry
}

/// The parsed schema of a record type.
pub fn schema_of<T: AvroRecord>() -> Schema {
    schema_entry::<T>().schema.clone()
}

/// Encodes and decodes our records. Cheap to clone.
#[derive(Clone, Default)]
pub struct Codec {
    registry: Option<Arc<SchemaRegistry>>,
    /// Schema ids of our own subjects, registered at start-up when a registry is configured.
    registered: Arc<RwLock<HashMap<&'static str, u32>>>,
}

impl Codec {
    /// Single-object encoding, no registry.
    pub fn single_object() -> Self {
        Self::default()
    }

    pub fn with_registry(registry: SchemaRegistry) -> Self {
        Self {
            registry: Some(Arc::new(registry)),
            registered: Default::default(),
        }
    }

    pub fn uses_registry(&self) -> bool {
        self.registry.is_some()
    }

    /// Registers `T`'s schema so that [`Codec::encode`] can frame it. A no-op without a registry.
    pub async fn register<T: AvroRecord>(&self) -> Result<(), CodecError> {
        let Some(registry) = &self.registry else {
            return Ok(());
        };
        let id = registry.register(T::SUBJECT_NAME, T::SCHEMA_JSON).await?;
        registry.remember(id, schema_entry::<T>().schema.clone());
        if let Ok(mut r) = self.registered.write() {
            r.insert(T::SUBJECT_NAME, id);
        }
        Ok(())
    }

    pub fn encode<T: AvroRecord>(&self, value: &T) -> Result<Vec<u8>, CodecError> {
        let entry = schema_entry::<T>();
        let avro_value =
            apache_avro::to_value(value).map_err(|e| CodecError::Avro(e.to_string()))?;
        #[allow(deprecated)] // the replacement builder API does the same; this reads shorter
        let datum = apache_avro::to_avro_datum(&entry.schema, avro_value)
            .map_err(|e| CodecError::Avro(e.to_string()))?;
        let schema_id = self
            .registered
            .read()
            .ok()
            .and_then(|r| r.get(T::SUBJECT_NAME).copied());
        let mut out = Vec::with_capacity(datum.len() + 10);
        match schema_id {
            Some(id) => {
                out.push(CONFLUENT_MAGIC);
                out.extend_from_slice(&id.to_be_bytes());
            }
            None => {
                out.extend_from_slice(&SINGLE_OBJECT_MARKER);
                out.extend_from_slice(&entry.fingerprint.to_le_bytes());
            }
        }
        out.extend_from_slice(&datum);
        Ok(out)
    }

    /// Decodes either wire format. Confluent frames with a schema id not seen before are resolved
    /// by asking the registry (hence async); the answer is cached.
    pub async fn decode<T: AvroRecord>(&self, bytes: &[u8]) -> Result<T, CodecError> {
        if let [CONFLUENT_MAGIC, ..] = bytes {
            if bytes.len() < 5 {
                return Err(CodecError::Truncated("confluent"));
            }
            let id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
            if let Some(registry) = &self.registry {
                if registry.cached(id).is_none() {
                    registry.fetch(id).await?;
                }
            }
        }
        self.decode_cached(bytes)
    }

    /// Decodes without network access: Confluent frames must reference an already cached schema id.
    pub fn decode_cached<T: AvroRecord>(&self, bytes: &[u8]) -> Result<T, CodecError> {
        let entry = schema_entry::<T>();
        match bytes {
            [] => Err(CodecError::Empty),
            [0xC3, 0x01, rest @ ..] => {
                if rest.len() < 8 {
                    return Err(CodecError::Truncated("single-object"));
                }
                let mut fp = [0u8; 8];
                fp.copy_from_slice(&rest[..8]);
                let fingerprint = u64::from_le_bytes(fp);
                if fingerprint == entry.fingerprint {
                    return read_datum(&entry.schema, None, &rest[8..]);
                }
                match entry.previous.iter().find(|(f, _)| *f == fingerprint) {
                    Some((_, writer)) => read_datum(writer, Some(&entry.schema), &rest[8..]),
                    None => Err(CodecError::UnknownFingerprint(fingerprint, T::SUBJECT_NAME)),
                }
            }
            [CONFLUENT_MAGIC, rest @ ..] => {
                if rest.len() < 4 {
                    return Err(CodecError::Truncated("confluent"));
                }
                let id = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
                let writer = self
                    .registry
                    .as_ref()
                    .and_then(|r| r.cached(id))
                    .ok_or(CodecError::UnknownSchemaId(id))?;
                read_datum(&writer, Some(&entry.schema), &rest[4..])
            }
            [first, ..] => Err(CodecError::UnknownFormat(*first)),
        }
    }
}

fn read_datum<T: DeserializeOwned>(
    writer: &Schema,
    reader: Option<&Schema>,
    mut datum: &[u8],
) -> Result<T, CodecError> {
    #[allow(deprecated)]
    let value = apache_avro::from_avro_datum(writer, &mut datum, reader)
        .map_err(|e| CodecError::Avro(e.to_string()))?;
    if !datum.is_empty() {
        return Err(CodecError::Avro(format!(
            "{} trailing bytes after the datum",
            datum.len()
        )));
    }
    apache_avro::from_value::<T>(&value).map_err(|e| CodecError::Avro(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    #[test]
    fn every_schema_parses() {
        schema_of::<RawDocument>();
        schema_of::<TokenizedDocument>();
        schema_of::<ModelSnapshot>();
        schema_of::<ScoredDocument>();
        schema_of::<LabelEvent>();
        schema_of::<DeadLetter>();
        schema_of::<AnnotationEvent>();
    }

    #[test]
    fn single_object_round_trip() {
        let codec = Codec::single_object();
        let doc = RawDocument {
            id: Some("a".into()),
            text: "hello".into(),
            source: None,
            metadata: [("k".to_string(), "v".to_string())].into(),
            created_at_ms: Some(7),
        };
        let bytes = codec.encode(&doc).expect("encode");
        assert_eq!(&bytes[..2], &SINGLE_OBJECT_MARKER);
        let back: RawDocument = block_on(codec.decode(&bytes)).expect("decode");
        assert_eq!(back, doc);

        let dl = DeadLetter {
            service: "ingest".into(),
            source_topic: "t".into(),
            source_partition: 1,
            source_offset: 2,
            reason: "decode".into(),
            message: "m".into(),
            key: Some(vec![1, 2]),
            payload: vec![0xff, 0],
            failed_at_ms: 3,
        };
        let back: DeadLetter =
            block_on(codec.decode(&codec.encode(&dl).expect("encode"))).expect("decode");
        assert_eq!(back, dl);
    }

    #[test]
    fn wrong_type_is_an_unknown_fingerprint() {
        let codec = Codec::single_object();
        let ev = LabelEvent {
            event_id: "e".into(),
            doc_id: "d".into(),
            label: "l".into(),
            source: "human".into(),
            annotators: vec![],
            confidence: None,
            agreement: None,
            cost_usd: 0.1,
            model_version: None,
            classifier_version: None,
            text: None,
            created_at_ms: 0,
        };
        let bytes = codec.encode(&ev).expect("encode");
        let err = codec.decode_cached::<RawDocument>(&bytes).unwrap_err();
        assert_eq!(err.reason(), "unknown_schema");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let codec = Codec::single_object();
        let good = codec
            .encode(&RawDocument {
                id: None,
                text: "x".repeat(50),
                source: None,
                metadata: Default::default(),
                created_at_ms: None,
            })
            .expect("encode");
        // Every truncation and a sweep of single-byte corruptions.
        for n in 0..good.len() {
            let _ = codec.decode_cached::<RawDocument>(&good[..n]);
        }
        for i in 0..good.len() {
            for b in [0x00u8, 0x7f, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] = b;
                let _ = codec.decode_cached::<RawDocument>(&bad);
            }
        }
        assert!(matches!(
            codec.decode_cached::<RawDocument>(b"{\"text\":1}"),
            Err(CodecError::UnknownFormat(b'{'))
        ));
        assert!(matches!(
            codec.decode_cached::<RawDocument>(&[0, 0, 0, 0, 9, 1]),
            Err(CodecError::UnknownSchemaId(9))
        ));
    }

    /// Records written by producers built against earlier schema versions still decode
    /// (single-object frames name the writer schema only by fingerprint); fields they lack
    /// take their defaults.
    #[test]
    fn older_schema_versions_still_decode() {
        #[derive(Serialize)]
        struct V1 {
            id: String,
            text: String,
            terms: Vec<TermCount>,
            token_count: i32,
            content_hash: String,
            duplicate_of: Option<String>,
            source: Option<String>,
            metadata: HashMap<String, String>,
            ingested_at_ms: i64,
        }
        let v1 = || V1 {
            id: "d1".into(),
            text: "hello world".into(),
            terms: vec![TermCount {
                term: "hello".into(),
                count: 1,
            }],
            token_count: 2,
            content_hash: "ab".into(),
            duplicate_of: None,
            source: Some("s".into()),
            metadata: HashMap::new(),
            ingested_at_ms: 5,
        };
        let frame = |schema_json: &str, value: apache_avro::types::Value| {
            let schema = Schema::parse_str(schema_json).expect("schema");
            #[allow(deprecated)]
            let datum = apache_avro::to_avro_datum(&schema, value).expect("datum");
            let mut out = SINGLE_OBJECT_MARKER.to_vec();
            out.extend_from_slice(&rabin_fingerprint(&schema).to_le_bytes());
            out.extend_from_slice(&datum);
            out
        };
        let [old1, old2] = TokenizedDocument::PREVIOUS_SCHEMAS else {
            panic!("two earlier TokenizedDocument schemas expected");
        };
        let codec = Codec::single_object();
        let from_v1: TokenizedDocument = codec
            .decode_cached(&frame(old1, apache_avro::to_value(v1()).expect("value")))
            .expect("a v1 record decodes");
        assert_eq!(
            (
                from_v1.id.as_str(),
                from_v1.terms.len(),
                from_v1.ingested_at_ms
            ),
            ("d1", 1, 5)
        );
        assert!(from_v1.context_terms.is_empty() && from_v1.tokenizer.is_none());

        // v2 = v1 + context_terms.
        let apache_avro::types::Value::Record(mut v2) = apache_avro::to_value(v1()).expect("value")
        else {
            panic!("a struct serialises to a record");
        };
        let terms = vec![TermCount {
            term: "subject".into(),
            count: 2,
        }];
        v2.push((
            "context_terms".into(),
            apache_avro::to_value(terms).expect("value"),
        ));
        let from_v2: TokenizedDocument = codec
            .decode_cached(&frame(old2, apache_avro::types::Value::Record(v2)))
            .expect("a v2 record decodes");
        assert_eq!(from_v2.context_terms.len(), 1);
        assert!(from_v2.tokenizer.is_none());

        // Each version is told apart by its fingerprint, and none is the current one.
        let current = schema_entry::<TokenizedDocument>();
        let mut prints: Vec<u64> = current.previous.iter().map(|(f, _)| *f).collect();
        prints.push(current.fingerprint);
        prints.sort_unstable();
        prints.dedup();
        assert_eq!(prints.len(), 3);
    }

    /// A schema change must keep the old version readable: this test fails when any schema's
    /// fingerprint changes, until the old `.avsc` is copied to `schemas/history/`, listed in
    /// its `avro_record!`, and the new fingerprint recorded here.
    #[test]
    fn a_changed_schema_keeps_its_previous_version() {
        fn check<T: AvroRecord>(want: u64) {
            let entry = schema_entry::<T>();
            assert_eq!(
                entry.fingerprint,
                want,
                "{} changed (fingerprint {:016x}): copy the previous .avsc to schemas/history/, \
                 list it in avro_record!, then record the new fingerprint here",
                T::SUBJECT_NAME,
                entry.fingerprint
            );
        }
        check::<RawDocument>(0x1c13_7e16_86b0_5fb4);
        check::<TokenizedDocument>(0xc276_2873_29b6_5099);
        check::<ModelSnapshot>(0x83b2_249a_efe8_e1d6);
        check::<ScoredDocument>(0x634f_8762_a1d8_f68e);
        check::<LabelEvent>(0xb0b6_0e67_1a62_a219);
        check::<DeadLetter>(0x9404_fb14_d11c_0ab7);
        check::<AnnotationEvent>(0x6f50_af38_0e60_303c);
    }
}
