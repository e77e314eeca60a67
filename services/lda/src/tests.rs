//! Model-level tests: recovery on synthetic data, equality with a plain f64 reference,
//! determinism across threads, checkpoints, vocabulary changes.

use approx::assert_relative_eq;
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma};

use crate::digamma::digamma;
use crate::{rng, Document, LdaConfig, LdaState, OnlineLda, TopicInference, VocabRemap};

fn dirichlet(rng: &mut ChaCha8Rng, conc: f64, n: usize) -> Vec<f64> {
    let g = Gamma::new(conc, 1.0).unwrap();
    let draws: Vec<f64> = (0..n).map(|_| g.sample(rng).max(1e-300)).collect();
    let total: f64 = draws.iter().sum();
    draws.into_iter().map(|d| d / total).collect()
}

fn categorical(rng: &mut ChaCha8Rng, p: &[f64]) -> usize {
    let u: f64 = rng.random();
    let mut acc = 0.0;
    for (i, &pi) in p.iter().enumerate() {
        acc += pi;
        if u < acc {
            return i;
        }
    }
    p.len() - 1
}

/// Documents drawn from LDA's generative process with known topics.
fn synthetic(
    seed: u64,
    k: usize,
    v: usize,
    docs: usize,
    len: usize,
) -> (Vec<Vec<f64>>, Vec<Document>) {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let topics: Vec<Vec<f64>> = (0..k).map(|_| dirichlet(&mut r, 0.05, v)).collect();
    let corpus = (0..docs)
        .map(|_| {
            let theta = dirichlet(&mut r, 0.3, k);
            Document::from_pairs((0..len).map(|_| {
                let t = categorical(&mut r, &theta);
                (categorical(&mut r, &topics[t]) as u32, 1.0)
            }))
        })
        .collect();
    (topics, corpus)
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (na * nb)
}

fn train(model: &mut OnlineLda, corpus: &[Document], passes: usize) {
    let batch = model.config().batch_size;
    for _ in 0..passes {
        for chunk in corpus.chunks(batch) {
            model.update(chunk);
        }
    }
}

#[test]
fn recovers_known_topics() {
    let (k, v) = (6, 80);
    let (truth, corpus) = synthetic(7, k, v, 1500, 60);
    let config = LdaConfig {
        num_topics: k,
        batch_size: 100,
        total_docs: Some(corpus.len() as u64),
        seed: 3,
        ..Default::default()
    };
    let mut model = OnlineLda::new(config, v).unwrap();
    let before = model.log_perplexity(&corpus[..200]);
    train(&mut model, &corpus, 4);
    let after = model.log_perplexity(&corpus[..200]);
    assert!(after > before, "bound should improve: {before} -> {after}");

    let learned: Vec<Vec<f64>> = model
        .lambda()
        .rows()
        .into_iter()
        .map(|row| {
            let total: f64 = row.iter().map(|&x| x as f64).sum();
            row.iter().map(|&x| x as f64 / total).collect()
        })
        .collect();
    let mean_best: f64 = truth
        .iter()
        .map(|t| learned.iter().map(|l| cosine(t, l)).fold(0.0, f64::max))
        .sum::<f64>()
        / k as f64;
    assert!(mean_best >= 0.9, "mean best-match cosine {mean_best}");
}

