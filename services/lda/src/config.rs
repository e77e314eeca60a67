//! Training configuration and the crate's error type.

use serde::{Deserialize, Serialize};

/// Everything that can go wrong in this crate (I/O lives in [`crate::uci`] and uses `anyhow`).
#[derive(Debug, thiserror::Error)]
pub enum LdaError {
    /// A configuration value is out of range.
    #[error("invalid LDA configuration: {0}")]
    InvalidConfig(String),
    /// Array shapes that must agree do not.
    #[error("dimension mismatch: {0}")]
    DimensionMismatch(String),
    /// A serialized state or snapshot is not a valid model.
    #[error("invalid LDA state: {0}")]
    InvalidState(String),
    /// A vocabulary remap is not a valid compaction.
    #[error("invalid vocabulary remap: {0}")]
    InvalidRemap(String),
}

/// Online LDA hyper-parameters. Every field has a default, so a config file may name only the
/// fields it changes; unknown fields are rejected so typos fail loudly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LdaConfig {
    /// Number of topics K. Default 20.
    pub num_topics: usize,
    /// Symmetric document-topic Dirichlet prior. Default `None` = 1/K (gensim `alpha='symmetric'`).
    /// With `learn_alpha` this is only the starting value.
    pub alpha: Option<f32>,
    /// Symmetric topic-word Dirichlet prior. Default `None` = 1/K (gensim `eta=None`).
    pub eta: Option<f32>,
    /// Learning-rate offset tau0 in rho_t = (tau0 + t)^-kappa, t = updates so far. Default 1.0
    /// (gensim `offset`): the first mini-batch gets rho = 1 and fully replaces the random
    /// initialisation. Must be > 0.
    pub tau0: f64,
    /// Learning-rate decay kappa. Default 0.5 (gensim `decay`): the slowest forgetting of the
    /// Hoffman et al. range (0.5, 1], which suits an unbounded stream whose topics drift.
    /// scikit-learn uses tau0 = 10, kappa = 0.7, which damps early batches more.
    pub kappa: f64,
    /// Documents per mini-batch (one E+M step). Default 256: small enough for a fresh model on
    /// a stream, large enough that the O(K V) M-step is amortised (gensim's `chunksize` is 2000).
    pub batch_size: usize,
    /// Maximum E-step iterations per document. Default 100 (scikit-learn `max_doc_update_iter`;
    /// gensim's `iterations` defaults to 50).
    pub max_iterations: usize,
    /// E-step convergence: stop when the mean absolute change of gamma is below this.
    /// Default 1e-3 (gensim and scikit-learn).
    pub gamma_threshold: f32,
    /// Accelerate the per-document E-step iteration with SQUAREM (Varadhan & Roland 2008):
    /// every third map evaluation starts from a point extrapolated from the previous two. Same
    /// convergence test and the same cap on map evaluations as the plain iteration; long
    /// documents (hundreds of distinct words, which contract slowly) converge in about half the
    /// evaluations (NIPS: 94 -> 49 per document, 73 % -> 5 % at the cap; 1.2-1.65x faster
    /// training), but the model it trains predicts held-out documents slightly worse
    /// (in-vocabulary perplexity +0.5-7.7 % in 11 of 12 seeded runs) and NPMI mostly drops
    /// (bench/lda/RESULTS.md, session 9). A few documents with several near-balanced optima may
    /// settle in a different one than the plain iteration. That gap is the cap's doing: with a
    /// cap no document reaches, the plain iteration trains the same model (in-vocabulary
    /// perplexity within 0.1-2.1 %, session 10); at 100 it stops most long documents early,
    /// which happens to regularise.
    /// Default false: gensim's plain iteration, exactly.
    pub estep_acceleration: bool,
    /// Corpus size D used to scale mini-batch statistics (D / |batch|). Default `None` = the
    /// running count of documents seen, the natural choice for an unbounded stream.
    pub total_docs: Option<u64>,
    /// Learn an asymmetric alpha with gensim's Newton step (`alpha='auto'`). Default false.
    pub learn_alpha: bool,
    /// Seed for the initial topics and the per-document gamma initialisation. Default 0.
    pub seed: u64,
    /// E-step worker threads; 0 = rayon's default (one per core). Default 0.
    pub threads: usize,
}

