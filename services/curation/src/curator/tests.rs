//! Behaviour of the whole state machine, driven with explicit timestamps.

use crate::config::{ConsensusMethod, CurationConfig, Diversity, Rate};
use crate::error::CurationError;
use crate::item::{GoldItem, ScoredItem, TaskKind};
use crate::records::{Action, ApplyOutcome, DropReason, LabelSource, Routing, TaskStatus};
use crate::threshold::ValidationPair;
use crate::Curator;

const LABELS: [&str; 3] = ["a", "b", "c"];

fn config() -> CurationConfig {
    let mut cfg = CurationConfig {
        labels: LABELS.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    // Most tests want plain queues: no gold, no audits, no topic caps.
    cfg.queue.gold_rate = 0.0;
    cfg.routing.audit_rate = 0.0;
    cfg.queue.max_topic_share = 1.0;
    cfg
}

fn curator(cfg: CurationConfig) -> Curator {
    Curator::new(cfg).expect("valid config")
}

/// An uncertain item: margin sampling ranks it by `1 - margin`.
fn item(doc: &str, margin: f64, topic: u32) -> ScoredItem {
    ScoredItem {
        doc_id: doc.into(),
        text: format!("text of {doc}"),
        label: Some("a".into()),
        confidence: 0.5,
        margin,
        entropy: 0.5,
        top_topic: Some(topic),
        topics: vec![],
        model_version: "m1".into(),
        classifier_version: "c1".into(),
    }
}

fn confident(doc: &str) -> ScoredItem {
    ScoredItem {
        confidence: 0.995,
        margin: 0.99,
        ..item(doc, 0.99, 0)
    }
}

fn queued(r: Routing) -> String {
    match r {
        Routing::Queued { task_id, .. } => task_id,
        other => panic!("expected Queued, got {other:?}"),
    }
}

fn lease_doc(c: &mut Curator, who: &str, now: u64) -> String {
    c.lease(who, now).unwrap().expect("a task").doc_id
}

#[test]
fn leases_most_uncertain_first() {
    let mut c = curator(config());
    for (doc, margin) in [("mid", 0.5), ("sure", 0.9), ("unsure", 0.05)] {
        queued(c.offer(item(doc, margin, 1), 0).unwrap());
    }
    let mut cfg = config();
    cfg.queue.max_active_leases_per_annotator = 10;
    let mut c = c.with_config(cfg).unwrap();
    let order: Vec<String> = (0..3).map(|_| lease_doc(&mut c, "ann", 1)).collect();
    assert_eq!(order, ["unsure", "mid", "sure"]);
}

#[test]
fn full_queue_evicts_least_informative_and_drops_less_informative_newcomers() {
    let mut cfg = config();
    cfg.queue.capacity = 2;
    let mut c = curator(cfg);
    queued(c.offer(item("x", 0.5, 1), 0).unwrap());
    queued(c.offer(item("y", 0.2, 2), 0).unwrap());
    // More informative than x: x goes.
    match c.offer(item("z", 0.1, 3), 0).unwrap() {
        Routing::Queued { evicted, .. } => {
            assert_eq!(evicted.len(), 1);
            assert_eq!(evicted[0].doc_id, "x");
        }
        other => panic!("{other:?}"),
    }
    // Less informative than everything: the newcomer is dropped.
    assert_eq!(
        c.offer(item("w", 0.9, 4), 0).unwrap(),
        Routing::Dropped {
            reason: DropReason::QueueFull
        }
    );
    let s = c.stats();
    assert_eq!((s.open_routine, s.counters.evicted), (2, 1));
    assert_eq!(s.counters.dropped_queue_full, 1);
}

#[test]
fn leased_tasks_are_not_evicted() {
    let mut cfg = config();
    cfg.queue.capacity = 1;
    let mut c = curator(cfg);
    queued(c.offer(item("x", 0.9, 1), 0).unwrap());
    lease_doc(&mut c, "ann", 0);
    assert_eq!(
        c.offer(item("y", 0.0, 2), 0).unwrap(),
        Routing::Dropped {
            reason: DropReason::QueueFull
        }
    );
}

#[test]
fn one_topic_cannot_flood_the_queue_or_the_leases() {
    let mut cfg = config();
    cfg.queue.capacity = 8;
    cfg.queue.max_topic_share = 0.5; // at most 4 of 8 per topic
    cfg.queue.max_active_leases_per_annotator = 100;
    cfg.queue.diversity = Diversity::RoundRobin;
    let mut c = curator(cfg);
    // Topic 1 is far more uncertain than topic 2 and 3 and arrives in bulk.
    for i in 0..10 {
        let _ = c
            .offer(item(&format!("t1-{i}"), 0.01 * i as f64, 1), 0)
            .unwrap();
    }
    assert_eq!(c.stats().largest_topic_bucket, 4);
    assert!(c.stats().counters.dropped_topic_full >= 6);
    for i in 0..2 {
        queued(c.offer(item(&format!("t2-{i}"), 0.8, 2), 0).unwrap());
        queued(c.offer(item(&format!("t3-{i}"), 0.9, 3), 0).unwrap());
    }
    // Round robin: the first three leases cover three topics although topic 1 ranks higher.
    let first: Vec<String> = (0..3).map(|_| lease_doc(&mut c, "ann", 1)).collect();
    let topics: std::collections::BTreeSet<&str> = first.iter().map(|d| &d[..2]).collect();
    assert_eq!(topics.len(), 3, "{first:?}");
    // Within topic 1, the most informative came first.
    assert!(first.contains(&"t1-0".to_string()));
}

#[test]
fn diversity_none_is_strict_priority() {
    let mut cfg = config();
    cfg.queue.diversity = Diversity::None;
    cfg.queue.max_active_leases_per_annotator = 10;
    let mut c = curator(cfg);
    queued(c.offer(item("t1-a", 0.1, 1), 0).unwrap());
    queued(c.offer(item("t1-b", 0.2, 1), 0).unwrap());
    queued(c.offer(item("t2-a", 0.9, 2), 0).unwrap());
    assert_eq!(lease_doc(&mut c, "ann", 0), "t1-a");
    assert_eq!(lease_doc(&mut c, "ann", 0), "t1-b");
}

#[test]
fn fresher_classifier_scores_are_asked_first_unless_disabled() {
    for fresh_first in [true, false] {
        let mut cfg = config();
        cfg.queue.freshness = if fresh_first { 1.0 } else { 0.0 };
        cfg.queue.max_active_leases_per_annotator = 10;
        let mut c = curator(cfg);
        // Scored before any classifier existed: looks maximally uncertain.
        let mut stale = item("stale", 0.0, 1);
        stale.classifier_version = String::new();
        // Scored by classifier 3: fairly sure, yet its uncertainty is the current one.
        let mut fresh = item("fresh", 0.6, 2);
        fresh.classifier_version = "3".into();
        queued(c.offer(stale, 0).unwrap());
        queued(c.offer(fresh, 0).unwrap());
        let first = lease_doc(&mut c, "ann", 0);
        assert_eq!(first, if fresh_first { "fresh" } else { "stale" });
    }
}

#[test]
fn expired_lease_returns_task_to_queue() {
    let mut cfg = config();
    cfg.queue.lease_ttl_ms = 1_000;
    let mut c = curator(cfg);
    let task_id = queued(c.offer(item("d", 0.1, 1), 0).unwrap());
    let leased = c.lease("alice", 0).unwrap().unwrap();
    assert_eq!(leased.expires_at_ms, 1_000);
    assert_eq!(c.lease("bob", 999).unwrap(), None, "still leased by alice");
    // Extending pushes expiry out from the time of the call.
    assert_eq!(
        c.extend(&task_id, "alice", 900).unwrap().expires_at_ms,
        1_900
    );
    assert_eq!(c.lease("bob", 1_899).unwrap(), None);
    let bob = c
        .lease("bob", 1_900)
        .unwrap()
        .expect("expired lease freed the task");
    assert_eq!(bob.task_id, task_id);
    assert_eq!(
        c.submit(&task_id, "alice", "a", 2_000),
        Err(CurationError::NotLeasedByCaller {
            task_id: task_id.clone(),
            annotator: "alice".into()
        })
    );
    // Bob lets his lease run out too: submitting late is refused as expired.
    assert!(matches!(
        c.submit(&task_id, "bob", "a", 10_000),
        Err(CurationError::LeaseExpired { .. })
    ));
    assert_eq!(c.annotator_stats("alice").unwrap().leases_expired, 1);
    assert_eq!(c.stats().counters.leases_expired, 2);
}

#[test]
fn release_gives_the_task_back() {
    let mut c = curator(config());
    let task_id = queued(c.offer(item("d", 0.1, 1), 0).unwrap());
    lease_doc(&mut c, "alice", 0);
    assert!(c.release(&task_id, "alice", 1).unwrap());
    assert!(!c.release(&task_id, "alice", 2).unwrap(), "idempotent");
    assert_eq!(lease_doc(&mut c, "bob", 3), "d");
}

#[test]
fn nobody_reads_or_writes_another_annotators_lease() {
    let mut c = curator(config());
    let task_id = queued(c.offer(item("d", 0.1, 1), 0).unwrap());
    lease_doc(&mut c, "alice", 0);
    let denied = CurationError::NotLeasedByCaller {
        task_id: task_id.clone(),
        annotator: "mallory".into(),
    };
    assert_eq!(c.leased_task(&task_id, "mallory", 1), Err(denied.clone()));
    assert_eq!(c.submit(&task_id, "mallory", "b", 1), Err(denied.clone()));
    assert_eq!(c.skip(&task_id, "mallory", 1), Err(denied.clone()));
    assert_eq!(c.extend(&task_id, "mallory", 1), Err(denied));
    assert!(!c.release(&task_id, "mallory", 1).unwrap());
    assert_eq!(
        c.leased_task(&task_id, "alice", 1).unwrap().text,
        "text of d"
    );
    assert_eq!(
        c.submit("nope", "alice", "a", 1),
        Err(CurationError::NotFound {
            task_id: "nope".into()
        })
    );
    assert!(matches!(
        c.submit(&task_id, "alice", "zzz", 1),
        Err(CurationError::UnknownLabel { .. })
    ));
}

#[test]
fn submit_is_idempotent_and_a_different_label_conflicts() {
    let mut c = curator(config());
    let task_id = queued(c.offer(item("d", 0.1, 1), 0).unwrap());
    lease_doc(&mut c, "alice", 0);
    let first = c.submit(&task_id, "alice", "b", 10).unwrap();
    assert!(!first.duplicate);
    assert!(matches!(first.status, TaskStatus::Finalized { .. }));
    let again = c.submit(&task_id, "alice", "b", 99).unwrap();
    assert!(again.duplicate);
    assert_eq!(again.status, first.status);
    assert_eq!(again.event, first.event);
    assert!(matches!(
        c.submit(&task_id, "alice", "c", 100),
        Err(CurationError::Conflict { .. })
    ));
    assert_eq!(c.annotator_stats("alice").unwrap().labels, 1);
    assert_eq!(c.cost_summary().human_labels, 1);
    assert_eq!(c.drain_completed().len(), 1);
}

#[test]
fn overlap_three_reaches_majority_and_never_repeats_an_item() {
    let mut cfg = config();
    cfg.queue.overlap = 3;
    let mut c = curator(cfg);
    let task_id = queued(c.offer(item("d", 0.1, 1), 0).unwrap());
    // Three annotators can hold it at once; a fourth cannot.
    for who in ["x", "y", "z"] {
        assert_eq!(lease_doc(&mut c, who, 0), "d");
    }
    assert_eq!(c.lease("w", 0).unwrap(), None);
    let s1 = c.submit(&task_id, "x", "b", 1).unwrap();
    assert_eq!(s1.status, TaskStatus::Pending { have: 1, need: 3 });
    // x is done with it: it is never served to x again.
    assert_eq!(c.lease("x", 2).unwrap(), None);
    c.submit(&task_id, "y", "b", 3).unwrap();
    let last = c.submit(&task_id, "z", "a", 4).unwrap();
    let TaskStatus::Finalized { label } = last.status else {
        panic!("{:?}", last.status)
    };
    assert_eq!(label.label, "b");
    assert_eq!(label.source, LabelSource::Consensus);
    assert!((label.agreement.unwrap() - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(label.annotators, ["x", "y", "z"]);
    assert_eq!(
        c.annotator_stats("z").unwrap().consensus_agreement(),
        Some(0.0)
    );
    assert_eq!(
        c.annotator_stats("x").unwrap().consensus_agreement(),
        Some(1.0)
    );
    assert_eq!(c.agreement().raters, Some(3));
}

#[test]
fn a_tie_asks_one_more_annotator() {
    let mut cfg = config();
    cfg.queue.overlap = 2;
    let mut c = curator(cfg);
    let task_id = queued(c.offer(item("d", 0.1, 1), 0).unwrap());
    lease_doc(&mut c, "x", 0);
    lease_doc(&mut c, "y", 0);
    c.submit(&task_id, "x", "a", 1).unwrap();
    let tie = c.submit(&task_id, "y", "b", 2).unwrap();
    assert_eq!(tie.status, TaskStatus::Pending { have: 2, need: 3 });
    lease_doc(&mut c, "z", 3);
    let done = c.submit(&task_id, "z", "b", 4).unwrap();
    assert!(matches!(done.status, TaskStatus::Finalized { ref label } if label.label == "b"));
    assert_eq!(c.stats().counters.tie_escalations, 1);
}

#[test]
fn dawid_skene_consensus_outvotes_a_consistently_wrong_pair() {
    // Two annotators ("bad1", "bad2") always answer "b" when the truth is "a"; gold items
    // reveal it. With overlap 3 and one good annotator, majority says "b"; Dawid–Skene, anchored
    // by gold, trusts the good one.
    let mut cfg = config();
    cfg.queue.overlap = 3;
    cfg.queue.consensus = ConsensusMethod::DawidSkene;
    cfg.queue.dawid_skene_min_items = 0;
    let mut c = curator(cfg);
    for i in 0..30 {
        let truth = LABELS[i % 3];
        let g = c
            .add_gold(GoldItem {
                gold_id: format!("g{i}"),
                text: String::new(),
                label: truth.into(),
            })
            .unwrap();
        for who in ["good", "bad1", "bad2"] {
            let answer = if who == "good" {
                truth
            } else if truth == "a" {
                "b"
            } else {
                truth
            };
            let event = crate::records::LabelEvent {
                task_id: g.clone(),
                doc_id: format!("g{i}"),
                kind: TaskKind::Gold,
                annotator: who.into(),
                action: Action::Label {
                    label: answer.into(),
                },
                leased_at_ms: 0,
                at_ms: 0,
                billable_ms: 0,
                cost_usd: 0.0,
            };
            c.apply_label_event(&event).unwrap();
        }
    }
    assert_eq!(
        c.annotator_stats("good").unwrap().gold_accuracy(),
        Some(1.0)
    );
    let task_id = queued(c.offer(item("d", 0.1, 1), 0).unwrap());
    for who in ["good", "bad1", "bad2"] {
        lease_doc(&mut c, who, 0);
    }
    c.submit(&task_id, "good", "a", 1).unwrap();
    c.submit(&task_id, "bad1", "b", 1).unwrap();
    let out = c.submit(&task_id, "bad2", "b", 1).unwrap();
    let TaskStatus::Finalized { label } = out.status else {
        panic!("{:?}", out.status)
    };
    assert_eq!(label.label, "a", "{label:?}");
}

#[test]
fn gold_items_measure_annotator_accuracy() {
    let mut cfg = config();
    cfg.queue.gold_rate = 0.5;
    let mut c = curator(cfg);
    for (id, label) in [("g1", "a"), ("g2", "b")] {
        c.add_gold(GoldItem {
            gold_id: id.into(),
            text: "known".into(),
            label: label.into(),
        })
        .unwrap();
    }
    assert!(matches!(
        c.add_gold(GoldItem {
            gold_id: "g1".into(),
            text: "known".into(),
            label: "c".into()
        }),
        Err(CurationError::Conflict { .. })
    ));
    for i in 0..4 {
        queued(c.offer(item(&format!("d{i}"), 0.1, 1), 0).unwrap());
    }
    // Leases alternate gold / routine at rate 0.5, starting with gold.
    let mut golds = 0;
    for t in 0..4u64 {
        let task = c.lease("ann", t * 10).unwrap().unwrap();
        let kind = c.task_kind(&task.task_id).unwrap();
        let answer = if task.doc_id == "g1" { "a" } else { "c" };
        c.submit(&task.task_id, "ann", answer, t * 10 + 5).unwrap();
        golds += usize::from(kind == TaskKind::Gold);
    }
    assert_eq!(golds, 2);
    let stats = c.annotator_stats("ann").unwrap();
    assert_eq!((stats.gold_answered, stats.gold_correct), (2, 1));
    assert_eq!(stats.gold_accuracy(), Some(0.5));
    assert_eq!(stats.labels, 2);
    // Gold answers are not dataset labels.
    assert_eq!(c.drain_completed().len(), 2);
}

/// Once an annotator has answered enough gold items, the validation pairs their labels make
/// carry an upper bound on their accuracy (for the noise-corrected threshold); before, none.
#[test]
fn validation_pairs_carry_the_annotators_gold_accuracy() {
    let mut cfg = config();
    cfg.queue.gold_rate = 0.5;
    cfg.routing.min_gold_answers = 4;
    let mut c = curator(cfg);
    for (i, label) in ["a", "b", "c", "a"].iter().enumerate() {
        c.add_gold(GoldItem {
            gold_id: format!("g{i}"),
            text: "known".into(),
            label: label.to_string(),
        })
        .unwrap();
    }
    for i in 0..6 {
        queued(c.offer(item(&format!("d{i}"), 0.1, 1), 0).unwrap());
    }
    // Gold and routine alternate until the four gold items are used up; the annotator gets
    // gold g3 wrong ("b" instead of "a") and labels every routine item "a".
    for t in 0..10u64 {
        let task = c.lease("ann", t * 10).unwrap().unwrap();
        let answer = if task.doc_id == "g3" {
            "b".to_string()
        } else if let Some(i) = task.doc_id.strip_prefix('g') {
            ["a", "b", "c", "a"][i.parse::<usize>().unwrap()].to_string()
        } else {
            "a".to_string()
        };
        c.submit(&task.task_id, "ann", &answer, t * 10 + 5).unwrap();
    }
    let stats = c.annotator_stats("ann").unwrap();
    assert_eq!((stats.gold_answered, stats.gold_correct), (4, 3));
    let pairs = c.validation_pairs();
    assert_eq!(pairs.len(), 6);
    // Routine labels 1-3 came before the 4th gold answer, 4-6 after.
    assert!(
        pairs[..3].iter().all(|p| p.label_accuracy.is_none()),
        "{pairs:?}"
    );
    for p in &pairs[3..] {
        let q = p.label_accuracy.expect("accuracy after 4 gold answers");
        assert!(q > 0.75 && q < 1.0, "upper bound of 3/4: {q}");
    }
}

/// Re-scoring under a newer classifier re-ranks the untouched tasks (the lease order follows
/// the new scores) and leaves leased ones alone.
#[test]
fn rescoring_reranks_untouched_tasks_under_the_new_classifier() {
    let mut c = curator(config());
    // Under classifier "1": d0 looks most uncertain, d2 least.
    for (i, margin) in [0.1, 0.5, 0.9].iter().enumerate() {
        let scored = ScoredItem {
            classifier_version: "1".into(),
            ..item(&format!("d{i}"), *margin, 1)
        };
        queued(c.offer(scored, 0).unwrap());
    }
    let held = c.lease("other", 0).unwrap().unwrap();
    assert_eq!(held.doc_id, "d0");
    let stale = c.stale_tasks("2", 10);
    let ids: Vec<&str> = stale.iter().map(|t| t.doc_id.as_str()).collect();
    assert_eq!(ids, ["d1", "d2"], "leased d0 is not stale-listed");
    assert_eq!(stale[0].text, "text of d1");
    // Classifier "2" finds d2 the most uncertain.
    for (doc, margin) in [("d0", 0.0), ("d1", 0.8), ("d2", 0.05)] {
        let fresh = ScoredItem {
            classifier_version: "2".into(),
            label: Some("b".into()),
            ..item(doc, margin, 2)
        };
        assert_eq!(c.rescore(&fresh).unwrap(), doc != "d0", "{doc}");
    }
    assert!(c.stale_tasks("2", 10).is_empty());
    assert_eq!(lease_doc(&mut c, "ann", 1), "d2");
    assert_eq!(lease_doc(&mut c, "ann2", 2), "d1");
    assert_eq!(c.stats().counters.rescored, 2);
    // Unknown documents and labels outside the label set change nothing.
    assert!(!c.rescore(&item("nope", 0.1, 1)).unwrap());
    let bad = ScoredItem {
        label: Some("zzz".into()),
        ..item("d1", 0.1, 1)
    };
    assert!(c.rescore(&bad).is_err());
}

/// A sampled document just below the auto-label threshold is asked before uncertain ones, so
/// the threshold gets validation pairs where it could move; with the rate at 0 it waits its
/// turn like any confident document.
#[test]
fn validation_probes_below_the_threshold_go_first() {
    for (rate, first) in [(1.0, "confident"), (0.0, "uncertain")] {
        let mut cfg = config();
        cfg.routing.validation_rate = rate;
        cfg.routing.validation_max_share = 1.0;
        let mut c = curator(cfg);
        queued(c.offer(item("uncertain", 0.05, 1), 0).unwrap());
        let probe = ScoredItem {
            confidence: 0.95,
            ..item("confident", 0.9, 1)
        };
        queued(c.offer(probe, 0).unwrap());
        // Above the threshold it is auto-labeled, never a probe.
        let above = ScoredItem {
            confidence: 0.995,
            ..item("sure", 0.99, 1)
        };
        assert!(matches!(
            c.offer(above, 0).unwrap(),
            Routing::AutoLabeled { .. }
        ));
        assert_eq!(lease_doc(&mut c, "ann", 1), first, "rate {rate}");
    }
}

/// Probes never take more than `validation_max_share` of the routine human labels: none before
/// any label exists, then one for each further 1/share labels.
#[test]
fn validation_probes_keep_to_their_share_of_the_human_work() {
    let mut cfg = config();
    cfg.routing.validation_rate = 1.0;
    cfg.routing.validation_max_share = 0.25;
    let mut c = curator(cfg);
    let band = |doc: &str| ScoredItem {
        confidence: 0.95,
        ..item(doc, 0.9, 1)
    };
    // No routine label yet: a band document waits its turn like any confident one.
    queued(c.offer(band("early"), 0).unwrap());
    queued(c.offer(item("uncertain", 0.05, 1), 0).unwrap());
    assert_eq!(lease_doc(&mut c, "ann", 1), "uncertain");
    assert_eq!(c.stats().counters.validation_probes_queued, 0);
    // Four routine labels allow one probe (1 < 0.25 * 4), and it goes first; the second
    // band document then waits again (1 < 0.25 * 4 is false once one is queued).
    for i in 0..3 {
        queued(c.offer(item(&format!("u{i}"), 0.1, 1), 0).unwrap());
    }
    let mut now = 2;
    for who in ["ann", "ann2", "ann3", "ann4"] {
        let task = c.lease(who, now).unwrap().unwrap();
        c.submit(&task.task_id, who, "a", now + 1).unwrap();
        now += 2;
    }
    assert_eq!(c.stats().counters.finalized_routine, 4);
    queued(c.offer(band("probe"), now).unwrap());
    queued(c.offer(band("late"), now).unwrap());
    queued(c.offer(item("fresh", 0.05, 1), now).unwrap());
    assert_eq!(lease_doc(&mut c, "ann5", now + 1), "probe");
    assert_eq!(lease_doc(&mut c, "ann6", now + 2), "fresh");
    assert_eq!(c.stats().counters.validation_probes_queued, 1);
}

/// Probing stops once the validation window holds `validation_target` pairs in the band.
#[test]
fn validation_probes_stop_when_the_band_has_evidence() {
    let mut cfg = config();
    cfg.routing.validation_rate = 1.0;
    cfg.routing.validation_max_share = 1.0;
    cfg.routing.validation_target = 2;
    let mut c = curator(cfg);
    let band_pair = ValidationPair {
        confidence: 0.95,
        correct: true,
        label_accuracy: None,
        machine_class: Some(0),
    };
    // Two pairs in the band arrive through finalized human labels of probed documents.
    for i in 0..2 {
        let probe = ScoredItem {
            confidence: 0.95,
            ..item(&format!("p{i}"), 0.9, 1)
        };
        queued(c.offer(probe, 0).unwrap());
        let task = c.lease("ann", 1).unwrap().unwrap();
        assert_eq!(task.doc_id, format!("p{i}"));
        c.submit(&task.task_id, "ann", "a", 2).unwrap();
    }
    assert_eq!(c.validation_pairs(), vec![band_pair; 2]);
    let counters = c.stats().counters;
    assert_eq!(
        (
            counters.validation_probes_queued,
            counters.finalized_validation_probes
        ),
        (2, 2)
    );
    c.recalibrate();
    queued(c.offer(item("uncertain", 0.05, 1), 0).unwrap());
    let late = ScoredItem {
        confidence: 0.95,
        ..item("late", 0.9, 1)
    };
    queued(c.offer(late, 0).unwrap());
    assert_eq!(lease_doc(&mut c, "ann", 3), "uncertain");
    // Neither later document was a probe, and the uncertain one's label is not counted as one.
    let task = c.lease("ann2", 4).unwrap().unwrap();
    c.submit(&task.task_id, "ann2", "a", 5).unwrap();
    let counters = c.stats().counters;
    assert_eq!(
        (
            counters.validation_probes_queued,
            counters.finalized_validation_probes
        ),
        (2, 2)
    );
}

#[test]
fn cost_per_label_per_label_and_per_hour() {
    let mut cfg = config();
    cfg.cost.default_rate = Rate::Label { usd: 0.10 };
    cfg.cost
        .annotator_rates
        .insert("hourly".into(), Rate::Hour { usd: 36.0 });
    cfg.cost.max_billable_ms = 120_000;
    cfg.cost.model_cost_per_label_usd = 0.001;
    let mut c = curator(cfg);
    let t1 = queued(c.offer(item("d1", 0.1, 1), 0).unwrap());
    let t2 = queued(c.offer(item("d2", 0.2, 2), 0).unwrap());
    let t3 = queued(c.offer(item("d3", 0.3, 3), 0).unwrap());
    c.offer(confident("auto"), 0).unwrap();
    lease_doc(&mut c, "piece", 0);
    c.submit(&t1, "piece", "a", 1_000).unwrap();
    // 60 s at 36 USD/h = 0.60 USD.
    lease_doc(&mut c, "hourly", 10_000);
    let out = c.submit(&t2, "hourly", "a", 70_000).unwrap();
    assert!((out.event.cost_usd - 0.60).abs() < 1e-9);
    // An hour-long lease is capped at 120 s = 1.20 USD (lease extended to stay valid).
    lease_doc(&mut c, "hourly", 100_000);
    for k in 1..=14 {
        c.extend(&t3, "hourly", 100_000 + k * 250_000).unwrap();
    }
    let capped = c.submit(&t3, "hourly", "a", 100_000 + 3_600_000).unwrap();
    assert!((capped.event.cost_usd - 1.20).abs() < 1e-9);
    assert_eq!(capped.event.billable_ms, 120_000);

    let s = c.cost_summary();
    assert!((s.human_spend_usd - 1.90).abs() < 1e-9);
    assert_eq!(s.human_labels, 3);
    assert!((s.cost_per_label_human_usd.unwrap() - 1.90 / 3.0).abs() < 1e-9);
    assert!((s.cost_per_label_model_usd.unwrap() - 0.001).abs() < 1e-12);
    assert!((s.cost_per_label_all_usd.unwrap() - 1.901 / 4.0).abs() < 1e-9);
    let hourly = c.annotator_stats("hourly").unwrap();
    assert_eq!(hourly.time_spent_ms, 180_000);
    assert!((hourly.cost_usd - 1.80).abs() < 1e-9);
}

#[test]
fn budget_cap_stops_routine_work_but_not_audits_or_gold() {
    let mut cfg = config();
    cfg.cost.default_rate = Rate::Label { usd: 1.0 };
    cfg.cost.model_cost_per_label_usd = 0.0;
    cfg.cost.budget_usd = Some(1.0);
    cfg.routing.audit_rate = 1.0;
    cfg.queue.max_active_leases_per_annotator = 10;
    let mut c = curator(cfg);
    let t1 = queued(c.offer(item("d1", 0.1, 1), 0).unwrap());
    queued(c.offer(item("d2", 0.2, 1), 0).unwrap());
    lease_doc(&mut c, "ann", 0);
    c.submit(&t1, "ann", "a", 1).unwrap();
    assert_eq!(c.routing_stopped(), Some(DropReason::BudgetExhausted));
    // Routine: no new tasks, no leases of queued ones.
    assert_eq!(
        c.offer(item("d3", 0.0, 1), 2).unwrap(),
        Routing::Dropped {
            reason: DropReason::BudgetExhausted
        }
    );
    assert!(matches!(
        c.lease("ann", 3),
        Err(CurationError::BudgetExhausted { .. })
    ));
    // Audits still flow.
    let Routing::Audit { task_id, .. } = c.offer(confident("sure"), 4).unwrap() else {
        panic!("expected an audit")
    };
    let audit = c.lease("ann", 5).unwrap().unwrap();
    assert_eq!(audit.task_id, task_id);
    // Gold too.
    c.add_gold(GoldItem {
        gold_id: "g".into(),
        text: String::new(),
        label: "a".into(),
    })
    .unwrap();
    let mut cfg = c.config().clone();
    cfg.queue.gold_rate = 1.0;
    let mut c = c.with_config(cfg).unwrap();
    let gold = c.lease("other", 6).unwrap().unwrap();
    assert_eq!(c.task_kind(&gold.task_id), Some(TaskKind::Gold));
}

#[test]
fn plateau_stops_routine_and_resumes() {
    let mut c = curator(config());
    queued(c.offer(item("d1", 0.1, 1), 0).unwrap());
    c.set_plateaued(true);
    assert_eq!(c.lease("ann", 0).unwrap(), None);
    assert_eq!(
        c.offer(item("d2", 0.1, 1), 0).unwrap(),
        Routing::Dropped {
            reason: DropReason::Plateaued
        }
    );
    c.set_plateaued(false);
    assert_eq!(lease_doc(&mut c, "ann", 1), "d1");
}

#[test]
fn gain_per_dollar_combines_learning_curve_and_human_cost() {
    let mut cfg = config();
    cfg.cost.default_rate = Rate::Label { usd: 0.5 };
    cfg.cost.min_gain_per_usd = Some(0.001);
    let mut c = curator(cfg);
    // 0.02 per 100 labels at 0.5 USD each: 0.02 / 50 = 0.0004 per USD, below the minimum.
    c.set_learning_curve_gain(Some(0.02));
    let s = c.cost_summary();
    assert!((s.accuracy_gain_per_usd.unwrap() - 0.0004).abs() < 1e-12);
    assert_eq!(c.routing_stopped(), Some(DropReason::LowGainPerUsd));
    c.set_learning_curve_gain(Some(0.1));
    assert_eq!(c.routing_stopped(), None);
}

#[test]
fn audits_sample_auto_labels_and_measure_machine_precision() {
    let mut cfg = config();
    cfg.routing.audit_rate = 0.2;
    cfg.queue.max_active_leases_per_annotator = 1_000;
    let mut c = curator(cfg);
    let mut audits = Vec::new();
    for i in 0..500 {
        match c.offer(confident(&format!("doc-{i}")), 0).unwrap() {
            Routing::Audit { task_id, .. } => audits.push(task_id),
            Routing::AutoLabeled { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    // Stable hash sample: about 20%, and the same documents every time.
    assert!((70..=130).contains(&audits.len()), "{}", audits.len());
    assert_eq!(c.stats().counters.auto_labeled, 500);
    let n = audits.len();
    for (k, _) in audits.iter().enumerate() {
        let task = c.lease("auditor", 1).unwrap().unwrap();
        // The auditor disagrees with the model on every 4th.
        let answer = if k % 4 == 0 { "b" } else { "a" };
        let out = c.submit(&task.task_id, "auditor", answer, 2).unwrap();
        let TaskStatus::Finalized { label } = out.status else {
            panic!()
        };
        assert!(label.supersedes_model);
    }
    let precision = c.stats().audit_precision.unwrap();
    let expected = (n - n.div_ceil(4)) as f64 / n as f64;
    assert!((precision - expected).abs() < 1e-12);
    assert_eq!(c.validation_pairs().len(), n);
}

#[test]
fn calibration_adopts_the_threshold_that_reaches_target_precision() {
    let mut c = curator(config());
    assert_eq!(c.auto_label_threshold(), 0.99);
    // Precision is 1.0 at >= 0.8 and falls below 0.95 when the 0.7 band is included.
    let mut v = Vec::new();
    for _ in 0..60 {
        v.push(ValidationPair {
            confidence: 0.8,
            correct: true,
            label_accuracy: None,
            machine_class: None,
        });
        v.push(ValidationPair {
            confidence: 0.7,
            correct: false,
            label_accuracy: None,
            machine_class: None,
        });
    }
    let choice = c.calibrate_threshold(&v);
    assert_eq!(choice.threshold, 0.8);
    assert!(choice.precision.unwrap() >= 0.95);
    assert_eq!(c.auto_label_threshold(), 0.8);
    let routed = c
        .offer(
            ScoredItem {
                confidence: 0.85,
                ..item("d", 0.5, 1)
            },
            0,
        )
        .unwrap();
    assert!(matches!(routed, Routing::AutoLabeled { .. }));
}

#[test]
fn too_many_skips_drop_a_task() {
    let mut cfg = config();
    cfg.queue.max_skips_per_task = 2;
    let mut c = curator(cfg);
    let t = queued(c.offer(item("d", 0.1, 1), 0).unwrap());
    lease_doc(&mut c, "x", 0);
    let s = c.skip(&t, "x", 1).unwrap();
    assert_eq!(s.status, TaskStatus::Skipped { dropped: false });
    assert!(c.skip(&t, "x", 2).unwrap().duplicate);
    assert_eq!(c.lease("x", 3).unwrap(), None, "never served again to x");
    lease_doc(&mut c, "y", 4);
    assert_eq!(
        c.skip(&t, "y", 5).unwrap().status,
        TaskStatus::Skipped { dropped: true }
    );
    assert_eq!(c.stats().open_routine, 0);
    assert_eq!(c.annotator_stats("y").unwrap().skips, 1);
}

#[test]
fn redelivered_documents_change_nothing() {
    let mut c = curator(config());
    let t = queued(c.offer(item("d", 0.1, 1), 0).unwrap());
    assert_eq!(
        c.offer(item("d", 0.1, 1), 5).unwrap(),
        Routing::AlreadySeen { task_id: t }
    );
    assert_eq!(c.stats().open_routine, 1);
    assert!(matches!(
        c.offer(
            ScoredItem {
                confidence: f64::NAN,
                ..item("e", 0.1, 1)
            },
            0
        ),
        Err(CurationError::InvalidItem(_))
    ));
}

/// A busy little history: overlap 2, audits, gold, skips, one lease still open.
fn busy() -> (Curator, Vec<crate::records::LabelEvent>, Vec<ScoredItem>) {
    let mut cfg = config();
    cfg.queue.overlap = 2;
    cfg.routing.audit_rate = 0.5;
    cfg.queue.gold_rate = 0.25;
    cfg.cost.default_rate = Rate::Hour { usd: 30.0 };
    let mut c = curator(cfg);
    c.add_gold(GoldItem {
        gold_id: "g".into(),
        text: String::new(),
        label: "c".into(),
    })
    .unwrap();
    let mut docs = Vec::new();
    for i in 0..12 {
        let it = if i % 3 == 0 {
            confident(&format!("sure-{i}"))
        } else {
            item(&format!("doc-{i}"), 0.1 * (i % 5) as f64, i % 4)
        };
        docs.push(it.clone());
        c.offer(it, i as u64).unwrap();
    }
    let mut events = Vec::new();
    let mut now = 100;
    for round in 0..6 {
        for who in ["x", "y", "z"] {
            now += 1_000;
            let Some(task) = c.lease(who, now).unwrap() else {
                continue;
            };
            now += 7_000;
            let out = if (round + who.len()) % 5 == 4 {
                c.skip(&task.task_id, who, now).unwrap()
            } else {
                let label = LABELS[(round + task.doc_id.len()) % 3];
                c.submit(&task.task_id, who, label, now).unwrap()
            };
            events.push(out.event);
        }
    }
    c.lease("x", now).unwrap();
    (c, events, docs)
}

#[test]
fn snapshot_round_trips_exactly() {
    let (c, _, _) = busy();
    let json = serde_json::to_string(&c).unwrap();
    let restored: Curator = serde_json::from_str(&json).unwrap();
    // Byte-identical (floats included: serde_json's float_roundtrip), without dumping it all.
    assert!(
        serde_json::to_string(&restored).unwrap() == json,
        "snapshot changed on reload"
    );
    assert_eq!(restored.stats(), c.stats());
    assert_eq!(restored.cost_summary(), c.cost_summary());
    assert_eq!(restored.all_annotator_stats(), c.all_annotator_stats());
    // The rebuilt index behaves identically: same next lease for a newcomer.
    let (mut a, mut b) = (c.clone(), restored);
    assert_eq!(
        a.lease("new", 1_000_000).unwrap(),
        b.lease("new", 1_000_000).unwrap()
    );
}

#[test]
fn replay_rebuilds_the_same_labels_and_counts_nothing_twice() {
    let (live, events, docs) = busy();
    assert!(events.len() >= 10, "{}", events.len());
    let live_cost = live.cost_summary();

    // Rebuild from scratch: label events arrive before their documents (other topic), some
    // twice, then the documents, some twice.
    let mut rebuilt = curator(live.config().clone());
    rebuilt
        .add_gold(GoldItem {
            gold_id: "g".into(),
            text: String::new(),
            label: "c".into(),
        })
        .unwrap();
    for e in events.iter().chain(events.iter().take(5)) {
        rebuilt.apply_label_event(e).unwrap();
    }
    for (i, d) in docs.iter().chain(docs.iter().take(4)).enumerate() {
        rebuilt.offer(d.clone(), i as u64).unwrap();
    }
    for e in &events {
        assert_eq!(
            rebuilt.apply_label_event(e).unwrap(),
            ApplyOutcome::Duplicate
        );
    }
    let rc = rebuilt.cost_summary();
    assert!((rc.human_spend_usd - live_cost.human_spend_usd).abs() < 1e-9);
    assert_eq!(rc.human_labels, live_cost.human_labels);
    assert_eq!(rc.human_judgments, live_cost.human_judgments);
    assert_eq!(rc.model_labels, live_cost.model_labels);

    let key = |c: &mut Curator| {
        let mut v: Vec<(String, String)> = c
            .drain_completed()
            .into_iter()
            .map(|l| (l.label_id, l.label))
            .collect();
        v.sort();
        v
    };
    let mut live = live;
    assert_eq!(key(&mut rebuilt), key(&mut live));
    for who in ["x", "y", "z"] {
        let (a, b) = (
            live.annotator_stats(who).unwrap(),
            rebuilt.annotator_stats(who).unwrap(),
        );
        assert_eq!(
            (
                a.labels,
                a.skips,
                a.gold_answered,
                a.gold_correct,
                a.time_spent_ms
            ),
            (
                b.labels,
                b.skips,
                b.gold_answered,
                b.gold_correct,
                b.time_spent_ms
            )
        );
    }
}

#[test]
fn replaying_a_snapshot_plus_overlapping_log_is_idempotent() {
    let (live, events, docs) = busy();
    let snap = serde_json::to_vec(&live).unwrap();
    let mut restored: Curator = serde_json::from_slice(&snap).unwrap();
    // The service replays from offsets older than the snapshot: everything is a duplicate.
    for d in &docs {
        assert!(matches!(
            restored.offer(d.clone(), 0).unwrap(),
            Routing::AlreadySeen { .. }
        ));
    }
    for e in &events {
        assert_eq!(
            restored.apply_label_event(e).unwrap(),
            ApplyOutcome::Duplicate
        );
    }
    assert_eq!(restored.cost_summary(), live.cost_summary());
    assert_eq!(restored.stats().outbox, live.stats().outbox);
}

#[test]
fn lease_at_the_limit_resumes_the_held_task() {
    let mut c = curator(config());
    queued(c.offer(item("d1", 0.1, 1), 0).unwrap());
    queued(c.offer(item("d2", 0.2, 1), 0).unwrap());
    let first = c.lease("ann", 0).unwrap().unwrap();
    let again = c.lease("ann", 10).unwrap().unwrap();
    assert_eq!(first, again);
    assert_eq!(c.stats().counters.leases_granted, 1);
}

#[test]
fn outbox_acknowledgement_removes_only_what_was_published() {
    let mut c = curator(config());
    c.offer(confident("a1"), 0).unwrap();
    c.offer(confident("a2"), 0).unwrap();
    let seen: Vec<String> = c.completed_labels().map(|l| l.label_id.clone()).collect();
    assert_eq!(seen, ["a1/model", "a2/model"]);
    c.offer(confident("a3"), 0).unwrap();
    c.ack_completed(seen.len());
    let left: Vec<String> = c.completed_labels().map(|l| l.label_id.clone()).collect();
    assert_eq!(left, ["a3/model"]);
}

/// A label whose pairs disagree with humans far more often than promised, unlike the others',
/// is not auto-labeled at any confidence, and a later recalibration that clears it restores it.
#[test]
fn an_outlier_class_goes_to_humans_until_cleared() {
    let mut c = curator(config());
    let pairs = |class: u32, n: usize, wrong: usize| {
        (0..n).map(move |i| ValidationPair {
            confidence: 0.97,
            correct: i >= wrong,
            label_accuracy: None,
            machine_class: Some(class),
        })
    };
    // "a": 40 pairs, 2 wrong; "b": 20 pairs, 10 wrong.
    let v: Vec<ValidationPair> = pairs(0, 40, 2).chain(pairs(1, 20, 10)).collect();
    let choice = c.calibrate_threshold(&v);
    assert_eq!(choice.suspended.len(), 1, "{choice:?}");
    assert_eq!(choice.suspended[0].label, "b");
    let sure = |doc: &str, label: &str| ScoredItem {
        confidence: 0.999,
        label: Some(label.into()),
        ..item(doc, 0.99, 1)
    };
    assert!(matches!(
        c.offer(sure("x", "a"), 0).unwrap(),
        Routing::AutoLabeled { .. }
    ));
    queued(c.offer(sure("y", "b"), 0).unwrap());
    // Off by configuration, or cleared by new evidence: "b" is auto-labeled again.
    let even: Vec<ValidationPair> = pairs(0, 40, 2).chain(pairs(1, 20, 1)).collect();
    assert!(c.calibrate_threshold(&even).suspended.is_empty());
    assert!(matches!(
        c.offer(sure("z", "b"), 0).unwrap(),
        Routing::AutoLabeled { .. }
    ));
    let mut cfg = config();
    cfg.routing.suspend_outlier_classes = false;
    let mut off = curator(cfg);
    assert!(off.calibrate_threshold(&v).suspended.is_empty());
    assert!(matches!(
        off.offer(sure("y", "b"), 0).unwrap(),
        Routing::AutoLabeled { .. }
    ));
}

/// With `unjudged_class_auto_labels`, a label gets that many auto-labels while the outlier
/// test cannot judge it; its further confident documents go to humans until a calibration
/// with enough band pairs for it judges it (and does not suspend it). Other labels, and the
/// cap's absence (the default), are unaffected; the count survives a snapshot.
#[test]
fn an_unjudged_label_is_auto_labeled_only_up_to_its_cap() {
    let mut cfg = config();
    cfg.routing.unjudged_class_auto_labels = Some(2);
    let mut c = curator(cfg);
    let sure = |doc: &str, label: &str| ScoredItem {
        confidence: 0.999,
        label: Some(label.into()),
        ..item(doc, 0.99, 1)
    };
    let auto = |r: Routing| matches!(r, Routing::AutoLabeled { .. });
    assert!(auto(c.offer(sure("b1", "b"), 0).unwrap()));
    assert!(auto(c.offer(sure("b2", "b"), 0).unwrap()));
    queued(c.offer(sure("b3", "b"), 0).unwrap());
    assert!(
        auto(c.offer(sure("a1", "a"), 0).unwrap()),
        "only b is capped"
    );
    assert_eq!(c.stats().counters.capped_unjudged, 1);
    assert_eq!(c.capped_unjudged_labels(), ["b"]);

    // The count is part of the snapshot.
    let mut c: Curator = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    queued(c.offer(sure("b4", "b"), 0).unwrap());

    // Band pairs for "a" and "c" only: "b" is still unjudged.
    let pairs = |class: u32, n: usize| {
        (0..n).map(move |_| ValidationPair {
            confidence: 0.97,
            correct: true,
            label_accuracy: None,
            machine_class: Some(class),
        })
    };
    let few: Vec<ValidationPair> = pairs(0, 30)
        .chain(pairs(2, 30))
        .chain(pairs(1, 9))
        .collect();
    assert_eq!(c.calibrate_threshold(&few).judged, ["a", "c"]);
    queued(c.offer(sure("b5", "b"), 0).unwrap());
    // Ten band pairs judge "b" (class_min_pairs = 10); they agree, so it is not suspended.
    let enough: Vec<ValidationPair> = few.iter().copied().chain(pairs(1, 1)).collect();
    let choice = c.calibrate_threshold(&enough);
    assert_eq!(choice.judged, ["a", "b", "c"]);
    assert!(choice.suspended.is_empty(), "{choice:?}");
    assert!(auto(c.offer(sure("b6", "b"), 0).unwrap()));
    assert!(c.capped_unjudged_labels().is_empty());

    // Without the cap (the default) nothing is held back.
    let mut off = curator(config());
    for i in 0..5 {
        assert!(auto(off.offer(sure(&format!("x{i}"), "b"), 0).unwrap()));
    }
    assert_eq!(off.stats().counters.capped_unjudged, 0);
}
