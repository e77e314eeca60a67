//! Learning-curve benchmark of the classifier on a feature CSV.
//!
//! ```text
//! cargo run --release -p latentlabel-classify --example classify_eval -- FEATURES.csv \
//!     [--budgets 100,500,2000,all] [--seed 0] [--no-shuffle] [--l2 1.0] [--no-standardize] \
//!     [--calibration top_label_temperature|temperature|isotonic|none] [--folds 5] \
//!     [--calibration-fraction 0.15]
//! ```
//! The CSV has a header and rows `split,label,f1..fK` with `split` = `train` or `test`;
//! labels are any strings. Train rows are shuffled with the seed (unless `--no-shuffle`:
//! the caller already ordered them) and each budget `N` uses the first `N`. With
//! `--folds k >= 2` (the default, 5) all `N` fit the weights and the calibration is
//! cross-fitted ([`Classifier::fit_cross_calibrated`]); with `--folds 0` the last
//! `calibration-fraction` of the `N` fit the calibration and the rest the weights, and the
//! line also reports what every calibration method would give (`by_calibration`).
//! One JSON line per budget goes to stdout: test accuracy, macro-F1, ECE (15 bins).

use std::error::Error;
use std::time::Instant;

use latentlabel_classify::metrics::evaluate;
use latentlabel_classify::{CalibrationMethod, Classifier, ClassifierConfig, Example, LabelSet};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

struct Args {
    path: String,
    budgets: Vec<Option<usize>>, // None = all
    seed: u64,
    shuffle: bool,
    config: ClassifierConfig,
}

fn parse_args() -> Result<Args, Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let mut path = None;
    let mut budgets = vec![Some(100), Some(500), Some(2000), None];
    let mut seed = 0;
    let mut shuffle = true;
    let mut config = ClassifierConfig {
        min_labels: 2,
        calibration_fraction: 0.15,
        ..ClassifierConfig::default()
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--budgets" => {
                budgets = value()?
                    .split(',')
                    .map(|b| {
                        if b == "all" {
                            Ok(None)
                        } else {
                            b.parse().map(Some)
                        }
                    })
                    .collect::<Result<_, _>>()?
            }
            "--seed" => seed = value()?.parse()?,
            "--no-shuffle" => shuffle = false,
            "--l2" => config.l2 = value()?.parse()?,
            "--no-standardize" => config.standardize = false,
            "--folds" => config.calibration_folds = value()?.parse()?,
            "--calibration-fraction" => config.calibration_fraction = value()?.parse()?,
            "--calibration" => {
                config.calibration = match value()?.as_str() {
                    "temperature" => CalibrationMethod::Temperature,
                    "top_label_temperature" => CalibrationMethod::TopLabelTemperature,
                    "class_top_label_temperature" => CalibrationMethod::ClassTopLabelTemperature,
                    "top_label_platt" => CalibrationMethod::TopLabelPlatt,
                    "isotonic" => CalibrationMethod::Isotonic,
                    "none" => CalibrationMethod::None,
                    other => return Err(format!("unknown calibration {other}").into()),
                }
            }
            _ if path.is_none() && !arg.starts_with("--") => path = Some(arg),
            _ => return Err(format!("unexpected argument {arg}").into()),
        }
    }
    let path = path.ok_or("usage: classify_eval FEATURES.csv [options]")?;
    config.seed = seed;
    Ok(Args {
        path,
        budgets,
        seed,
        shuffle,
        config,
    })
}

/// Reads `split,label,f1..fK` rows into (train, test), interning labels in file order.
fn read_csv(
    path: &str,
    labels: &mut LabelSet,
) -> Result<(Vec<Example>, Vec<Example>), Box<dyn Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (number, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.split(',');
        let (Some(split), Some(label)) = (fields.next(), fields.next()) else {
            return Err(format!("line {}: expected split,label,features", number + 1).into());
        };
        let features = fields
            .map(|f| f.trim().parse::<f32>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("line {}: {e}", number + 1))?;
        let example = Example::dense(features, labels.intern(label.trim()));
        match split.trim() {
            "train" => train.push(example),
            "test" => test.push(example),
            other => return Err(format!("line {}: unknown split {other:?}", number + 1).into()),
        }
    }
    Ok((train, test))
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args()?;
    let mut labels = LabelSet::new();
    let (mut train, test) = read_csv(&args.path, &mut labels)?;
    if args.shuffle {
        train.shuffle(&mut ChaCha8Rng::seed_from_u64(args.seed));
    }
    for budget in &args.budgets {
        let n = budget.unwrap_or(train.len()).min(train.len());
        let line = if args.config.calibration_folds >= 2 {
            cross_fitted(&train[..n], &test, labels.len(), &args.config)?
        } else {
            held_out(&train[..n], &test, labels.len(), &args.config)?
        };
        println!("{line}");
    }
    Ok(())
}