/// Straightforward f64 E-step + M-step with phi materialised, following Hoffman et al.
#[allow(clippy::too_many_arguments)]
fn reference_update(
    lambda: &Array2<f32>,
    alpha: f64,
    eta: f64,
    batch: &[Document],
    gamma_inits: &[Vec<f32>],
    iterations: usize,
    rho: f64,
    total_docs: f64,
) -> Array2<f64> {
    let (k, v) = lambda.dim();
    let lam: Array2<f64> = lambda.mapv(|x| x as f64);
    let mut elogbeta = Array2::<f64>::zeros((k, v));
    for t in 0..k {
        let total: f64 = lam.row(t).sum();
        for w in 0..v {
            elogbeta[(t, w)] = digamma(lam[(t, w)]) - digamma(total);
        }
    }
    // Each word's weights relative to its best topic: phi is unchanged by a per-word factor,
    // and this is the form the optimised code uses (the epsilon in the normaliser then stays
    // negligible; see `topics.rs`).
    for w in 0..v {
        let top = (0..k)
            .map(|t| elogbeta[(t, w)])
            .fold(f64::NEG_INFINITY, f64::max);
        for t in 0..k {
            elogbeta[(t, w)] -= top;
        }
    }
    let mut sstats = Array2::<f64>::zeros((k, v));
    for (doc, init) in batch.iter().zip(gamma_inits) {
        let mut gamma: Vec<f64> = init.iter().map(|&g| g as f64).collect();
        let n = doc.ids.len();
        let mut phi = vec![vec![0.0; k]; n];
        for _ in 0..iterations {
            let gsum: f64 = gamma.iter().sum();
            let elogtheta: Vec<f64> = gamma.iter().map(|&g| digamma(g) - digamma(gsum)).collect();
            for (j, &w) in doc.ids.iter().enumerate() {
                let logits: Vec<f64> = (0..k)
                    .map(|t| elogtheta[t] + elogbeta[(t, w as usize)])
                    .collect();
                let norm: f64 = logits.iter().map(|l| l.exp()).sum::<f64>() + f32::EPSILON as f64;
                for t in 0..k {
                    phi[j][t] = logits[t].exp() / norm;
                }
            }
            for t in 0..k {
                gamma[t] = alpha
                    + (0..n)
                        .map(|j| doc.counts[j] as f64 * phi[j][t])
                        .sum::<f64>();
            }
        }
        // phi for the final gamma, as the optimised code (and gensim) use.
        let gsum: f64 = gamma.iter().sum();
        let elogtheta: Vec<f64> = gamma.iter().map(|&g| digamma(g) - digamma(gsum)).collect();
        for (j, &w) in doc.ids.iter().enumerate() {
            let logits: Vec<f64> = (0..k)
                .map(|t| elogtheta[t] + elogbeta[(t, w as usize)])
                .collect();
            let norm: f64 = logits.iter().map(|l| l.exp()).sum::<f64>() + f32::EPSILON as f64;
            for t in 0..k {
                sstats[(t, w as usize)] += doc.counts[j] as f64 * logits[t].exp() / norm;
            }
        }
    }
    let scale = total_docs / batch.len() as f64;
    (1.0 - rho) * &lam + rho * (eta + scale * sstats)
}

/// Updates a model twice on a small synthetic corpus and checks the second update's lambda
/// against [`reference_update`] run for `iterations` E-step iterations from the same gamma.
fn check_against_f64_reference(iterations: usize, gamma_threshold: f32, estep_acceleration: bool) {
    check_reference_update(9, 20, iterations, gamma_threshold, estep_acceleration);
}

/// One update of the optimised model against [`reference_update`], on `v` words and
/// documents of `len` tokens.
fn check_reference_update(
    v: usize,
    len: usize,
    iterations: usize,
    gamma_threshold: f32,
    estep_acceleration: bool,
) {
    let (_, corpus) = synthetic(11, 3, v, 6, len);
    let config = LdaConfig {
        num_topics: 3,
        max_iterations: iterations,
        gamma_threshold,
        estep_acceleration,
        tau0: 4.0,
        kappa: 0.7,
        total_docs: Some(50),
        seed: 5,
        ..Default::default()
    };
    let mut model = OnlineLda::new(config.clone(), v).unwrap();
    // A couple of updates first so lambda is not near-uniform.
    model.update(&corpus[..3]);
    let before = model.lambda().clone();
    let inits: Vec<Vec<f32>> = (0..3)
        .map(|i| {
            let mut g = vec![0f32; 3];
            rng::fill_gamma100(&mut rng::rng_for(5, rng::DOC_GAMMA, 1, i), &mut g);
            g
        })
        .collect();
    let want = reference_update(
        &before,
        1.0 / 3.0,
        1.0 / 3.0,
        &corpus[3..],
        &inits,
        iterations,
        config.rho(1),
        50.0,
    );
    model.update(&corpus[3..]);
    for (got, want) in model.lambda().iter().zip(want.iter()) {
        assert_relative_eq!(*got as f64, *want, max_relative = 1e-4);
    }
}

#[test]
fn optimised_update_matches_f64_reference() {
    // Threshold 0: every iteration runs, so both sides do the same work.
    check_against_f64_reference(40, 0.0, false);
}

#[test]
fn optimised_update_matches_f64_reference_over_many_scatter_blocks() {
    // Long documents over 1,100 words touch several scatter blocks of the mini-batch's words.
    check_reference_update(1100, 3000, 40, 0.0, false);
}

#[test]
fn one_and_two_threads_give_identical_lambda() {
    let (_, corpus) = synthetic(2, 4, 40, 300, 30);
    let run = |threads| {
        let config = LdaConfig {
            num_topics: 4,
            batch_size: 64,
            threads,
            seed: 9,
            ..Default::default()
        };
        let mut m = OnlineLda::new(config, 40).unwrap();
        train(&mut m, &corpus, 1);
        m.lambda().clone()
    };
    assert_eq!(run(1), run(2));
}

