//! `TopicInference`: a read-only snapshot for scoring documents.

use std::sync::Arc;

use ndarray::Array2;
use rayon::prelude::*;

use crate::config::{LdaConfig, LdaError};
use crate::document::Document;
use crate::estep::{estep, EStepParams, Workspace};
use crate::model::check_positive;
use crate::topics::ExpElogbeta;

/// exp(E[log beta]) plus alpha and the E-step settings: everything needed to infer a
/// document's topic mixture. Cheap to clone (the matrix is shared); Send + Sync.
#[derive(Clone, Debug)]
pub struct TopicInference {
    topics: Arc<ExpElogbeta>,
    alpha: Vec<f32>,
    max_iterations: usize,
    gamma_threshold: f32,
    accelerate: bool,
}

impl TopicInference {
    pub(crate) fn from_parts(
        topics: Arc<ExpElogbeta>,
        alpha: Vec<f32>,
        max_iterations: usize,
        gamma_threshold: f32,
    ) -> Self {
        TopicInference {
            topics,
            alpha,
            max_iterations,
            gamma_threshold,
            accelerate: LdaConfig::default().estep_acceleration,
        }
    }

    /// Switches the E-step's SQUAREM acceleration (see [`LdaConfig::estep_acceleration`]; the
    /// default is the config's default).
    pub fn with_acceleration(mut self, on: bool) -> Self {
        self.accelerate = on;
        self
    }

    /// Builds a snapshot from a published topic-word matrix (K x V lambda, e.g. loaded from
    /// object storage) and alpha (K).
    pub fn from_lambda(
        lambda: Array2<f32>,
        alpha: Vec<f32>,
        max_iterations: usize,
        gamma_threshold: f32,
    ) -> Result<Self, LdaError> {
        let (k, _) = lambda.dim();
        if k == 0 || alpha.len() != k {
            return Err(LdaError::DimensionMismatch(format!(
                "lambda has {k} topics, alpha has {} entries",
                alpha.len()
            )));
        }
        if max_iterations == 0 || gamma_threshold.is_nan() || gamma_threshold < 0.0 {
            return Err(LdaError::InvalidConfig(
                "max_iterations must be >= 1 and gamma_threshold >= 0".into(),
            ));
        }
        check_positive(lambda.iter(), "lambda")?;
        check_positive(alpha.iter(), "alpha")?;
        let lambda = lambda.as_standard_layout().into_owned();
        let topics = Arc::new(ExpElogbeta::from_lambda(&lambda));
        Ok(Self::from_parts(
            topics,
            alpha,
            max_iterations,
            gamma_threshold,
        ))
    }

    pub fn num_topics(&self) -> usize {
        self.topics.num_topics()
    }
    pub fn num_words(&self) -> usize {
        self.topics.num_words()
    }
    pub fn alpha(&self) -> &[f32] {
        &self.alpha
    }

    /// The document's topic mixture: gamma normalised to sum 1 (as gensim's
    /// `get_document_topics`). Deterministic: gamma starts at 1 for every topic (the mean of
    /// gensim's Gamma(100, 1/100) draw), then the training E-step runs. Ids >= `num_words()`
    /// are ignored; an empty document gets the normalised prior.
    pub fn infer(&self, doc: &Document) -> Vec<f32> {
        let mut ws = Workspace::default();
        self.gamma_into(doc, &mut ws);
        normalise(&ws.gamma)
    }

    /// [`Self::infer`] for many documents, in parallel on the current rayon pool.
    pub fn infer_batch(&self, docs: &[Document]) -> Vec<Vec<f32>> {
        docs.par_iter()
            .map_init(Workspace::default, |ws, doc| {
                self.gamma_into(doc, ws);
                normalise(&ws.gamma)
            })
            .collect()
    }

    /// Runs the E-step, leaving the unnormalised gamma in `ws.gamma`.
    pub(crate) fn gamma_into(&self, doc: &Document, ws: &mut Workspace) {
        let params = EStepParams {
            topics: &self.topics,
            alpha: &self.alpha,
            max_iterations: self.max_iterations,
            gamma_threshold: self.gamma_threshold,
            accelerate: self.accelerate,
        };
        let init = vec![1.0f32; self.num_topics()];
        estep(&params, doc, &init, false, ws);
    }
}

fn normalise(gamma: &[f32]) -> Vec<f32> {
    let total: f64 = gamma.iter().map(|&g| g as f64).sum();
    gamma.iter().map(|&g| (g as f64 / total) as f32).collect()
}
