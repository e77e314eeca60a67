#!/usr/bin/env python3
"""Checks every PromQL expression that latentlabel ships against a live Prometheus and a live /metrics.

Where the expressions come from
  * deploy/grafana/dashboards/*.json: every "expr" of every panel target (rows and nested panels
    included). Grafana variables are substituted first: $__rate_interval, $__interval, $__range
    (and ${...} forms) become 1m, $__interval_ms / $__range_ms 60000, $__range_s 60, any other
    variable ($datasource, $service, ${x:regex}, [[x]]) becomes `.*`. Template-variable queries
    (label_values(...), query_result(...)) are only mined for metric names.
  * deploy/prometheus/rules/*.yml: every recording rule (record) and alert (alert) expression.

What is checked (a report line per expression; exit status 1 if anything fails)
  (a) parses and evaluates: each expression is sent to /api/v1/query and must return
      status "success". Alert expressions are evaluated as written (an empty result is fine).
  (b) returns data:
      * dashboard and recording-rule expressions must return at least one series (or a scalar).
      * alert expressions are normally empty, so "at least one series" would be wrong for them.
        Instead the expression is split at its top-level set operators (or / and / unless) and
        every comparison (> < >= <= == !=) at the top level of each part is evaluated with the
        `bool` modifier, e.g. `x > 1.2 * y` becomes `x > bool 1.2 * y`. That keeps everything
        except the threshold: it returns one 0/1 sample per pair of series that the comparison
        actually matches, so it is non-empty exactly when both sides have data AND their label
        sets line up. A part without a comparison (e.g. the right side of `or`) must itself
        return at least one series.
      Expressions that read recording-rule outputs need the rules loaded in that Prometheus
      (run_prometheus.py loads deploy/prometheus/rules by default); the check says so if not.
  (c) every metric name referenced (identifiers in selector position, not functions, keywords,
      label names or durations; recording-rule names resolved to the metrics their expressions
      read, transitively) appears as a sample name in the --metrics-url scrape(s).
  (d) every such metric name is in the contract docs/METRICS.md (histograms may be referenced
      by their _bucket/_sum/_count series). This part needs no server: --static runs only the
      extraction and (d), and is what deploy/check.sh uses.

Because rate() needs two scrapes and recording rules need an evaluation, --wait N retries
(a)-(c) for up to N seconds until everything passes, then prints the final report.

Usage
  promql_check.py --static
  promql_check.py --prometheus http://127.0.0.1:9090 --metrics-url http://127.0.0.1:8080/metrics [--wait 60]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

try:
    import yaml  # PyYAML
except ImportError:  # pragma: no cover
    sys.exit("promql_check.py needs PyYAML: pip install pyyaml")

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# ----------------------------------------------------------------------------------- tokenizer

KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
    "and", "or", "unless", "atan2", "inf", "nan", "start", "end",
}
AGGREGATORS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile", "limitk", "limit_ratio",
}
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
COMPARISONS = {">", "<", ">=", "<=", "==", "!="}
SET_OPS = {"and", "or", "unless"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<duration>(?:\d+(?:ms|[smhdwy]))+)(?![A-Za-z0-9_:])
  | (?P<number>(?:0x[0-9a-fA-F]+|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>=~|!~|==|!=|>=|<=|[-+*/%^<>=@])
  | (?P<punct>[(){}\[\],])
    """,
    re.VERBOSE,
)


@dataclass
class Tok:
    kind: str
    text: str
    start: int
    end: int


def tokenize(expr: str) -> list[Tok]:
    toks, pos = [], 0
    while pos < len(expr):
        m = TOKEN_RE.match(expr, pos)
        if not m:
            raise ValueError(f"cannot tokenize at {pos}: {expr[pos:pos + 20]!r}")
        kind = m.lastgroup
        if kind not in ("ws", "comment"):
            toks.append(Tok(kind, m.group(), m.start(), m.end()))
        pos = m.end()
    return toks


