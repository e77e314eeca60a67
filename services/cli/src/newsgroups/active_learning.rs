//! `bench newsgroups active-learning`: simulated annotators through the API, metered per
//! streamed document, test accuracy against human labels, auto-labels checked at the end.

use super::*;

pub(super) struct Plan {
    pub(super) strategy: String,
    pub(super) budget: usize,
    pub(super) labels_per_100_docs: usize,
    pub(super) eval_every: usize,
    pub(super) annotator_accuracy: f64,
    pub(super) gold: usize,
}

pub(super) async fn active_learning(
    args: &NewsgroupsArgs,
    pipeline: &Embedded,
    train: &[Post],
    test: &[Post],
    labels: &[String],
    plan: &Plan,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let gold = register_gold(pipeline, &http, train, plan.gold).await?;
    let truth: Arc<HashMap<String, String>> = Arc::new(
        train
            .iter()
            .map(|p| (p.id.clone(), p.label.clone()))
            .chain(gold)
            .collect(),
    );
    let submitted = Arc::new(AtomicUsize::new(0));
    let allowed = Arc::new(AtomicUsize::new(0));
    let label_list = Arc::new(labels.to_vec());
    for (i, a) in pipeline.config.labeling_queue.annotators.iter().enumerate() {
        let mut annotator = SimulatedAnnotator::new(
            &pipeline.base_url,
            &a.token,
            plan.annotator_accuracy,
            truth.clone(),
        );
        annotator.think = Duration::ZERO;
        annotator.labels = label_list.clone();
        annotator.seed = args.seed * 1000 + i as u64;
        annotator.submitted = submitted.clone();
        annotator.allowed = allowed.clone();
        tokio::spawn(annotator.run(shutdown.child_token()));
    }

    let started = Instant::now();
    let admin = admin_token(pipeline)?;
    let mut curve = Vec::new();
    let mut next_eval = plan.eval_every;
    let step = 100usize;
    let mut streamed = 0;
    for (i, chunk) in train.chunks(step).enumerate() {
        send_posts(pipeline, chunk).await?;
        streamed += chunk.len();
        // The annotators answer in milliseconds, the pipeline routes a post in hundreds: let
        // the chunk reach the queue first, or every label of this step is chosen from the
        // leftovers of earlier steps (which, under uncertainty sampling, are by construction
        // the posts it passed over) and the newest classifier's scores are never used.
        wait_until_routed(pipeline, &http, &admin, streamed).await?;
        let want = ((i + 1) * plan.labels_per_100_docs).min(plan.budget);
        allowed.store(want, Ordering::Relaxed);
        // Let the annotators catch up; a queue that stays empty (everything auto-labeled or
        // not yet scored) must not stall the stream for long.
        let mut idle = Instant::now();
        let mut last = submitted.load(Ordering::Relaxed);
        while submitted.load(Ordering::Relaxed) < want && idle.elapsed() < Duration::from_secs(20) {
            pipeline.ensure_running()?;
            tokio::time::sleep(Duration::from_millis(25)).await;
            let now = submitted.load(Ordering::Relaxed);
            if now != last {
                (last, idle) = (now, Instant::now());
            }
        }
        let done = submitted.load(Ordering::Relaxed);
        if done >= next_eval.min(plan.budget) && next_eval <= plan.budget {
            let point = evaluate_now(pipeline, &http, test, labels, done).await?;
            eprintln!("{point}");
            curve.push(point);
            next_eval += plan.eval_every;
        }
    }
    eprintln!(
        "streamed {} posts, {} human labels in {:.0} s",
        train.len(),
        submitted.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
    let last_point = evaluate_now(
        pipeline,
        &http,
        test,
        labels,
        submitted.load(Ordering::Relaxed),
    )
    .await?;
    curve.push(last_point);
    // Let the tail of the stream be scored and routed before committing.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let queue = http
        .get(format!("{}/v1/admin/queue", pipeline.base_url))
        .bearer_auth(&admin)
        .send()
        .await?
        .json::<Value>()
        .await?;
    let manifest: Value = http
        .post(format!("{}/v1/admin/datasets/commit", pipeline.base_url))
        .bearer_auth(&admin)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let dataset = dataset_figures(pipeline, &manifest, &truth, train.len()).await?;
    let summary = json!({
        "experiment": "active_learning",
        "strategy": plan.strategy,
        "budget": plan.budget,
        "labels_per_100_docs": plan.labels_per_100_docs,
        "annotator_accuracy": plan.annotator_accuracy,
        "gold_items": plan.gold,
        "topics": args.topics,
        "theta_only": args.theta_only,
        "curve": curve,
        "dataset": dataset,
        "cost": manifest["cost"],
        "auto_label_threshold": queue["auto_label_threshold"],
        "threshold_choice": queue["threshold_choice"],
        "annotators": queue["annotators"],
        "queue_stats": queue["stats"],
        "seconds": started.elapsed().as_secs_f64(),
    });
    let path = args
        .out
        .join(format!("active_learning_{}.json", plan.strategy));
    std::fs::write(&path, serde_json::to_vec_pretty(&summary)?)?;
    println!(
        "{}",
        json!({"strategy": plan.strategy, "curve": summary["curve"], "dataset": dataset, "cost": summary["cost"]})
    );
    Ok(())
}

/// Waits until the queue has been offered `streamed` posts (counting from the start), or until
/// its count has stopped growing for a second: posts that ingest rejects or drops as
/// duplicates never arrive. Gives up after 20 s, like the annotator wait.
async fn wait_until_routed(
    pipeline: &Embedded,
    http: &reqwest::Client,
    admin: &str,
    streamed: usize,
) -> anyhow::Result<()> {
    let url = format!("{}/v1/admin/queue", pipeline.base_url);
    let started = Instant::now();
    let (mut last, mut since) = (u64::MAX, Instant::now());
    while started.elapsed() < Duration::from_secs(20) {
        pipeline.ensure_running()?;
        let queue: Value = http
            .get(&url)
            .bearer_auth(admin)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let offered = queue["stats"]["counters"]["offered"]
            .as_u64()
            .context("queue state without stats.counters.offered")?;
        if offered >= streamed as u64 {
            return Ok(());
        }
        if offered != last {
            (last, since) = (offered, Instant::now());
        } else if since.elapsed() >= Duration::from_secs(1) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

fn admin_token(pipeline: &Embedded) -> anyhow::Result<String> {
    pipeline
        .config
        .labeling_queue
        .admin_token
        .clone()
        .context("the benchmark's pipeline has an admin token")
}

/// Registers `count` training posts, spread over the stream, as gold items (under their own
/// ids) and returns their (gold id, label) pairs for the simulated annotators' answer key.
async fn register_gold(
    pipeline: &Embedded,
    http: &reqwest::Client,
    train: &[Post],
    count: usize,
) -> anyhow::Result<Vec<(String, String)>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let admin = admin_token(pipeline)?;
    let stride = (train.len() / count).max(1);
    let mut gold = Vec::new();
    for post in train.iter().step_by(stride).take(count) {
        let gold_id = format!("{}#gold", post.id);
        http.post(format!("{}/v1/admin/gold", pipeline.base_url))
            .bearer_auth(&admin)
            .json(&json!({"gold_id": gold_id, "text": post.text, "label": post.label}))
            .send()
            .await?
            .error_for_status()
            .with_context(|| format!("registering gold item {gold_id}"))?;
        gold.push((gold_id, post.label.clone()));
    }
    Ok(gold)
}

async fn evaluate_now(
    pipeline: &Embedded,
    http: &reqwest::Client,
    test: &[Post],
    labels: &[String],
    human_labels: usize,
) -> anyhow::Result<Value> {
    // "Accuracy after N labels" means after the classifier has learned from them: wait for
    // its label count to stop moving (scoring refits once the label stream is quiet).
    let url = format!("{}/v1/classifier", pipeline.base_url);
    let mut c = get_json(http, &url).await?;
    let mut unchanged = 0;
    while unchanged < 3 {
        pipeline.ensure_running()?;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let next = get_json(http, &url).await?;
        unchanged = if classifier_labels(&next) == classifier_labels(&c)
            && next["version"] == c["version"]
        {
            unchanged + 1
        } else {
            0
        };
        c = next;
    }
    let scored = score_posts(pipeline, test).await?;
    let mut point = test_figures(&scored, test, labels);
    point["human_labels"] = json!(human_labels);
    point["classifier_labels"] = json!(classifier_labels(&c));
    Ok(point)
}

/// Auto-label precision and coverage against the true labels, human label accuracy, and
/// the cost per label by source, from the committed dataset version.
async fn dataset_figures(
    pipeline: &Embedded,
    manifest: &Value,
    truth: &HashMap<String, String>,
    streamed: usize,
) -> anyhow::Result<Value> {
    use latentlabel_labeling_queue::dataset;
    let name = manifest["name"].as_str().context("manifest name")?;
    let version = manifest["version"].as_u64().context("manifest version")?;
    let m = dataset::manifest(&pipeline.ctx.storage, name, version).await?;
    let rows = dataset::read_rows(&pipeline.ctx.storage, &m).await?;
    let mut by_source: HashMap<String, (usize, usize)> = HashMap::new();
    // Auto-labels by the label the model gave: one over-confident class can decide the
    // overall precision, so the bench reports where the wrong ones went.
    let mut auto_by_label: HashMap<String, (usize, usize)> = HashMap::new();
    for r in &rows {
        let right = truth.get(&r.doc_id) == Some(&r.label);
        let entry = by_source.entry(r.source.clone()).or_default();
        entry.0 += 1;
        entry.1 += usize::from(right);
        if r.source == "model" {
            let entry = auto_by_label.entry(r.label.clone()).or_default();
            entry.0 += 1;
            entry.1 += usize::from(right);
        }
    }
    let auto_labels_by_label: serde_json::Map<String, Value> = auto_by_label
        .iter()
        .map(|(label, (n, right))| (label.clone(), json!({"rows": n, "correct": right})))
        .collect();
    let sources: serde_json::Map<String, Value> = by_source
        .iter()
        .map(|(s, (n, right))| {
            (
                s.clone(),
                json!({"rows": n, "correct": right, "accuracy": *right as f64 / *n as f64}),
            )
        })
        .collect();
    let (auto, auto_right) = by_source.get("model").copied().unwrap_or((0, 0));
    Ok(json!({
        "version": version,
        "rows": rows.len(),
        "by_source": sources,
        "auto_label_precision": if auto > 0 { auto_right as f64 / auto as f64 } else { f64::NAN },
        "auto_label_coverage": auto as f64 / streamed as f64,
        "auto_labels_by_label": auto_labels_by_label,
        "streamed": streamed,
    }))
}
