#!/usr/bin/env python3
"""Self-test of the observability tooling, no latentlabel binary needed.

1. Unit checks of promql_check's PromQL tokenizer (metric names, `bool` insertion, splitting).
2. End to end: serves a fake /metrics that exports every metric of docs/METRICS.md (counters
   growing between scrapes), starts a real Prometheus with run_prometheus.py scraping it every
   second with deploy/prometheus/rules loaded, and runs promql_check.py against both. Every
   dashboard, recording-rule and alert expression must pass.
3. Negative: the same check against a /metrics missing one metric must fail.

    python3 tests/observability/selftest.py        (deploy/check.sh runs it)
"""

from __future__ import annotations

import http.server
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import promql_check as pc  # noqa: E402

LABELS = {
    "service": ["ingest", "lda-trainer", "scoring", "labeling-queue"],
    "reason": ["decode", "too_large"],
    "route": ["/metrics", "/v1/tasks"],
    "status": ["2xx", "4xx"],
    "source": ["human", "model", "all"],
    "measure": ["npmi", "umass"],
    "state": ["queued", "leased"],
    "annotator": ["alice", "bob"],
    "action": ["drop"],
    "version": ["0.1.0"],
}


def unit_tests() -> list[str]:
    bad = []

    def eq(got, want, what):
        if got != want:
            bad.append(f"{what}: got {got!r}, want {want!r}")

    eq(pc.metric_names('sum by (service, reason) (rate(a_total{service=~"x|y", __name__!=""}[5m]))'), {"a_total"}, "by/labels/range")
    eq(pc.metric_names('histogram_quantile(0.9, sum without (instance) (rate(h_bucket[1m] offset 5m)))'), {"h_bucket"}, "without/offset")
    eq(pc.metric_names('x / on(job) group_left(version) y and ignoring(a) z unless bool_metric'), {"x", "y", "z", "bool_metric"}, "matching")
    eq(pc.metric_names('{__name__="named_metric", job="j"} + time() - vector(1)'), {"named_metric"}, "__name__")
    eq(pc.metric_names('rec:name:rate5m{a="b"} > 0.5'), {"rec:name:rate5m"}, "recording name")
    eq(pc.metric_names('topk(3, sum by (le) (m)) or count_values("v", n)'), {"m", "n"}, "topk/count_values")
    eq(pc.metric_names('max_over_time(q[1h:1m]) @ end()'), {"q"}, "subquery/@")
    eq(pc.with_bool('a > 1.2 * b'), ("a > bool 1.2 * b", True), "bool insertion")
    eq(pc.with_bool('(a > 1) + b'), ("(a > 1) + b", False), "nested comparison untouched")
    eq(pc.with_bool('a >= bool 1'), ("a >= bool 1", True), "bool already there")
    eq([p for p, _ in pc.split_top_level('a > 1 and on(x) (b or c) unless d', pc.SET_OPS)],
       ["a > 1", "on(x) (b or c)", "d"], "split at set operators")
    eq(pc.strip_modifiers(' on(x) group_left(y) b'), "b", "strip modifiers")
    eq(pc.substitute_grafana('rate(x{s=~"$service"}[$__rate_interval]) / ${__interval_ms} [[v]]'),
       'rate(x{s=~".*"}[1m]) / 60000 .*', "grafana variables")
    eq(pc.is_literal("(6 * 3600)"), True, "literal")
    return bad


class FakeMetrics:
    """Prometheus text exposition of every contract metric; counters grow on every scrape."""

    def __init__(self, contract: dict[str, str], drop: str | None = None):
        self.contract, self.drop, self.n, self.lock = contract, drop, 0, threading.Lock()
        self.labels = {}
        with open(os.path.join(REPO, "docs/METRICS.md")) as f:
            for line in f:
                m = re.match(r"\|\s*`([a-zA-Z_:][a-zA-Z0-9_:]*)`\s*\|\s*[a-z]+\s*\|([^|]*)\|", line)
                if m:
                    self.labels[m.group(1)] = re.findall(r"`([a-z_]+)`", m.group(2))

    def render(self) -> str:
        with self.lock:
            self.n += 1
            n = self.n
        out = []
        now = time.time()
        for name, typ in self.contract.items():
            if name == self.drop:
                continue
            keys = self.labels.get(name, [])
            combos = [{}]
            for k in keys:
                combos = [dict(c, **{k: v}) for c in combos for v in LABELS.get(k, ["x"])]
            out.append(f"# TYPE {name} {typ}")
            for c in combos:
                ls = ",".join(f'{k}="{v}"' for k, v in c.items())
                if typ == "histogram":
                    for le in ("0.1", "1", "+Inf"):
                        lab = ",".join(x for x in (ls, f'le="{le}"') if x)
                        out.append(f"{name}_bucket{{{lab}}} {n * (1 + (le != '0.1'))}")
                    out.append(f"{name}_sum{{{ls}}} {n * 0.3}")
                    out.append(f"{name}_count{{{ls}}} {n * 2}")
                elif typ == "counter":
                    out.append(f"{name}{{{ls}}} {n * 10}")
                elif name.endswith("_timestamp_seconds"):
                    out.append(f"{name}{{{ls}}} {now:.3f}")
                else:
                    out.append(f"{name}{{{ls}}} {1 + (n % 3) * 0.1}")
        return "\n".join(out) + "\n"


def serve(fake: FakeMetrics) -> http.server.ThreadingHTTPServer:
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = fake.render().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def run_check(drop: str | None, wait: float) -> tuple[int, str]:
    contract = pc.contract_metrics(os.path.join(REPO, "docs/METRICS.md"))
    srv = serve(FakeMetrics(contract, drop))
    target = f"127.0.0.1:{srv.server_address[1]}"
    prom = subprocess.Popen([sys.executable, os.path.join(HERE, "run_prometheus.py"), "--target", target, "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = prom.stdout.readline().strip()
        if not line.startswith("READY "):
            return 1, f"run_prometheus.py did not start: {line!r}"
        url = line.split()[1]
        r = subprocess.run([sys.executable, os.path.join(HERE, "promql_check.py"), "--prometheus", url,
                            "--metrics-url", f"http://{target}/metrics", "--wait", str(wait)],
                           capture_output=True, text=True)
        return r.returncode, r.stdout + r.stderr
    finally:
        prom.terminate()
        prom.wait(timeout=15)
        srv.shutdown()


def main() -> int:
    bad = unit_tests()
    if bad:
        print("selftest: tokenizer unit checks FAILED:\n  " + "\n  ".join(bad))
        return 1
    print("selftest: tokenizer unit checks passed")

    rc, out = run_check(None, wait=40)
    print(out)
    if rc != 0:
        print("selftest: FAILED: promql_check against a complete fake /metrics")
        return 1
    rc, out = run_check("latentlabel_heldout_perplexity", wait=5)
    expect = ["metric 'latentlabel_heldout_perplexity' is not in the /metrics scrape",
              "LatentlabelPerplexityRegression: comparison with bool returns no series"]
    if rc == 0 or not all(x in out for x in expect) or "(b) deploy/grafana/dashboards/pipeline-overview.json" in out:
        print(out)
        print("selftest: FAILED: promql_check passed although /metrics lacked latentlabel_heldout_perplexity")
        return 1
    print("selftest: negative case ok (missing latentlabel_heldout_perplexity was reported)")
    print("selftest: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