def metric_names(expr: str) -> set[str]:
    """Metric names in selector position: identifiers outside {...} and [...], not followed by
    '(' (functions, aggregators), not keywords, not inside the label list of by/without/on/...;
    plus __name__="..." matchers."""
    toks = tokenize(expr)
    names: set[str] = set()
    brace = bracket = 0
    skip_group_parens = False
    group_depth = None
    paren = 0
    for i, t in enumerate(toks):
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if t.kind == "punct":
            if t.text == "{":
                brace += 1
            elif t.text == "}":
                brace -= 1
            elif t.text == "[":
                bracket += 1
            elif t.text == "]":
                bracket -= 1
            elif t.text == "(":
                paren += 1
                if skip_group_parens:
                    group_depth, skip_group_parens = paren, False
            elif t.text == ")":
                if group_depth == paren:
                    group_depth = None
                paren -= 1
            continue
        if brace:
            # __name__="metric" inside a selector
            if t.kind == "ident" and t.text == "__name__" and i + 2 < len(toks) and toks[i + 1].text == "=" \
                    and toks[i + 2].kind == "string":
                names.add(toks[i + 2].text[1:-1])
            continue
        if bracket or group_depth is not None or t.kind != "ident":
            continue
        low = t.text.lower()
        if low in GROUPING:
            skip_group_parens = nxt is not None and nxt.text == "("
            continue
        if low in KEYWORDS:
            continue
        if nxt is not None and nxt.text == "(":
            continue  # function call
        if low in AGGREGATORS and nxt is not None and nxt.kind == "ident" and nxt.text.lower() in ("by", "without"):
            continue  # sum by (x) (...)
        names.add(t.text)
    return names


def split_top_level(expr: str, ops: set[str]) -> list[tuple[str, str | None]]:
    """Splits at operators in `ops` that sit at nesting depth 0. Returns (part, op_before_part)."""
    toks = tokenize(expr)
    depth, parts, last, last_op = 0, [], 0, None
    for t in toks:
        if t.kind == "punct" and t.text in "([{":
            depth += 1
        elif t.kind == "punct" and t.text in ")]}":
            depth -= 1
        elif depth == 0 and (t.text.lower() if t.kind == "ident" else t.text) in ops and t.kind in ("ident", "op"):
            parts.append((expr[last:t.start].strip(), last_op))
            last, last_op = t.end, t.text.lower() if t.kind == "ident" else t.text
    parts.append((expr[last:].strip(), last_op))
    return parts


def strip_modifiers(expr: str) -> str:
    """Drops leading `bool`, `on(...)`, `ignoring(...)`, `group_left(...)`, `group_right(...)`,
    which follow a binary operator and belong to it, from the right-hand operand."""
    while True:
        s = expr.lstrip()
        m = re.match(r"(bool\b|(on|ignoring|group_left|group_right)\s*(\([^)]*\))?)", s)
        if not m or not m.group(0):
            return s
        expr = s[m.end():]


def with_bool(expr: str) -> tuple[str, bool]:
    """Adds `bool` to each top-level comparison of `expr` that lacks it. Returns (expr, changed)."""
    toks = tokenize(expr)
    depth, out, last, changed = 0, [], 0, False
    for i, t in enumerate(toks):
        if t.kind == "punct" and t.text in "([{":
            depth += 1
        elif t.kind == "punct" and t.text in ")]}":
            depth -= 1
        elif depth == 0 and t.kind == "op" and t.text in COMPARISONS:
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            if not (nxt and nxt.kind == "ident" and nxt.text == "bool"):
                out.append(expr[last:t.end] + " bool")
                last = t.end
            changed = True
    out.append(expr[last:])
    return "".join(out), changed


def is_literal(expr: str) -> bool:
    s = expr.strip()
    while s.startswith("(") and s.endswith(")"):
        s = s[1:-1].strip()
    try:
        toks = tokenize(s)
    except ValueError:
        return False
    return all(t.kind in ("number", "op") or (t.kind == "punct" and t.text in "()") for t in toks)


