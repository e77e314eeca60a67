#!/usr/bin/env bash
# Topic quality with and without ingest's preprocessing: 20 Newsgroups train (shuffled, seed 1)
# through `latentlabel lda-train --jsonl` (the ingest tokenizer), K=20, batch 256, 2 passes;
# NPMI (boolean document, top 10 words) and perplexity on every 10th document, held out.
# Usage: bench/text/npmi_strip_stem.sh [path/to/latentlabel]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${1:-$ROOT/target/release/latentlabel}"
DATA="$ROOT/../shared/data/20newsgroups/train.jsonl.gz"
[ -f "$DATA" ] || { echo "SKIPPED: $DATA not present"; exit 0; }
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
python3 -c '
import gzip, json, random, sys
lines = gzip.open(sys.argv[1], "rt").readlines()
random.Random(1).shuffle(lines)
open(sys.argv[2], "w").writelines(lines)' "$DATA" "$TMP/train.jsonl"
for variant in "raw:--no-strip --no-stem" "strip:--no-stem" "strip+stem:"; do
  name="${variant%%:*}"; flags="${variant#*:}"
  # shellcheck disable=SC2086
  out=$("$BIN" lda-train --jsonl "$TMP/train.jsonl" --k 20 --batch 256 --passes 2 --threads 2 --seed 1 $flags --out "$TMP/$name" 2>/dev/null)
  echo "$name $out"
done
