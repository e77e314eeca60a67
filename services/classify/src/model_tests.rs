//! Tests of `model.rs`: fitting, calibration, persistence, refusals.
use super::*;
use crate::metrics::evaluate;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// Gaussian blobs: class `c` centred at `separation * e_c` in `dim` dimensions.
fn blobs(n: usize, classes: usize, dim: usize, separation: f32, seed: u64) -> Vec<Example> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let noise = Normal::new(0.0f32, 1.0).unwrap();
    (0..n)
        .map(|_| {
            let label = rng.random_range(0..classes);
            let features = (0..dim)
                .map(|j| noise.sample(&mut rng) + if j == label { separation } else { 0.0 })
                .collect();
            Example::dense(features, label)
        })
        .collect()
}

fn config(min_labels: usize) -> ClassifierConfig {
    ClassifierConfig {
        min_labels,
        ..ClassifierConfig::default()
    }
}

#[test]
fn separable_data_is_learned_perfectly() {
    let train = blobs(400, 4, 6, 8.0, 1);
    let test = blobs(400, 4, 6, 8.0, 2);
    let model = Classifier::fit(&train, &[], 4, &config(10)).unwrap();
    assert!(model.fit_report().converged, "{:?}", model.fit_report());
    let e = evaluate(&model, &test, 15).unwrap();
    assert!(e.accuracy > 0.995, "accuracy {}", e.accuracy);
    assert!(e.macro_f1 > 0.995);
}

#[test]
fn fitting_is_deterministic_and_standardisation_keeps_scale_invariance() {
    let train = blobs(300, 3, 5, 2.0, 3);
    let a = Classifier::fit(&train, &[], 3, &config(10)).unwrap();
    let b = Classifier::fit(&train, &[], 3, &config(10)).unwrap();
    assert_eq!(a, b);
    // Scaling every feature by 1000 changes nothing when standardising.
    let scaled: Vec<Example> = train
        .iter()
        .map(|e| Example::dense(e.features.iter().map(|v| v * 1000.0).collect(), e.label))
        .collect();
    let c = Classifier::fit(&scaled, &[], 3, &config(10)).unwrap();
    let p = a.predict_proba(&train[0].features).unwrap();
    let q = c.predict_proba(&scaled[0].features).unwrap();
    for (x, y) in p.iter().zip(&q) {
        assert!((x - y).abs() < 1e-3, "{p:?} vs {q:?}");
    }
}

#[test]
fn temperature_scaling_reduces_ece_of_an_overconfident_model() {
    // Few noisy examples in many dimensions, almost no regularisation: over-confident.
    let train = blobs(60, 3, 20, 1.0, 4);
    let calibration = blobs(500, 3, 20, 1.0, 5);
    let test = blobs(3000, 3, 20, 1.0, 6);
    let raw_config = ClassifierConfig {
        l2: 1e-3,
        calibration: CalibrationMethod::None,
        ..config(10)
    };
    let raw = Classifier::fit(&train, &calibration, 3, &raw_config).unwrap();
    let scaled_config = ClassifierConfig {
        calibration: CalibrationMethod::Temperature,
        ..raw_config.clone()
    };
    let scaled = Classifier::fit(&train, &calibration, 3, &scaled_config).unwrap();
    let before = evaluate(&raw, &test, 15).unwrap();
    let after = evaluate(&scaled, &test, 15).unwrap();
    assert!(
        scaled.temperature() > 1.5,
        "temperature {}",
        scaled.temperature()
    );
    assert!(before.ece > 0.15, "raw ece {}", before.ece);
    assert!(
        after.ece < before.ece / 2.0,
        "ece {} -> {}",
        before.ece,
        after.ece
    );
    assert_eq!(
        before.accuracy, after.accuracy,
        "temperature must not change the arg-max"
    );

    let iso_config = ClassifierConfig {
        calibration: CalibrationMethod::Isotonic,
        ..raw_config
    };
    let iso = Classifier::fit(&train, &calibration, 3, &iso_config).unwrap();
    let iso_eval = evaluate(&iso, &test, 15).unwrap();
    assert!(
        iso_eval.ece < before.ece / 2.0,
        "isotonic ece {}",
        iso_eval.ece
    );
}

