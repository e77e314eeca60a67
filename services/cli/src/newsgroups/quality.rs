//! `bench newsgroups quality`: labels streamed onto the labels topic in steps, the test split
//! scored over HTTP after each refit, feature files for scikit-learn.

use super::*;

fn write_json_lines(path: &Path, rows: &[Value]) -> anyhow::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    for r in rows {
        serde_json::to_writer(&mut f, r)?;
        f.write_all(b"\n")?;
    }
    f.flush()?;
    Ok(())
}

/// A post as the pipeline's tokenizer sees it: topic terms and classifier context.
type Bag = latentlabel_scoring::labels::Words;

fn bags(tokenizer: &Tokenizer, posts: &[Post]) -> Vec<Bag> {
    posts
        .iter()
        .map(|p| Bag::from_prepared(tokenizer.prepare(&p.text)))
        .collect()
}

/// One svmlight row: class index, theta, hashed tf-idf columns.
type SvmRow<'a> = (usize, &'a [f64], Vec<(u32, f32)>);

/// svmlight rows: theta as features 1..=K, then the hashed tf-idf columns after it.
fn write_svmlight(path: &Path, rows: &[SvmRow<'_>]) -> anyhow::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    for (label, theta, sparse) in rows {
        write!(f, "{label}")?;
        for (j, v) in theta.iter().enumerate() {
            write!(f, " {}:{v}", j + 1)?;
        }
        for (j, v) in sparse {
            write!(f, " {}:{v}", theta.len() + *j as usize + 1)?;
        }
        writeln!(f)?;
    }
    f.flush()?;
    Ok(())
}

pub(super) async fn quality(
    args: &NewsgroupsArgs,
    pipeline: &Embedded,
    train: &[Post],
    test: &[Post],
    steps: &str,
) -> anyhow::Result<()> {
    let labels: Vec<String> = pipeline.config.labeling_queue.curation.labels.clone();
    let steps: Vec<usize> = steps
        .split(',')
        .map(|s| match s.trim() {
            "all" => Ok(train.len()),
            n => n.parse::<usize>().map(|n| n.min(train.len())),
        })
        .collect::<Result<_, _>>()
        .context("--steps: comma-separated counts or `all`")?;

    let started = Instant::now();
    // A steady stream rather than one burst: ~2,000 posts/s. (Seen here: a burst of all
    // 18,846 posts at once left ingest's consumer stalled on the embedded broker with
    // repeated request time-outs; see docs/DESIGN.md.)
    for chunk in train.chunks(200).chain(test.chunks(200)) {
        send_posts(pipeline, chunk).await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "streamed {} posts in {:.1} s",
        train.len() + test.len(),
        started.elapsed().as_secs_f64()
    );
    // The trainer holds out ~5 % for perplexity and ingest drops duplicate posts.
    let expected = (train.len() + test.len()) as u64 * 85 / 100;
    let model = wait_for_trained_model(pipeline, expected).await?;

    let scoring = &pipeline.config.scoring;
    // Tokenized once: the feature files of every step reuse the bags.
    let tokenizer = Tokenizer::new(scoring.tokenizer.clone())?;
    let (train_bags, test_bags) = (bags(&tokenizer, train), bags(&tokenizer, test));
    let http = reqwest::Client::new();
    let (mut sent, mut rows) = (0usize, Vec::new());
    for &n in &steps {
        let step_started = Instant::now();
        let records: Vec<OutRecord> = train[sent..n]
            .iter()
            .map(|p| label_record(pipeline, p))
            .collect::<anyhow::Result<_>>()?;
        let mut acks: futures::stream::FuturesUnordered<_> = records
            .iter()
            .map(|r| pipeline.ctx.producer.send(r))
            .collect();
        while let Some(ack) = futures::StreamExt::next(&mut acks).await {
            ack.context("producing a label")?;
        }
        sent = n;
        // Wait until scoring has refitted on every label sent so far.
        let classifier = loop {
            pipeline.ensure_running()?;
            tokio::time::sleep(Duration::from_millis(500)).await;
            let c = get_json(&http, &format!("{}/v1/classifier", pipeline.base_url)).await?;
            let known = classifier_labels(&c);
            if known as usize >= n {
                break c;
            }
            anyhow::ensure!(
                step_started.elapsed() < Duration::from_secs(1200),
                "scoring did not refit on {n} labels within 20 min (has {known})"
            );
        };
        let refit_seconds = step_started.elapsed().as_secs_f64();
        let scored = score_posts(pipeline, test).await?;
        let mut row = test_figures(&scored, test, &labels);
        row["labels"] = json!(n);
        row["training_labels"] = classifier["training_labels"].clone();
        row["evaluation_labels"] = classifier["evaluation_labels"].clone();
        row["refit_seconds"] = json!(refit_seconds);
        println!("{row}");
        rows.push(row);
        write_features(
            args,
            pipeline,
            (train, &train_bags),
            (test, &test_bags),
            n,
            &scored,
            &labels,
        )
        .await?;
    }
    let summary = json!({
        "experiment": "quality",
        "topics": args.topics,
        "theta_only": args.theta_only,
        "text_feature_buckets": scoring.text_features.buckets,
        "text_feature_scale": scoring.text_features.scale,
        "l2": scoring.classifier.l2,
        "standardize": scoring.classifier.standardize,
        "model_version": model["version"],
        "docs_seen": model["docs_seen"],
        "heldout_perplexity": model["evaluation"]["perplexity"],
        "labels": labels,
        "steps": rows,
        "stream_scoring": stream_scoring_rate(pipeline, &model, train, test).await?,
    });
    std::fs::write(
        args.out.join("quality.json"),
        serde_json::to_vec_pretty(&summary)?,
    )?;
    println!("{}", json!({ "stream_scoring": summary["stream_scoring"] }));
    Ok(())
}

