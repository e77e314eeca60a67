#!/usr/bin/env bash
# Scoring latency and throughput at K=100, measured the way a client sees it:
#   1. `latentlabel bench newsgroups --topics 100 --hold quality --steps 2000`: the four services on
#      an embedded broker; 20 Newsgroups streams through ingest -> trainer -> scoring, 2,000
#      training labels go onto the labels topic and scoring refits (theta + hashed tf-idf words,
#      20 classes, calibrated); then the pipeline keeps serving;
#   2. wrk (Debian package) against POST /v1/score with one typical post (~1.5 KB), 1 thread,
#      4 connections then 1 connection, 20 s each; prints p50/p90/p99 and requests/s.
# Usage: bench/scoring/run.sh [path/to/latentlabel]    (default target/release/latentlabel)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${1:-$ROOT/target/release/latentlabel}"
DATA_DIR="$ROOT/../shared/data/20newsgroups"
DATA="$DATA_DIR/train.jsonl.gz"
if [ ! -f "$DATA" ]; then echo "SKIPPED: $DATA not present"; exit 0; fi
command -v wrk >/dev/null || { echo "SKIPPED: wrk not installed (apt-get install wrk)"; exit 0; }
[ -x "$BIN" ] || { echo "build first: cargo build --release"; exit 1; }

TMP="$(mktemp -d)"; trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$TMP"' EXIT
RUST_LOG=warn "$BIN" bench newsgroups --data "$DATA_DIR" --out "$TMP" --topics 100 --hold \
  quality --steps 2000 > "$TMP/out.log" 2> "$TMP/err.log" &
PID=$!
for _ in $(seq 1800); do grep -q '"serving"' "$TMP/out.log" 2>/dev/null && break; sleep 0.5; done
grep -q '"serving"' "$TMP/out.log" || { echo "pipeline did not come up"; tail -5 "$TMP/err.log"; exit 1; }
BASE=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if "serving" in l][0]["serving"])' "$TMP/out.log")
echo "classifier after 2,000 streamed labels (K=100):"; grep '"labels":2000' "$TMP/out.log"
grep stream_scoring "$TMP/out.log"

python3 -c '
import sys, json, gzip
for line in gzip.open(sys.argv[1], "rt"):
    d = json.loads(line)
    if 1200 <= len(d["text"]) <= 1800:
        print(json.dumps({"text": d["text"]})); break' "$DATA" > "$TMP/body.json"
curl -s -X POST -H 'content-type: application/json' --data @"$TMP/body.json" "$BASE/v1/score" | python3 -c 'import sys,json; r=json.load(sys.stdin); print("sample answer: label", r["label"], "confidence", round(r["confidence"],3), "classifier", r["classifier_version"], "top topic words", r["top_topics"][0]["words"][:5], "theta len", len(r["theta"]))'
echo "--- wrk: POST /v1/score, one ~1.5 KB post, K=100, 1 thread, 4 connections, 20 s"
BODY_FILE="$TMP/body.json" wrk -t1 -c4 -d20s --latency -s "$ROOT/bench/scoring/post.lua" "$BASE/v1/score"
echo "--- wrk: same, 1 connection (latency without queueing)"
BODY_FILE="$TMP/body.json" wrk -t1 -c1 -d20s --latency -s "$ROOT/bench/scoring/post.lua" "$BASE/v1/score"
