//! Scoring one document: theta from the topic model, then the label from the classifier.
//! Shared by the stream and the HTTP API so both answer identically.

use latentlabel_common::records::TopicWeight;
use serde::Serialize;

use crate::labels::ClassifierState;
use crate::model::TopicModel;

#[derive(Clone, Debug, Serialize)]
pub struct Score {
    pub theta: Vec<f32>,
    pub top_topics: Vec<TopicWeight>,
    pub label: Option<String>,
    pub confidence: f32,
    pub margin: f32,
    pub entropy: f32,
    pub unknown_words: u32,
    pub model_version: u64,
    pub classifier_version: Option<u64>,
}

pub fn score(
    model: &TopicModel,
    classifier: &ClassifierState,
    terms: &[(&str, u32)],
    context: &[(&str, u32)],
    top_topics: usize,
    top_words: usize,
) -> Score {
    let (doc, unknown_words) = model.document(terms.iter().copied());
    let theta = model.inference.infer(&doc);
    let mut order: Vec<usize> = (0..theta.len()).collect();
    order.sort_by(|a, b| theta[*b].total_cmp(&theta[*a]));
    let top_topics = order
        .into_iter()
        .take(top_topics)
        .map(|t| TopicWeight {
            topic: t as i32,
            weight: theta[t],
            words: model
                .topic_words
                .get(t)
                .map(|w| w.iter().take(top_words).cloned().collect())
                .unwrap_or_default(),
        })
        .collect();
    let prediction = classifier
        .fitted
        .as_ref()
        .and_then(|f| f.predict(&theta, terms, context).map(|p| (f, p)));
    let (label, confidence, margin, entropy) = match prediction {
        Some((fitted, p)) => {
            let name = fitted.labels.name(p.class).map(str::to_string);
            (name, p.confidence, p.margin, p.entropy)
        }
        // No classifier yet: no label and zero confidence; the queue treats such documents as
        // maximally informative.
        None => (None, 0.0, 0.0, 0.0),
    };
    Score {
        theta,
        top_topics,
        label,
        confidence,
        margin,
        entropy,
        unknown_words,
        model_version: model.version,
        classifier_version: classifier.fitted.as_ref().map(|_| classifier.version),
    }
}