#[test]
fn top_label_and_cross_fitted_calibration_fix_overconfidence() {
    let train = blobs(300, 3, 20, 1.0, 12);
    let test = blobs(3000, 3, 20, 1.0, 13);
    let base = ClassifierConfig {
        l2: 1e-3,
        ..config(10)
    };
    let raw = Classifier::fit(
        &train,
        &[],
        3,
        &ClassifierConfig {
            calibration: CalibrationMethod::None,
            ..base.clone()
        },
    )
    .unwrap();
    let crossed = Classifier::fit_cross_calibrated(&train, 3, &base).unwrap();
    // Same weights (fit on every example), only the calibration differs.
    assert_eq!(
        raw.predict(&test[0].features).unwrap().class,
        crossed.predict(&test[0].features).unwrap().class
    );
    assert_eq!(crossed.calibration_labels(), 300);
    assert!(
        crossed.temperature() > 1.2,
        "temperature {}",
        crossed.temperature()
    );
    let (before, after) = (
        evaluate(&raw, &test, 15).unwrap(),
        evaluate(&crossed, &test, 15).unwrap(),
    );
    assert!(
        after.ece < before.ece / 2.0,
        "ece {} -> {}",
        before.ece,
        after.ece
    );
    // Without folds it is a plain, uncalibrated fit.
    let single = Classifier::fit_cross_calibrated(
        &train,
        3,
        &ClassifierConfig {
            calibration_folds: 1,
            ..base
        },
    )
    .unwrap();
    assert_eq!(single.temperature(), 1.0);
}