#[test]
fn state_round_trips_exactly_and_resumes() {
    let (_, corpus) = synthetic(4, 3, 30, 120, 25);
    let config = LdaConfig {
        num_topics: 3,
        batch_size: 40,
        learn_alpha: true,
        ..Default::default()
    };
    let mut model = OnlineLda::new(config, 30).unwrap();
    train(&mut model, &corpus[..80], 1);
    let json = serde_json::to_string(&model.to_state()).unwrap();
    let state: LdaState = serde_json::from_str(&json).unwrap();
    assert_eq!(state, model.to_state());
    let mut restored = OnlineLda::from_state(state).unwrap();
    assert_eq!(restored.updates(), model.updates());
    assert_eq!(restored.docs_seen(), 80);
    restored.update(&corpus[80..]);
    model.update(&corpus[80..]);
    // The checkpoint stores lambda itself; the running model holds it as
    // scale * weight + shift (lazy decay), so the resumed one differs by f32 rounding only.
    for (r, m) in restored.lambda().iter().zip(model.lambda().iter()) {
        assert!((r - m).abs() <= 1e-5 * m, "{r} vs {m}");
    }
    assert_eq!(restored.alpha(), model.alpha());
    assert_ne!(
        model.alpha()[0],
        1.0 / 3.0,
        "alpha should have been learned"
    );

    let mut bad = model.to_state();
    bad.alpha.pop();
    assert!(OnlineLda::from_state(bad).is_err());
}

#[test]
fn prune_and_grow_vocabulary() {
    let config = LdaConfig {
        num_topics: 3,
        ..Default::default()
    };
    let mut model = OnlineLda::new(config.clone(), 6).unwrap();
    let (_, corpus) = synthetic(5, 3, 6, 40, 10);
    model.update(&corpus);
    let before = model.lambda().clone();
    let remap = VocabRemap::from_map(vec![Some(0), None, Some(1), None, None, Some(2)]).unwrap();
    model.retain_words(&remap);
    assert_eq!(model.num_words(), 3);
    for (new, old) in [(0, 0), (1, 2), (2, 5)] {
        assert_eq!(model.lambda().column(new), before.column(old));
    }
    // Inference still works on the compacted model, ignoring unknown ids.
    let theta = model
        .inference()
        .infer(&Document::from_pairs([(0, 2.0), (7, 1.0)]));
    assert_relative_eq!(theta.iter().sum::<f32>(), 1.0, epsilon = 1e-5);

    // Growth: a fresh model grown later equals one created big.
    let mut small = OnlineLda::new(config.clone(), 4).unwrap();
    small.ensure_vocabulary(10);
    assert_eq!(small.lambda(), OnlineLda::new(config, 10).unwrap().lambda());
    // After rho_0 = 1 (tau0 = 1) a new column is exactly eta.
    model.ensure_vocabulary(5);
    assert!(model.lambda().column(4).iter().all(|&x| x == model.eta()));
}

#[test]
fn inference_is_deterministic_and_matches_snapshot() {
    let (_, corpus) = synthetic(8, 4, 50, 400, 40);
    let config = LdaConfig {
        num_topics: 4,
        batch_size: 100,
        ..Default::default()
    };
    let mut model = OnlineLda::new(config, 50).unwrap();
    train(&mut model, &corpus, 2);
    let inf = model.inference();
    let snap =
        TopicInference::from_lambda(model.lambda().clone(), model.alpha().to_vec(), 100, 1e-3)
            .unwrap();
    let batch = inf.infer_batch(&corpus[..20]);
    for (doc, theta) in corpus[..20].iter().zip(&batch) {
        assert_eq!(&inf.infer(doc), theta);
        // The snapshot's psi(sum lambda) is summed from the written lambda, the trainer's from
        // its running row sums: they may differ in the last bit.
        for (a, b) in snap.infer(doc).iter().zip(theta) {
            assert_relative_eq!(a, b, max_relative = 1e-4);
        }
        assert_relative_eq!(theta.iter().sum::<f32>(), 1.0, epsilon = 1e-5);
    }
    // A document made of one topic's top words is assigned mostly to that topic.
    let top: Vec<(u32, f32)> = model
        .top_words(2, 5)
        .into_iter()
        .map(|(w, _)| (w, 3.0))
        .collect();
    let theta = inf.infer(&Document::from_pairs(top));
    let best = (0..4)
        .max_by(|&a, &b| theta[a].total_cmp(&theta[b]))
        .unwrap();
    assert_eq!(best, 2, "{theta:?}");
    // One pass over all topics gives each topic's own list.
    let all = model.top_words_all(5);
    assert_eq!(all.len(), 4);
    for (t, words) in all.iter().enumerate() {
        assert_eq!(words, &model.top_words(t, 5), "topic {t}");
    }
    assert!(TopicInference::from_lambda(Array2::ones((2, 3)), vec![0.5], 10, 1e-3).is_err());
}