impl Default for LdaConfig {
    fn default() -> Self {
        LdaConfig {
            num_topics: 20,
            alpha: None,
            eta: None,
            tau0: 1.0,
            kappa: 0.5,
            batch_size: 256,
            max_iterations: 100,
            gamma_threshold: 1e-3,
            estep_acceleration: false,
            total_docs: None,
            learn_alpha: false,
            seed: 0,
            threads: 0,
        }
    }
}

impl LdaConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), LdaError> {
        let bad = |msg: String| Err(LdaError::InvalidConfig(msg));
        if self.num_topics == 0 {
            return bad("num_topics must be at least 1".into());
        }
        for (name, value) in [("alpha", self.alpha), ("eta", self.eta)] {
            if let Some(v) = value {
                if !(v.is_finite() && v > 0.0) {
                    return bad(format!("{name} must be a positive finite number, got {v}"));
                }
            }
        }
        if !(self.tau0.is_finite() && self.tau0 > 0.0) {
            return bad(format!("tau0 must be > 0, got {}", self.tau0));
        }
        if !(self.kappa.is_finite() && self.kappa > 0.0 && self.kappa <= 1.0) {
            return bad(format!("kappa must be in (0, 1], got {}", self.kappa));
        }
        if self.batch_size == 0 {
            return bad("batch_size must be at least 1".into());
        }
        if self.max_iterations == 0 {
            return bad("max_iterations must be at least 1".into());
        }
        if !(self.gamma_threshold.is_finite() && self.gamma_threshold >= 0.0) {
            return bad(format!(
                "gamma_threshold must be >= 0, got {}",
                self.gamma_threshold
            ));
        }
        if self.total_docs == Some(0) {
            return bad("total_docs must be at least 1 when set".into());
        }
        Ok(())
    }

    /// The effective symmetric alpha (1/K when unset).
    pub fn alpha_value(&self) -> f32 {
        self.alpha.unwrap_or(1.0 / self.num_topics as f32)
    }

    /// The effective eta (1/K when unset).
    pub fn eta_value(&self) -> f32 {
        self.eta.unwrap_or(1.0 / self.num_topics as f32)
    }

    /// Step size for update number `t` (0-based), at most 1: with tau0 < 1 the formula gives
    /// more than 1 for the first updates, which would turn the M-step's convex combination into
    /// an extrapolation (and lambda negative).
    pub fn rho(&self, t: u64) -> f64 {
        (self.tau0 + t as f64).powf(-self.kappa).min(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rho_never_exceeds_one() {
        let config = LdaConfig {
            tau0: 0.25,
            ..Default::default()
        };
        assert_eq!(config.rho(0), 1.0);
        assert!(config.rho(1) < 1.0);
        assert_eq!(LdaConfig::default().rho(0), 1.0);
        assert!((LdaConfig::default().rho(3) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn defaults_are_valid_and_bad_values_rejected() {
        LdaConfig::default().validate().unwrap();
        let bad = [
            LdaConfig {
                num_topics: 0,
                ..Default::default()
            },
            LdaConfig {
                alpha: Some(0.0),
                ..Default::default()
            },
            LdaConfig {
                eta: Some(f32::NAN),
                ..Default::default()
            },
            LdaConfig {
                tau0: 0.0,
                ..Default::default()
            },
            LdaConfig {
                kappa: 1.5,
                ..Default::default()
            },
            LdaConfig {
                batch_size: 0,
                ..Default::default()
            },
            LdaConfig {
                total_docs: Some(0),
                ..Default::default()
            },
        ];
        for c in bad {
            assert!(c.validate().is_err(), "{c:?}");
        }
    }

    #[test]
    fn config_serde_defaults_and_rejects_unknown() {
        let c: LdaConfig = serde_json::from_str(r#"{"num_topics": 7}"#).unwrap();
        assert_eq!(c.num_topics, 7);
        assert_eq!(c.kappa, 0.5);
        assert!(serde_json::from_str::<LdaConfig>(r#"{"topics": 7}"#).is_err());
    }
}