#[test]
fn unseen_classes_get_zero_probability() {
    // Label space of 5, training covers classes 1 and 3 only.
    let train: Vec<Example> = blobs(200, 2, 3, 4.0, 7)
        .into_iter()
        .map(|e| Example {
            label: if e.label == 0 { 1 } else { 3 },
            ..e
        })
        .collect();
    let model = Classifier::fit(&train, &[], 5, &config(10)).unwrap();
    assert_eq!(model.fitted_classes(), &[1, 3]);
    let p = model.predict(&[4.0, 0.0, 0.0]).unwrap();
    assert_eq!(p.probabilities.len(), 5);
    assert_eq!(p.class, 1);
    assert_eq!(
        (p.probabilities[0], p.probabilities[2], p.probabilities[4]),
        (0.0, 0.0, 0.0)
    );
    assert!((p.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    assert!(p.normalized_entropy <= 1.0);
    let padded = model.predict_padded(&[4.0, 0.0, 0.0], 7).unwrap();
    assert_eq!(padded.probabilities.len(), 7);
}

#[test]
fn refuses_too_few_labels_classes_or_bad_rows() {
    let train = blobs(30, 2, 3, 4.0, 8);
    assert_eq!(
        Classifier::fit(&train, &[], 2, &config(50)),
        Err(ClassifyError::InsufficientLabels { have: 30, need: 50 })
    );
    let one_class: Vec<Example> = train
        .iter()
        .map(|e| Example {
            label: 0,
            ..e.clone()
        })
        .collect();
    assert_eq!(
        Classifier::fit(&one_class, &[], 2, &config(10)),
        Err(ClassifyError::TooFewClasses { found: 1 })
    );
    let mut ragged = train.clone();
    ragged[5].features.push(1.0);
    assert!(matches!(
        Classifier::fit(&ragged, &[], 2, &config(10)),
        Err(ClassifyError::DimensionMismatch { row: 5, .. })
    ));
    assert!(matches!(
        Classifier::fit(&train, &[], 1, &config(10)),
        Err(ClassifyError::LabelOutOfRange { .. })
    ));
    let model = Classifier::fit(&train, &[], 2, &config(10)).unwrap();
    assert!(model.predict(&[1.0]).is_err());
    assert!(model.predict(&[f32::NAN, 0.0, 0.0]).is_err());
}

#[test]
fn serde_round_trip_is_exact_and_validated() {
    let train = blobs(200, 3, 4, 2.0, 9);
    let calibration = blobs(100, 3, 4, 2.0, 10);
    for method in [
        CalibrationMethod::None,
        CalibrationMethod::Temperature,
        CalibrationMethod::TopLabelPlatt,
        CalibrationMethod::Isotonic,
    ] {
        let cfg = ClassifierConfig {
            calibration: method,
            ..config(10)
        };
        let model = Classifier::fit(&train, &calibration, 3, &cfg).unwrap();
        let json = serde_json::to_string(&model).unwrap();
        let back: Classifier = serde_json::from_str(&json).unwrap();
        assert_eq!(back, model);
        let x = &calibration[0].features;
        assert_eq!(back.predict(x).unwrap(), model.predict(x).unwrap());
    }
    let model = Classifier::fit(&train, &[], 3, &config(10)).unwrap();
    let mut value = serde_json::to_value(&model).unwrap();
    value["bias"] = serde_json::json!([0.0]);
    assert!(serde_json::from_value::<Classifier>(value).is_err());
}

#[test]
fn config_defaults_and_rejects_unknown_fields() {
    let cfg: ClassifierConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(cfg, ClassifierConfig::default());
    assert_eq!(cfg.min_labels, 50);
    assert!(serde_json::from_str::<ClassifierConfig>(r#"{"min_lables": 3}"#).is_err());
    let cfg: ClassifierConfig = serde_json::from_str(r#"{"calibration": "isotonic"}"#).unwrap();
    assert_eq!(cfg.calibration, CalibrationMethod::Isotonic);
}

/// Rows whose dense features are pure noise and whose class is only in the sparse block:
/// class `c` fires feature `2c` or `2c + 1` (plus a shared distractor feature 40).
fn sparse_only(n: usize, classes: usize, seed: u64) -> Vec<Example> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let label = rng.random_range(0..classes);
            let j = (2 * label + rng.random_range(0..2)) as u32;
            Example {
                features: vec![rng.random_range(-1.0..1.0)],
                sparse: vec![(j, 0.8), (40, 0.6)],
                label,
                label_accuracy: 1.0,
            }
        })
        .collect()
}

#[test]
fn sparse_features_are_learned_persisted_and_ignored_beyond_the_fitted_width() {
    let train = sparse_only(300, 4, 3);
    let test = sparse_only(200, 4, 4);
    let model = Classifier::fit(&train, &[], 4, &config(10)).unwrap();
    assert_eq!(model.num_sparse_features(), 41);
    let e = evaluate(&model, &test, 10).unwrap();
    assert!(e.accuracy > 0.99, "accuracy {}", e.accuracy);
    // Without its sparse row a document is a coin toss among 4 classes.
    let dense_only = model.predict(&test[0].features).unwrap();
    assert!(dense_only.confidence < 0.5, "{}", dense_only.confidence);
    // Unknown sparse columns carry no weight: same prediction with or without them.
    let mut extended = test[0].sparse.clone();
    extended.push((10_000, 5.0));
    assert_eq!(
        model.predict_with(&test[0].features, &extended).unwrap(),
        model
            .predict_with(&test[0].features, &test[0].sparse)
            .unwrap()
    );
    let json = serde_json::to_string(&model).unwrap();
    let back: Classifier = serde_json::from_str(&json).unwrap();
    assert_eq!(back, model);
    // A truncated sparse block is refused on load.
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["sparse_weights"].as_array_mut().unwrap().pop();
    assert!(serde_json::from_value::<Classifier>(value).is_err());
}