#[test]
fn words_first_seen_after_the_first_batch_are_learned() {
    // tau0 = 1 makes rho_0 = 1: the first update replaces the random start, so a word absent
    // from the first batch sits exactly at eta in every topic afterwards. It must still be
    // learned from the batches it appears in.
    // K = 50 makes eta = 1/K = 0.02, where exp(psi(eta)) ~ 1e-22.
    let config = LdaConfig {
        num_topics: 50,
        tau0: 1.0,
        total_docs: Some(1000),
        threads: 1,
        ..LdaConfig::default()
    };
    let mut model = OnlineLda::new(config, 12).expect("model");
    let early: Vec<Document> = (0..20)
        .map(|i| Document::from_pairs([((i % 6) as u32, 3.0), (((i + 1) % 6) as u32, 2.0)]))
        .collect();
    model.update(&early);
    let eta = model.eta();
    assert!(
        (0..50).all(|t| (model.lambda()[(t, 9)] - eta).abs() < 1e-6),
        "word 9 unseen so far"
    );
    let late: Vec<Document> = (0..20)
        .map(|i| Document::from_pairs([(9, 4.0), ((i % 6) as u32, 1.0)]))
        .collect();
    model.update(&late);
    let learned = (0..50)
        .map(|t| model.lambda()[(t, 9)])
        .fold(0.0f32, f32::max);
    assert!(
        learned > 10.0 * eta + 1.0,
        "word 9 must gain weight once seen: max lambda {learned}, eta {eta}"
    );
}

/// At convergence (tight threshold, high cap) both E-steps match the f64 reference run for as
/// many plain iterations.
#[test]
fn converged_update_matches_f64_reference_in_both_modes() {
    for estep_acceleration in [false, true] {
        check_against_f64_reference(2000, 1e-6, estep_acceleration);
    }
}

/// The alpha update equals gensim's `update_dir_prior` on the same input (values from gensim
/// 4.4.0: `logphat = dirichlet_expectation(gamma).sum(0) / 3` for the three gamma rows below),
/// including the case where gensim rejects the step and keeps the old prior.
#[test]
fn alpha_step_matches_gensim_update_dir_prior() {
    use crate::model::{dirichlet_expectation, dirichlet_prior_step};
    let gammas: [[f32; 4]; 3] = [
        [5.2, 0.4, 1.1, 0.05],
        [0.3, 7.5, 0.2, 2.0],
        [1.0, 1.0, 1.0, 1.0],
    ];
    let mut logphat = [0f64; 4];
    for g in &gammas {
        for (l, e) in logphat.iter_mut().zip(dirichlet_expectation(g)) {
            *l += e / 3.0;
        }
    }
    let gensim_logphat = [
        -2.62393980992151,
        -2.1777854657617812,
        -3.8771747246498385,
        -8.66459666438256,
    ];
    for (ours, theirs) in logphat.iter().zip(gensim_logphat) {
        assert!((ours - theirs).abs() < 1e-5, "{ours} vs {theirs}");
    }
    let cases: [([f32; 4], f64, Option<[f64; 4]>); 3] = [
        (
            [0.25; 4],
            0.5,
            Some([
                0.2674855158698082,
                0.28045713315268145,
                0.23104861036347038,
                0.09185775413455347,
            ]),
        ),
        (
            [0.1, 0.5, 0.2, 0.3],
            0.05,
            Some([0.10299507, 0.48036305, 0.19940621, 0.2718837]),
        ),
        // A component would go negative: gensim keeps the prior.
        ([0.1, 0.5, 0.2, 0.3], 0.7, None),
    ];
    for (prior, rho, want) in cases {
        let got = dirichlet_prior_step(&prior, &logphat, 3.0, rho);
        match (got, want) {
            (Some(got), Some(want)) => {
                for (g, w) in got.iter().zip(want) {
                    assert!((*g as f64 - w).abs() < 1e-5 * w, "rho {rho}: {g} vs {w}");
                }
            }
            (None, None) => {}
            (got, want) => panic!("rho {rho}: {got:?} vs {want:?}"),
        }
    }
}
