#!/usr/bin/env bash
# Static checks of everything under deploy/ plus docker-compose.yml. Exits non-zero on any failure.
#
#   bash deploy/check.sh            (from anywhere; CI runs it from .ci/run)
#
# Needs (Debian bookworm / any Linux with these):
#   apt-get install -y prometheus docker-compose   # promtool + prometheus 2.42; docker-compose 1.29 (Python,
#                                                  #   validates the Compose file offline, no engine needed)
#   kubectl (v1.32 here; any with built-in kustomize)
#   pip install kubernetes-validate jsonschema pyyaml   # offline k8s OpenAPI schemas ship in the package
#
# What it runs:
#   1. promtool check config  deploy/prometheus/prometheus.yml (rule path pointed at the repo)
#   2. promtool check rules   deploy/prometheus/rules/*.yml
#   3. promtool test rules    deploy/prometheus/tests/*.yml
#   4. contract: every metric name in dashboards and rules is in docs/METRICS.md
#      (tests/observability/promql_check.py --static), dashboards are valid JSON
#   5. kubectl kustomize deploy/k8s/overlays/{dev,prod} | kubernetes-validate -k 1.32.0 --strict
#      (CRD kinds ScaledObject/PodMonitor have no schema: kubernetes-validate only warns on them,
#      deploy/k8s/check_rendered.py checks them and the workload policies instead)
#   6. docker-compose config -q (schema + interpolation + anchors) and depends_on sanity
#   7. tests/observability/selftest.py: a real prometheus scrapes a fake /metrics exporting the
#      METRICS.md names; promql_check.py must pass on it and fail when a metric is missing
#      (skipped with CHECK_SKIP_LIVE=1)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
K8S_VERSION="${K8S_VERSION:-1.32.0}"
PY="${PYTHON:-python3}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

failures=()
step() { echo; echo "=== $1"; }
run() {  # run NAME CMD...: runs, prints output, records failure
  local name="$1"; shift
  if "$@"; then echo "--- ok: $name"; else echo "--- FAILED: $name"; failures+=("$name"); fi
}
need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "--- FAILED: $1 not installed ($2)"; failures+=("missing $1"); return 1
  fi
}

step "1. promtool check config"
if need promtool "apt-get install -y prometheus"; then
  mkdir -p "$TMP/prom"
  sed "s#/etc/prometheus/rules/#$ROOT/deploy/prometheus/rules/#" deploy/prometheus/prometheus.yml > "$TMP/prom/prometheus.yml"
  run "promtool check config" promtool check config "$TMP/prom/prometheus.yml"

  step "2. promtool check rules"
  run "promtool check rules" promtool check rules deploy/prometheus/rules/*.yml

  step "3. promtool test rules"
  run "promtool test rules" bash -c 'cd deploy/prometheus && promtool test rules tests/*.yml'
fi

step "4. metrics contract (docs/METRICS.md) and dashboard JSON"
run "dashboards are JSON with uid and title" "$PY" - <<'PYEOF'
import glob, json, sys
uids = set()
files = sorted(glob.glob("deploy/grafana/dashboards/*.json"))
assert files, "no dashboards"
for f in files:
    d = json.load(open(f))
    assert d.get("uid") and d.get("title"), f"{f}: uid and title required"
    assert d["uid"] not in uids, f"{f}: duplicate uid {d['uid']}"
    uids.add(d["uid"])
    print(f"{f}: {d['title']} ({sum(1 for p in d['panels'] if p.get('type') != 'row')} panels)")
PYEOF
run "promql_check --static" "$PY" tests/observability/promql_check.py --static

step "5. Kubernetes manifests (kustomize + kubernetes-validate $K8S_VERSION --strict + policy)"
if need kubectl "kubectl with kustomize" && need kubernetes-validate "pip install kubernetes-validate"; then
  for overlay in dev prod; do
    out="$TMP/k8s-$overlay.yaml"
    if kubectl kustomize "deploy/k8s/overlays/$overlay" > "$out"; then
      echo "rendered overlays/$overlay: $(grep -c '^kind:' "$out") resources"
      run "kubernetes-validate overlays/$overlay" kubernetes-validate -k "$K8S_VERSION" --strict "$out"
      extra=(); [ "$overlay" = prod ] && extra=(--external-secrets)
      run "check_rendered overlays/$overlay" "$PY" deploy/k8s/check_rendered.py "${extra[@]}" "$out"
    else
      echo "--- FAILED: kubectl kustomize overlays/$overlay"; failures+=("kustomize $overlay")
    fi
  done
fi

step "6. docker-compose.yml"
if need docker-compose "apt-get install -y docker-compose"; then
  run "docker-compose config -q" docker-compose -f docker-compose.yml config -q
  docker-compose -f docker-compose.yml config > "$TMP/compose.yml" 2>/dev/null
  run "compose depends_on, healthchecks, mounts" "$PY" - "$TMP/compose.yml" <<'PYEOF'
import os, sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
svcs = c["services"]
errs = []
for name, s in svcs.items():
    for dep, cond in (s.get("depends_on") or {}).items():
        if dep not in svcs:
            errs.append(f"{name}: depends_on unknown service {dep}")
            continue
        cond = cond.get("condition") if isinstance(cond, dict) else "service_started"
        if cond == "service_healthy" and not (svcs[dep].get("healthcheck") and "NONE" not in svcs[dep]["healthcheck"].get("test", [])):
            errs.append(f"{name}: waits for {dep} healthy but {dep} has no healthcheck")
        if cond == "service_completed_successfully" and svcs[dep].get("restart", "no") != "no":
            errs.append(f"{name}: waits for {dep} to complete but {dep} restarts")
    for v in s.get("volumes") or []:
        if isinstance(v, dict):
            src, bind = v.get("source", ""), v.get("type") == "bind"
        else:
            src = v.split(":")[0]
            bind = src.startswith(("/", "."))
        if bind and not os.path.exists(src):
            errs.append(f"{name}: bind mount source {src} does not exist")
for want in ("kafka", "minio", "minio-init", "prometheus", "grafana", "ingest", "lda-trainer", "scoring", "labeling-queue", "demo-producer"):
    if want not in svcs:
        errs.append(f"missing service {want}")
for e in errs:
    print(e)
print(f"{len(svcs)} services: {', '.join(svcs)}")
sys.exit(1 if errs else 0)
PYEOF
fi

step "7. observability tooling self-test (real prometheus, fake /metrics)"
if [ "${CHECK_SKIP_LIVE:-0}" = 1 ]; then
  echo "skipped (CHECK_SKIP_LIVE=1)"
elif need prometheus "apt-get install -y prometheus"; then
  run "tests/observability/selftest.py" timeout 300 "$PY" tests/observability/selftest.py
fi

echo
if [ "${#failures[@]}" -ne 0 ]; then
  echo "deploy/check.sh: FAILED: ${failures[*]}"
  exit 1
fi
echo "deploy/check.sh: all checks passed"