# ----------------------------------------------------------------------------------- sources

GRAFANA_VARS = [
    (re.compile(r"\$\{?__rate_interval\}?"), "1m"),
    (re.compile(r"\$\{?__interval_ms\}?"), "60000"),
    (re.compile(r"\$\{?__interval\}?"), "1m"),
    (re.compile(r"\$\{?__range_ms\}?"), "60000"),
    (re.compile(r"\$\{?__range_s\}?"), "60"),
    (re.compile(r"\$\{?__range\}?"), "1m"),
    (re.compile(r"\$\{[A-Za-z0-9_]+(?::[A-Za-z]+)?\}"), ".*"),
    (re.compile(r"\[\[[A-Za-z0-9_]+(?::[A-Za-z]+)?\]\]"), ".*"),
    (re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*"), ".*"),
]


def substitute_grafana(expr: str) -> str:
    for pat, rep in GRAFANA_VARS:
        expr = pat.sub(rep, expr)
    return expr


@dataclass
class Expr:
    source: str          # file and place, for the report
    kind: str            # dashboard | record | alert | variable
    name: str            # panel title / rule name
    raw: str
    expr: str            # after substitution
    names: set[str] = field(default_factory=set)


def dashboard_exprs(path: str) -> list[Expr]:
    with open(path) as f:
        dash = json.load(f)
    out: list[Expr] = []
    rel = os.path.relpath(path, REPO)

    def walk_panels(panels):
        for p in panels or []:
            for t in p.get("targets") or []:
                e = t.get("expr")
                if isinstance(e, str) and e.strip():
                    out.append(Expr(f"{rel}", "dashboard", f'{p.get("title", "?")} [{t.get("refId", "?")}]', e, substitute_grafana(e)))
            walk_panels(p.get("panels"))

    walk_panels(dash.get("panels"))
    for v in (dash.get("templating") or {}).get("list") or []:
        if v.get("type") != "query":
            continue
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if not isinstance(q, str) or not q.strip():
            continue
        m = re.match(r"\s*(label_values|query_result)\s*\((.*)\)\s*$", q, re.S)
        inner = m.group(2) if m else q
        if m and m.group(1) == "label_values":
            inner = inner.rsplit(",", 1)[0] if "," in inner else ""
        out.append(Expr(rel, "variable", f'variable {v.get("name")}', q, substitute_grafana(inner)))
    return out


def rule_exprs(path: str) -> list[Expr]:
    with open(path) as f:
        doc = yaml.safe_load(f)
    rel = os.path.relpath(path, REPO)
    out = []
    for g in doc.get("groups") or []:
        for r in g.get("rules") or []:
            kind = "record" if "record" in r else "alert"
            out.append(Expr(rel, kind, r.get("record") or r.get("alert"), r["expr"], r["expr"].strip()))
    return out


def contract_metrics(path: str) -> dict[str, str]:
    """name -> type from the table in docs/METRICS.md."""
    out = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"\|\s*`([a-zA-Z_:][a-zA-Z0-9_:]*)`\s*\|\s*([a-z]+)\s*\|", line)
            if m:
                out[m.group(1)] = m.group(2)
    return out


# ----------------------------------------------------------------------------------- live checks

class Prom:
    def __init__(self, url: str, timeout: float = 10):
        self.url, self.timeout = url.rstrip("/"), timeout

    def get(self, path: str, params: dict | None = None) -> dict:
        url = f"{self.url}{path}"
        data = urllib.parse.urlencode(params).encode() if params else None
        req = urllib.request.Request(url, data=data, method="POST" if data else "GET")
        if data:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:  # Prometheus answers 400/422 with a JSON error body
            try:
                return json.load(e)
            except Exception:
                return {"status": "error", "error": f"HTTP {e.code}"}
        except Exception as e:
            return {"status": "error", "error": str(e)}

    def query(self, expr: str) -> tuple[bool, int, str]:
        """(ok, number of series (scalar counts as 1), error)."""
        r = self.get("/api/v1/query", {"query": expr})
        if r.get("status") != "success":
            return False, 0, r.get("error") or json.dumps(r)[:200]
        data = r["data"]
        if data["resultType"] in ("scalar", "string"):
            return True, 1, ""
        return True, len(data["result"]), ""

    def loaded_records(self) -> set[str] | None:
        r = self.get("/api/v1/rules", {"type": "record"} if False else None)
        if r.get("status") != "success":
            return None
        return {rule["name"] for g in r["data"]["groups"] for rule in g["rules"] if rule.get("type") == "recording"}


