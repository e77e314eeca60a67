#!/usr/bin/env python3
"""Starts a real Prometheus server (the Debian package's `prometheus` binary) for tests.

It writes a config that scrapes the given target(s) every second, loads the recording and alert
rules from deploy/prometheus/rules (evaluated every second), keeps its TSDB in a temporary
directory, and listens on 127.0.0.1:PORT (PORT 0 picks a free one). When Prometheus answers
/-/ready and has scraped every target once (unless --no-wait-scrape) it prints one line

    READY http://127.0.0.1:PORT

on stdout (flushed), then stays in the foreground until SIGTERM/SIGINT or until Prometheus
exits; on the way out it stops Prometheus and removes the temporary directory.

A test (e.g. the Rust end-to-end test) spawns it, waits for the READY line, runs
promql_check.py --prometheus URL --metrics-url ..., and kills it:

    python3 tests/observability/run_prometheus.py --target 127.0.0.1:8080 --port 0

Exit status: 0 after a signal, 1 if Prometheus could not start (its log is printed to stderr).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path: str, targets: list[str], metrics_path: str, interval: str, rules: list[str]) -> None:
    # JSON is valid YAML; no PyYAML needed.
    import json
    cfg = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval, "scrape_timeout": interval},
        "rule_files": rules,
        "scrape_configs": [{
            "job_name": "latentlabel",
            "metrics_path": metrics_path,
            "static_configs": [{"targets": targets}],
        }],
    }
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", action="append", required=True, help="host:port to scrape (repeatable)")
    ap.add_argument("--metrics-path", default="/metrics")
    ap.add_argument("--port", type=int, default=0, help="listen port on 127.0.0.1 (0 = pick a free one)")
    ap.add_argument("--interval", default="1s", help="scrape and rule evaluation interval")
    ap.add_argument("--rules", action="append", default=None,
                    help="rule file glob (repeatable); default deploy/prometheus/rules/*.yml")
    ap.add_argument("--no-rules", action="store_true", help="load no rule files")
    ap.add_argument("--prometheus-bin", default=os.environ.get("PROMETHEUS_BIN", "prometheus"))
    ap.add_argument("--storage", help="TSDB directory (default: a temporary one, removed at exit)")
    ap.add_argument("--startup-timeout", type=float, default=30,
                    help="seconds to wait for /-/ready and a first successful scrape of every target")
    ap.add_argument("--no-wait-scrape", action="store_true",
                    help="print READY as soon as /-/ready answers, before the first scrape")
    args = ap.parse_args(argv)

    binary = shutil.which(args.prometheus_bin)
    if not binary:
        print(f"run_prometheus: {args.prometheus_bin!r} not found (apt-get install prometheus)", file=sys.stderr)
        return 1
    port = args.port or free_port()
    tmp = tempfile.mkdtemp(prefix="latentlabel-prometheus-")
    storage = args.storage or os.path.join(tmp, "data")
    rules = [] if args.no_rules else (args.rules or [os.path.join(REPO, "deploy/prometheus/rules/*.yml")])
    config = os.path.join(tmp, "prometheus.yml")
    write_config(config, args.target, args.metrics_path, args.interval, rules)
    log_path = os.path.join(tmp, "prometheus.log")
    log = open(log_path, "w")
    cmd = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={storage}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=1d",
        "--web.enable-lifecycle",
        "--log.level=warn",
    ]
    # own process group: a signal to us is forwarded, and nothing is left behind
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True
        if proc.poll() is None:
            proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    url = f"http://127.0.0.1:{port}"
    ready = False
    deadline = time.monotonic() + args.startup_timeout
    while time.monotonic() < deadline and proc.poll() is None and not stopping:
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as r:
                if r.status == 200:
                    ready = True
                    break
        except Exception:
            time.sleep(0.2)
    if ready and not args.no_wait_scrape:
        # The scrape manager starts a few seconds after /-/ready; wait for a first good scrape of
        # every target so that callers can query right away.
        import json
        while time.monotonic() < deadline and proc.poll() is None and not stopping:
            try:
                with urllib.request.urlopen(f"{url}/api/v1/targets?state=active", timeout=2) as r:
                    active = json.load(r)["data"]["activeTargets"]
                if active and all(t.get("health") == "up" for t in active):
                    break
            except Exception:
                pass
            time.sleep(0.2)
        else:
            if proc.poll() is None and not stopping:
                print("run_prometheus: warning: not every target was scraped successfully yet", file=sys.stderr, flush=True)
    rc = 0
    if ready:
        print(f"READY {url}", flush=True)
        print(f"run_prometheus: scraping {', '.join(args.target)} every {args.interval}; rules: {rules or 'none'}; "
              f"config {config}", file=sys.stderr, flush=True)
        while proc.poll() is None:
            try:
                proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
        if not stopping:
            print(f"run_prometheus: prometheus exited with {proc.returncode}", file=sys.stderr)
            rc = 1
    else:
        if not stopping:
            rc = 1
            print(f"run_prometheus: prometheus did not become ready within {args.startup_timeout}s", file=sys.stderr)
        stop()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
    if rc:
        with open(log_path) as f:
            sys.stderr.write(f.read())
    shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
