//! Stable hashing of ids. Everything that must be the same on every replica and after every
//! replay (task ids, audit sampling) derives from SHA-256 of the id, never from `std` hashers,
//! whose seeds differ per process.

use sha2::{Digest, Sha256};

/// First 64 bits of SHA-256(`domain` NUL `key`). The domain separates uses of the same id.
pub(crate) fn stable_hash64(domain: &str, key: &str) -> u64 {
    let mut hasher = Sha256::new();
    hasher.update(domain.as_bytes());
    hasher.update([0u8]);
    hasher.update(key.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// A uniform number in [0, 1) that depends only on (`domain`, `key`).
pub(crate) fn unit_interval(domain: &str, key: &str) -> f64 {
    // 53 bits: exactly representable in an f64 mantissa.
    (stable_hash64(domain, key) >> 11) as f64 / (1u64 << 53) as f64
}

/// The task id of a scored document. Opaque (so annotators cannot tell audits or gold items
/// from routine work by looking at ids) and stable across replays.
pub fn task_id_for_doc(doc_id: &str) -> String {
    format!("t{:016x}", stable_hash64("latentlabel.task.doc", doc_id))
}

/// The task id of a gold item.
pub fn task_id_for_gold(gold_id: &str) -> String {
    format!("t{:016x}", stable_hash64("latentlabel.task.gold", gold_id))
}

/// Whether an auto-labeled document is in the deterministic audit sample at `rate`.
pub fn is_audit_sample(doc_id: &str, rate: f64) -> bool {
    unit_interval("latentlabel.audit", doc_id) < rate
}

/// Whether a document just below the auto-label threshold is in the deterministic validation
/// sample at `rate` (independent of the audit sample).
pub fn is_validation_sample(doc_id: &str, rate: f64) -> bool {
    unit_interval("latentlabel.validation", doc_id) < rate
}

/// Key of the seen-documents set: 64 bits is plenty for deduplicating millions of ids.
pub(crate) fn doc_fingerprint(doc_id: &str) -> u64 {
    stable_hash64("latentlabel.seen", doc_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_sample_is_stable_and_close_to_rate() {
        let hits = (0..20_000)
            .filter(|i| is_audit_sample(&format!("doc-{i}"), 0.05))
            .count();
        // Binomial(20000, 0.05): sd ~ 31, so +-150 is ~5 sd.
        assert!((850..=1150).contains(&hits), "{hits}");
        assert_eq!(is_audit_sample("x", 0.05), is_audit_sample("x", 0.05));
        assert!(!is_audit_sample("x", 0.0));
        assert!(is_audit_sample("x", 1.0));
    }

    #[test]
    fn task_ids_differ_by_kind_and_id() {
        assert_ne!(task_id_for_doc("a"), task_id_for_gold("a"));
        assert_ne!(task_id_for_doc("a"), task_id_for_doc("b"));
        assert_eq!(task_id_for_doc("a"), task_id_for_doc("a"));
        assert_eq!(task_id_for_doc("a").len(), 17);
    }
}