def scrape_names(urls: list[str]) -> tuple[set[str], list[str]]:
    names, errors = set(), []
    for u in urls:
        try:
            with urllib.request.urlopen(u, timeout=10) as r:
                text = r.read().decode("utf-8", "replace")
        except Exception as e:
            errors.append(f"scraping {u}: {e}")
            continue
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)", line)
            if m:
                names.add(m.group(1))
    return names, errors


# ----------------------------------------------------------------------------------- main

def collect(repo: str) -> tuple[list[Expr], dict[str, str]]:
    exprs: list[Expr] = []
    for p in sorted(glob.glob(os.path.join(repo, "deploy/grafana/dashboards/*.json"))):
        exprs += dashboard_exprs(p)
    for p in sorted(glob.glob(os.path.join(repo, "deploy/prometheus/rules/*.yml"))
                    + glob.glob(os.path.join(repo, "deploy/prometheus/rules/*.yaml"))):
        exprs += rule_exprs(p)
    records = {}
    for e in exprs:
        e.names = metric_names(e.expr) if e.expr.strip() else set()
        if e.kind == "record":
            records[e.name] = e.expr
    return exprs, records


def resolve(names: set[str], records: dict[str, str], seen: frozenset = frozenset()) -> set[str]:
    out = set()
    for n in names:
        if n in records and n not in seen:
            out |= resolve(metric_names(records[n]), records, seen | {n})
        else:
            out.add(n)
    return out


def contract_base(name: str, contract: dict[str, str]) -> str | None:
    if name in contract:
        return name
    for suf in HISTOGRAM_SUFFIXES:
        if name.endswith(suf) and contract.get(name[: -len(suf)]) == "histogram":
            return name[: -len(suf)]
    return None


def static_check(exprs, records, contract) -> list[str]:
    failures = []
    if not exprs:
        failures.append("no expressions found under deploy/grafana/dashboards or deploy/prometheus/rules")
    for e in exprs:
        if not e.names and e.kind != "variable" and not is_literal(e.expr):
            # every expression must read something (time() alone would be a bug in a dashboard)
            failures.append(f"{e.source}: {e.kind} {e.name!r}: references no metric: {e.expr!r}")
        for n in sorted(resolve(e.names, records)):
            if contract_base(n, contract) is None:
                failures.append(f"{e.source}: {e.kind} {e.name!r}: metric {n!r} is not in docs/METRICS.md")
    return failures


