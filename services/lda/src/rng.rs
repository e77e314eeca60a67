//! Seeded randomness that does not depend on thread count or call order: every random draw
//! gets its own small generator, keyed by (seed, purpose, index).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma};

/// Stream for the initial lambda column of word `w`.
pub(crate) const COLUMN: u64 = 1;
/// Stream for the initial gamma of a document in a training batch.
pub(crate) const DOC_GAMMA: u64 = 2;

/// SplitMix64 finaliser: decorrelates nearby keys.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A generator for (seed, stream, a, b).
pub(crate) fn rng_for(seed: u64, stream: u64, a: u64, b: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(mix(mix(mix(seed ^ stream.rotate_left(56)) ^ a) ^ b))
}

/// Fills `out` with Gamma(100, 1/100) draws: mean 1, small spread, as gensim initialises
/// both lambda and gamma.
pub(crate) fn fill_gamma100(rng: &mut ChaCha8Rng, out: &mut [f32]) {
    let dist = Gamma::new(100.0f32, 0.01).expect("constant parameters are valid");
    for o in out {
        *o = dist.sample(rng);
    }
}
