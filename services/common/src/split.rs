//! Deterministic, replica-independent sampling by document id. Used for the trainer's held-out
//! slice, the classifier's held-out labels, audit sampling and the datasets' train/test split, so
//! that every process agrees without coordination.

/// A stable value in [0, 1) for `key` and a `salt` that separates independent uses.
pub fn unit_hash(key: &str, salt: &str) -> f64 {
    // FNV-1a then a splitmix64 finaliser: fast, stable across platforms and releases (unlike
    // std's SipHash keys), and well mixed in the high bits we keep.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in salt
        .as_bytes()
        .iter()
        .chain([0xffu8].iter())
        .chain(key.as_bytes())
    {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// True for about `fraction` of all keys.
pub fn in_sample(key: &str, salt: &str, fraction: f64) -> bool {
    unit_hash(key, salt) < fraction
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fraction_is_respected_and_salts_are_independent() {
        let n = 20_000;
        let a = (0..n)
            .filter(|i| in_sample(&format!("doc-{i}"), "heldout", 0.1))
            .count();
        assert!((1800..2200).contains(&a), "{a}");
        let both = (0..n)
            .filter(|i| {
                in_sample(&format!("doc-{i}"), "heldout", 0.1)
                    && in_sample(&format!("doc-{i}"), "audit", 0.1)
            })
            .count();
        assert!((100..320).contains(&both), "{both}");
        assert_eq!(unit_hash("x", "s"), unit_hash("x", "s"));
    }
}