def live_check(exprs, records, prom: Prom, scraped: set[str] | None, lines: list[str]) -> list[str]:
    failures = []
    loaded = prom.loaded_records()
    for e in exprs:
        if e.kind == "variable":
            continue
        label = f"{e.kind:9} {e.name}"
        ok, n, err = prom.query(e.expr)
        if not ok:
            failures.append(f"(a) {e.source}: {label}: query failed: {err}\n      expr: {e.expr}")
            continue
        uses_records = sorted(x for x in e.names if x in records)
        missing_rules = [x for x in uses_records if loaded is not None and x not in loaded]
        hint = ""
        if missing_rules:
            hint = f" (recording rules {missing_rules} are not loaded in this Prometheus)"
        if e.kind in ("dashboard", "record"):
            if n == 0:
                failures.append(f"(b) {e.source}: {label}: no series{hint}\n      expr: {e.expr}")
            else:
                lines.append(f"  ok  {label}: {n} series")
            continue
        # alert: the comparisons with `bool`, parts without comparison as they are
        part_notes = []
        for part, _op in split_top_level(e.expr, SET_OPS):
            part = strip_modifiers(part)
            q, has_cmp = with_bool(part)
            ok, n, err = prom.query(q)
            what = "comparison with bool" if has_cmp else "operand"
            if not ok:
                failures.append(f"(a) {e.source}: {label}: {what} failed: {err}\n      expr: {q}")
            elif n == 0:
                failures.append(f"(b) {e.source}: {label}: {what} returns no series{hint}\n      expr: {q}")
            else:
                part_notes.append(f"{n}")
        if len(part_notes) == len(split_top_level(e.expr, SET_OPS)):
            lines.append(f"  ok  {label}: comparisons match {'/'.join(part_notes)} series")
    if scraped is not None:
        for e in exprs:
            for n in sorted(resolve(e.names, records)):
                if n not in scraped:
                    failures.append(f"(c) {e.source}: {e.kind} {e.name!r}: metric {n!r} is not in the /metrics scrape")
    return failures


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prometheus", help="Prometheus base URL, e.g. http://127.0.0.1:9090")
    ap.add_argument("--metrics-url", action="append", default=[], help="a /metrics URL (repeatable; names are unioned)")
    ap.add_argument("--repo", default=REPO, help="repository root (default: this script's)")
    ap.add_argument("--wait", type=float, default=0, help="retry the live checks for up to this many seconds")
    ap.add_argument("--static", action="store_true", help="only extract expressions and check names against docs/METRICS.md")
    ap.add_argument("--list", action="store_true", help="print every extracted expression")
    args = ap.parse_args(argv)

    exprs, records = collect(args.repo)
    contract = contract_metrics(os.path.join(args.repo, "docs/METRICS.md"))
    kinds = {k: sum(1 for e in exprs if e.kind == k) for k in ("dashboard", "record", "alert", "variable")}
    all_names = sorted(resolve(set().union(*[e.names for e in exprs]) if exprs else set(), records))
    print(f"promql_check: {len(exprs)} expressions ({kinds['dashboard']} dashboard, {kinds['record']} recording, "
          f"{kinds['alert']} alert, {kinds['variable']} variable); {len(all_names)} metric names; "
          f"{len(contract)} names in docs/METRICS.md")
    if args.list:
        for e in exprs:
            print(f"  [{e.kind}] {e.source} {e.name}: {e.expr}\n      metrics: {sorted(resolve(e.names, records))}")

    failures = static_check(exprs, records, contract)
    if failures:
        print("FAIL (d) contract check:")
        for f in failures:
            print("  " + f)
        return 1
    print(f"  ok  (d) every referenced metric is in docs/METRICS.md: {', '.join(all_names)}")
    if args.static:
        print("PASS (static)")
        return 0
    if not args.prometheus:
        ap.error("--prometheus is required unless --static")

    prom = Prom(args.prometheus)
    deadline = time.monotonic() + args.wait
    attempt = 0
    while True:
        attempt += 1
        scraped, scrape_errors = (scrape_names(args.metrics_url) if args.metrics_url else (None, []))
        lines: list[str] = []
        failures = [f"(c) {e}" for e in scrape_errors]
        failures += live_check(exprs, records, prom, scraped, lines)
        if not failures or time.monotonic() >= deadline:
            break
        time.sleep(min(3.0, max(0.0, deadline - time.monotonic())))
    print(f"live check against {args.prometheus} (attempt {attempt}):")
    for l in lines:
        print(l)
    if scraped is not None:
        print(f"  {'ok ' if not any(f.startswith('(c)') for f in failures) else 'BAD'} (c) referenced metrics in "
              f"{', '.join(args.metrics_url)}: {len(scraped)} sample names scraped")
    else:
        print("  --  (c) skipped: no --metrics-url")
    if failures:
        print(f"FAIL: {len(failures)} problem(s):")
        for f in failures:
            print("  " + f)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
