//! Streams the train rows of a feature CSV into a [`Trainer`] as if they were labels
//! arriving from annotators, refits every `--step` labels, and prints one JSON line per
//! refit: held-out accuracy / macro-F1 / ECE (the trainer's own evaluation split), the
//! robust gain per 100 labels and whether the curve has plateaued; then test metrics.
//!
//! ```text
//! cargo run --release -p latentlabel-classify --example learning_curve -- FEATURES.csv \
//!     [--step 250] [--max 4000] [--seed 0] [--epsilon 0.005]
//! ```
//! CSV format as for `classify_eval` (`split,label,f1..fK`).

use std::error::Error;

use latentlabel_classify::metrics::evaluate;
use latentlabel_classify::{ClassifierConfig, Example, Trainer};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

type Row = (String, Vec<f32>);

fn read_csv(path: &str) -> Result<(Vec<Row>, Vec<Row>), Box<dyn Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (number, line) in text
        .lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let mut fields = line.split(',');
        let (Some(split), Some(label)) = (fields.next(), fields.next()) else {
            return Err(format!("line {}: expected split,label,features", number + 1).into());
        };
        let features = fields
            .map(|f| f.trim().parse::<f32>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("line {}: {e}", number + 1))?;
        let row = (label.trim().to_owned(), features);
        match split.trim() {
            "train" => train.push(row),
            "test" => test.push(row),
            other => return Err(format!("line {}: unknown split {other:?}", number + 1).into()),
        }
    }
    Ok((train, test))
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let (mut path, mut step, mut max, mut seed, mut epsilon) =
        (None, 250usize, 4000usize, 0u64, 0.005f64);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--step" => step = value()?.parse()?,
            "--max" => max = value()?.parse()?,
            "--seed" => seed = value()?.parse()?,
            "--epsilon" => epsilon = value()?.parse()?,
            _ if path.is_none() && !arg.starts_with("--") => path = Some(arg),
            _ => return Err(format!("unexpected argument {arg}").into()),
        }
    }
    let path = path.ok_or("usage: learning_curve FEATURES.csv [options]")?;
    let (mut train, test) = read_csv(&path)?;
    train.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));

    let config = ClassifierConfig {
        seed,
        plateau_epsilon: epsilon,
        ..ClassifierConfig::default()
    };
    let mut trainer = Trainer::new(config)?;
    for (i, (label, features)) in train.into_iter().take(max).enumerate() {
        trainer.add(features, &label)?;
        if (i + 1) % step != 0 {
            continue;
        }
        let point = trainer.refit()?;
        let line = serde_json::json!({
            "labels": i + 1,
            "point": point,
            "gain_per_100_labels": trainer.curve().gain_per_100_labels(),
            "plateaued": trainer.plateaued(),
        });
        println!("{line}");
    }
    // Test metrics of the last model (test labels unknown to the trainer are errors).
    if let Some(model) = trainer.model() {
        let labels = trainer.labels();
        let test: Vec<Example> = test
            .into_iter()
            .filter_map(|(label, features)| {
                labels
                    .index_of(&label)
                    .map(|label| Example::dense(features, label))
            })
            .collect();
        let e = evaluate(model, &test, trainer.config().ece_bins)?;
        println!(
            "{}",
            serde_json::json!({ "final_test": e, "temperature": model.temperature() })
        );
    }
    Ok(())
}
