#!/usr/bin/env bash
# Scoring latency and throughput at K=100, measured the way a client sees it:
#   1. `latentlabel up` (release build) with K=100 topics;
#   2. 3,000 shuffled 20 Newsgroups training posts through the whole pipeline (ingest -> trainer);
#      stream scoring rate = scored documents / seconds, read from /metrics;
#   3. wrk (Debian package) against POST /v1/score with one typical post (~1.5 KB), 1 thread,
#      4 connections, 20 s; prints p50/p90/p99 and requests/s.
# Usage: bench/scoring/run.sh [path/to/latentlabel]    (default target/release/latentlabel)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${1:-$ROOT/target/release/latentlabel}"
DATA="$ROOT/../shared/data/20newsgroups/train.jsonl.gz"
if [ ! -f "$DATA" ]; then echo "SKIPPED: $DATA not present"; exit 0; fi
command -v wrk >/dev/null || { echo "SKIPPED: wrk not installed (apt-get install wrk)"; exit 0; }
[ -x "$BIN" ] || { echo "build first: cargo build --release"; exit 1; }

TMP="$(mktemp -d)"; trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$TMP"' EXIT
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
LABELS=$(python3 -c 'import sys,json,gzip;print(json.dumps(sorted({json.loads(l)["label"] for l in gzip.open(sys.argv[1],"rt")})))' "$DATA")
cat > "$TMP/config.json" <<JSON
{ "lda_trainer": { "lda": { "num_topics": 100, "batch_size": 256 }, "snapshot_every_updates": 2 },
  "labeling_queue": { "curation": { "labels": $LABELS } } }
JSON
LATENTLABEL_LOG=warn "$BIN" up --config "$TMP/config.json" --data-dir "$TMP/data" --http-addr "127.0.0.1:$PORT" > "$TMP/up.log" 2>&1 &
PID=$!
for _ in $(seq 100); do grep -q "bootstrap: 127" "$TMP/up.log" 2>/dev/null && break; sleep 0.2; done
BOOT=$(grep -o "bootstrap: 127[^ ]*" "$TMP/up.log" | cut -d' ' -f2)
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1==m {print $2}'; }

T0=$(date +%s.%N)
"$BIN" produce --kafka-bootstrap "$BOOT" --input "$DATA" --shuffle --docs 3000 2>/dev/null
for _ in $(seq 600); do
  n=$(metric latentlabel_scoring_documents_total); n=${n%.*}
  [ "${n:-0}" -ge 2900 ] && break; sleep 0.5
done
T1=$(date +%s.%N)
echo "pipeline: ${n:-0} documents ingested, trained on and scored in $(python3 -c "print(round($T1-$T0,1))") s (2 cores, K=100, includes training)"
echo "model version in use: $(metric latentlabel_scoring_model_version)"

python3 -c '
import sys, json, gzip
for line in gzip.open(sys.argv[1], "rt"):
    d = json.loads(line)
    if 1200 <= len(d["text"]) <= 1800:
        print(json.dumps({"text": d["text"]})); break' "$DATA" > "$TMP/body.json"
curl -s -X POST -H 'content-type: application/json' --data @"$TMP/body.json" "http://127.0.0.1:$PORT/v1/score" | python3 -c 'import sys,json; r=json.load(sys.stdin); print("sample answer: label", r["label"], "top topic", r["top_topics"][0]["topic"], "words", r["top_topics"][0]["words"][:5], "theta len", len(r["theta"]))'
echo "--- wrk: POST /v1/score, one ~1.5 KB post, K=100, 1 thread, 4 connections, 20 s"
BODY_FILE="$TMP/body.json" wrk -t1 -c4 -d20s --latency -s "$ROOT/bench/scoring/post.lua" "http://127.0.0.1:$PORT/v1/score"
echo "--- wrk: same, 1 connection (latency without queueing)"
BODY_FILE="$TMP/body.json" wrk -t1 -c1 -d20s --latency -s "$ROOT/bench/scoring/post.lua" "http://127.0.0.1:$PORT/v1/score"