/// All `subset` rows fit the weights; calibration from out-of-fold predictions.
fn cross_fitted(
    subset: &[Example],
    test: &[Example],
    num_classes: usize,
    config: &ClassifierConfig,
) -> Result<serde_json::Value, Box<dyn Error>> {
    let started = Instant::now();
    let model = match Classifier::fit_cross_calibrated(subset, num_classes, config) {
        Ok(model) => model,
        Err(e) => return Ok(serde_json::json!({ "budget": subset.len(), "error": e.to_string() })),
    };
    let fit_ms = started.elapsed().as_secs_f64() * 1e3;
    let e = evaluate(&model, test, config.ece_bins)?;
    Ok(serde_json::json!({
        "budget": subset.len(),
        "fit_labels": model.training_labels(),
        "calibration_labels": model.calibration_labels(),
        "calibration_folds": config.calibration_folds,
        "test_examples": e.examples,
        "accuracy": e.accuracy,
        "macro_f1": e.macro_f1,
        "ece": e.ece,
        "mean_confidence": e.mean_confidence,
        "calibration": config.calibration,
        "temperature": model.temperature(),
        "iterations": model.fit_report().iterations,
        "converged": model.fit_report().converged,
        "fit_ms": fit_ms,
    }))
}

/// The last `calibration_fraction` of `subset` calibrate, the rest fit the weights; every
/// calibration method is evaluated on the same weights.
fn held_out(
    subset: &[Example],
    test: &[Example],
    num_classes: usize,
    config: &ClassifierConfig,
) -> Result<serde_json::Value, Box<dyn Error>> {
    let n = subset.len();
    let n_calibration = (n as f32 * config.calibration_fraction).round() as usize;
    let (fit_rows, calibration_rows) = subset.split_at(n - n_calibration);
    let started = Instant::now();
    let uncalibrated = ClassifierConfig {
        calibration: CalibrationMethod::None,
        ..config.clone()
    };
    let model = match Classifier::fit(fit_rows, calibration_rows, num_classes, &uncalibrated) {
        Ok(model) => model,
        Err(e) => return Ok(serde_json::json!({ "budget": n, "error": e.to_string() })),
    };
    let fit_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut by_method = serde_json::Map::new();
    let mut chosen = None;
    let methods = [
        CalibrationMethod::None,
        CalibrationMethod::Temperature,
        CalibrationMethod::TopLabelTemperature,
        CalibrationMethod::ClassTopLabelTemperature,
        CalibrationMethod::Isotonic,
    ];
    for method in methods {
        let mut calibrated = model.clone();
        calibrated.calibrate(calibration_rows, method, config.class_temperature_spread)?;
        let e = evaluate(&calibrated, test, config.ece_bins)?;
        let name = serde_json::to_value(method)?;
        by_method.insert(
            name.as_str().unwrap_or("?").to_owned(),
            serde_json::json!({ "accuracy": e.accuracy, "macro_f1": e.macro_f1, "ece": e.ece,
                                "temperature": calibrated.temperature() }),
        );
        if method == config.calibration {
            chosen = Some((e, calibrated.temperature()));
        }
    }
    let (e, temperature) = chosen.ok_or("configured calibration not evaluated")?;
    Ok(serde_json::json!({
        "budget": n,
        "fit_labels": fit_rows.len(),
        "calibration_labels": calibration_rows.len(),
        "calibration_folds": 0,
        "test_examples": e.examples,
        "accuracy": e.accuracy,
        "macro_f1": e.macro_f1,
        "ece": e.ece,
        "mean_confidence": e.mean_confidence,
        "calibration": config.calibration,
        "temperature": temperature,
        "by_calibration": by_method,
        "iterations": model.fit_report().iterations,
        "converged": model.fit_report().converged,
        "fit_ms": fit_ms,
    }))
}