fn label_record(pipeline: &Embedded, post: &Post) -> anyhow::Result<OutRecord> {
    let event = LabelEvent {
        event_id: format!("bench-{}", post.id),
        doc_id: post.id.clone(),
        label: post.label.clone(),
        source: "human".into(),
        annotators: vec!["20newsgroups".into()],
        confidence: None,
        agreement: None,
        cost_usd: 0.0,
        model_version: None,
        classifier_version: None,
        text: Some(post.text.clone()),
        created_at_ms: now_ms(),
    };
    Ok(OutRecord::new(
        &pipeline.ctx.topics.labels,
        post.id.clone(),
        pipeline.ctx.codec.encode(&event)?,
    ))
}

/// Feature files of step `n`: the rows scoring fitted its weights on (the train slice of the
/// first `n` labels) and the test split, with the same theta (from the same model, over HTTP)
/// and the same hashed tf-idf (idf over the train and calibration slices, as scoring does).
async fn write_features(
    args: &NewsgroupsArgs,
    pipeline: &Embedded,
    (train, train_bags): (&[Post], &[Bag]),
    (test, test_bags): (&[Post], &[Bag]),
    n: usize,
    test_scored: &[Scored],
    labels: &[String],
) -> anyhow::Result<()> {
    let scoring = &pipeline.config.scoring;
    let mut labeled: Vec<usize> = (0..n).collect();
    labeled.sort_by(|&a, &b| train[a].id.cmp(&train[b].id));
    let slice = |i: usize| slice_of(&train[i].id, scoring);
    let weights_rows: Vec<usize> = labeled
        .iter()
        .copied()
        .filter(|&i| slice(i) == Slice::Train)
        .collect();
    let text = (!args.theta_only).then(|| {
        let fitting = labeled
            .iter()
            .filter(|&&i| slice(i) != Slice::Evaluation)
            .map(|&i| train_bags[i].features());
        HashedTfIdf::fit(fitting, scoring.text_features.buckets)
    });
    let sparse = |bag: &Bag| {
        text.as_ref()
            .map(|t| t.transform(bag.features(), scoring.text_features.scale))
            .unwrap_or_default()
    };
    let index = |l: &str| labels.iter().position(|x| x == l).unwrap_or(labels.len());
    let train_scored = score_posts(pipeline, weights_rows.iter().map(|&i| &train[i])).await?;
    let train_rows: Vec<SvmRow<'_>> = weights_rows
        .iter()
        .zip(&train_scored)
        .map(|(&i, s)| {
            (
                index(&train[i].label),
                s.theta.as_slice(),
                sparse(&train_bags[i]),
            )
        })
        .collect();
    write_svmlight(&args.out.join(format!("train_{n}.svm")), &train_rows)?;
    let test_rows: Vec<SvmRow<'_>> = test
        .iter()
        .zip(test_scored)
        .zip(test_bags)
        .map(|((p, s), b)| (index(&p.label), s.theta.as_slice(), sparse(b)))
        .collect();
    write_svmlight(&args.out.join(format!("test_{n}.svm")), &test_rows)?;
    // Raw texts of the same rows, for the plain tf-idf reference.
    let texts: Vec<Value> = weights_rows
        .iter()
        .map(|&i| &train[i])
        .map(|p| json!({"id": p.id, "text": p.text, "label": p.label}))
        .collect();
    write_json_lines(&args.out.join(format!("train_{n}.jsonl")), &texts)?;
    Ok(())
}

/// Stream-scoring throughput per core: the scoring service's own per-document work (topic
/// inference, word features, calibrated prediction) on one thread over the tokenized test
/// split, with the final model and a classifier refitted on every training label in-process.
async fn stream_scoring_rate(
    pipeline: &Embedded,
    model_manifest: &Value,
    train: &[Post],
    test: &[Post],
) -> anyhow::Result<Value> {
    use latentlabel_scoring::labels::{borrow_terms, ClassifierSlot, LabelBook};
    let config = pipeline.config.scoring.clone();
    let version = model_manifest["version"]
        .as_u64()
        .context("model version")?;
    let path = format!(
        "models/{}/{}/manifest.json",
        config.model_name,
        latentlabel_common::storage::version_dir(version)
    );
    let model = latentlabel_scoring::model::load(&pipeline.ctx.storage, &path).await?;
    let tokenizer = Tokenizer::new(config.tokenizer.clone())?;
    let (train, test) = (train.to_vec(), test.to_vec());
    let result = tokio::task::spawn_blocking(move || -> anyhow::Result<Value> {
        let mut book = LabelBook::default();
        for p in &train {
            book.add(
                &p.id,
                &p.label,
                "human",
                Bag::from_prepared(tokenizer.prepare(&p.text)),
                1.0,
            );
        }
        let fitted = book
            .refit(&model, &config)?
            .context("no classifier from the training labels")?;
        let state = ClassifierSlot::new(config.classifier.plateau_window).install(fitted);
        let bags = bags(&tokenizer, &test);
        let started = Instant::now();
        let mut labeled = 0usize;
        for bag in &bags {
            let terms = borrow_terms(&bag.terms);
            let context = borrow_terms(&bag.context);
            let s = latentlabel_scoring::scorer::score(
                &model,
                &state,
                &terms,
                &context,
                config.top_topics,
                config.top_words,
            );
            labeled += usize::from(s.label.is_some());
        }
        let seconds = started.elapsed().as_secs_f64();
        Ok(json!({
            "documents": bags.len(),
            "labeled": labeled,
            "seconds": seconds,
            "docs_per_s_per_core": bags.len() as f64 / seconds,
            "topics": model.inference.num_topics(),
        }))
    });
    result.await?
}
