#!/usr/bin/env python3
"""End-to-end test of the annotator web page in a real headless Chromium (Playwright).

Usage:
    python3 tests/browser/annotator_page.py --url http://127.0.0.1:PORT --token TOKEN \
        [--chromium /usr/bin/chromium] [--screenshot out.png] [--timeout 90]

Needs a running system with work for the annotator, e.g.
    latentlabel up --demo --docs 400 --data-dir "$(mktemp -d)" --http-addr 127.0.0.1:PORT
(the token is the one in the printed `annotator page:` line). With the demo, start this test
promptly: the simulated annotators drain a 400-document queue in roughly 20-30 s.

Exit 0 when every check passes; 1 with a `FAIL:` message otherwise; 2 for bad usage or a
browser that cannot be started.
"""

import argparse
import shutil
import sys
import tempfile
import time

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover
    print("FAIL: Playwright for Python is missing: pip install playwright "
          "(no `playwright install` needed; the system Chromium is used)", file=sys.stderr)
    sys.exit(2)

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
EMPTY_PREFIX = "No tasks waiting"
STEP_TIMEOUT_S = 20.0  # after an action: saved status, next task, stats refresh


class TestFailure(Exception):
    pass


# One round trip that reads everything the checks look at.
STATE_JS = """() => {
  const $ = (id) => document.getElementById(id);
  const visible = (el) => !!el && el.getClientRects().length > 0;  // rendered, whatever [hidden] says
  return {
    login: visible($("login")),
    app: visible($("app")),
    taskId: $("task-id").textContent.trim(),
    docId: $("doc-id").textContent.trim(),
    docText: $("doc-text").textContent,
    status: $("status").textContent.trim(),
    statusClass: $("status").className,
    who: $("who").textContent.trim(),
    labels: Array.from(document.querySelectorAll("#labels button[data-label]")).map((b) => b.dataset.label),
    statLabels: $("stat-labels").textContent.trim(),
    statSkips: $("stat-skips").textContent.trim(),
  };
}"""

LAYOUT_JS = """() => {
  const $ = (id) => document.getElementById(id);
  const box = (el) => { const r = el.getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height, right: r.right, bottom: r.bottom}; };
  const de = document.documentElement;
  const buttons = Array.from(document.querySelectorAll("#labels button[data-label]"));
  return {
    scrollWidth: de.scrollWidth, clientWidth: de.clientWidth, innerWidth: window.innerWidth,
    docText: box($("doc-text")),
    docFontPx: parseFloat(getComputedStyle($("doc-text")).fontSize),
    stats: box($("stats")),
    topics: box($("topics")),
    status: box($("status")),
    buttons: buttons.map((b) => ({label: b.dataset.label, kbd: (b.querySelector("kbd") || {}).textContent || null, ...box(b)})),
    title: document.title,
    urlHasToken: location.search.includes("token="),
    stored: localStorage.getItem("latentlabel-token"),
  };
}"""


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def as_int(text, what):
    try:
        return int(text)
    except ValueError:
        raise TestFailure(f"{what} is not a number: {text!r}")


def has_task(s):
    return s["taskId"] not in ("", "–") and not s["docText"].startswith(EMPTY_PREFIX)


def is_empty(s):
    return s["docText"].startswith(EMPTY_PREFIX)


class Session:
    def __init__(self, page):
        self.page = page
        self.console_errors = []
        self.http_errors = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.console_errors.append(f"uncaught exception: {exc}"))
        page.on("response", self._on_response)

    def _on_console(self, msg):
        if msg.type == "error":
            loc = msg.location or {}
            self.console_errors.append(f"console.error: {msg.text} ({loc.get('url', '')})")

    def _on_response(self, resp):
        if resp.status >= 400:
            self.http_errors.append(f"{resp.request.method} {resp.url} -> {resp.status}")

    def state(self):
        return self.page.evaluate(STATE_JS)

    def wait_for(self, pred, timeout_s, what, fail_fast=True):
        """Polls the page state until pred(state) holds; fails early if the page shows the
        sign-in form (token rejected)."""
        deadline = time.monotonic() + timeout_s
        s = self.state()
        while True:
            if fail_fast and s["login"]:
                also = (" [page bug: the hidden task view is still displayed under the sign-in "
                        "form]") if s["app"] else ""
                raise TestFailure(
                    "the page shows the sign-in form instead of the task view: the token was "
                    f"rejected (status line: {s['status']!r}; HTTP errors: {self.http_errors[-3:]})"
                    + also)
            if pred(s):
                return s
            if time.monotonic() > deadline:
                hint = (" (the page shows the empty-queue message: no work for this annotator; "
                        "with the demo, run the test within ~20 s of `up`)") if is_empty(s) else ""
                raise TestFailure(
                    f"timed out after {timeout_s:.0f}s waiting for {what}{hint}; page state: "
                    f"task={s['taskId']!r} status={s['status']!r} ({s['statusClass']}) "
                    f"doc-text={s['docText'][:80]!r} labels={s['statLabels']} skips={s['statSkips']}")
            self.page.wait_for_timeout(250)
            s = self.state()

    def wait_for_task(self, timeout_s, what):
        return self.wait_for(lambda s: has_task(s) and s["labels"] and s["who"], timeout_s, what)


def check_layout(sess, s):
    lay = sess.page.evaluate(LAYOUT_JS)
    problems = []
    if lay["scrollWidth"] > lay["clientWidth"]:
        problems.append(f"horizontal overflow: scrollWidth {lay['scrollWidth']} > clientWidth {lay['clientWidth']}")
    d = lay["docText"]
    if d["w"] < 300 or d["h"] < 20:
        problems.append(f"#doc-text too small to read: {d}")
    if d["x"] < 0 or d["right"] > lay["innerWidth"]:
        problems.append(f"#doc-text is outside the viewport horizontally: {d}")
    if lay["docFontPx"] < 12:
        problems.append(f"#doc-text font is {lay['docFontPx']}px")
    if not lay["buttons"]:
        problems.append("no label buttons")
    for i, b in enumerate(lay["buttons"]):
        if b["w"] < 20 or b["h"] < 20:
            problems.append(f"label button {b['label']!r} too small: {b['w']}x{b['h']}")
        if b["x"] < 0 or b["right"] > lay["innerWidth"] or b["y"] < 0 or b["bottom"] > VIEWPORT["height"]:
            problems.append(f"label button {b['label']!r} not inside the 1280x800 viewport: {b}")
        want = str(i + 1) if i < 9 else None
        if b["kbd"] != want:
            problems.append(f"label button {i} ({b['label']!r}) shows shortcut {b['kbd']!r}, expected {want!r}")
    st = lay["stats"]
    if st["w"] < 150 or st["x"] < d["right"] - 1 or st["right"] > lay["innerWidth"]:
        problems.append(f"#stats panel is not beside the document inside the viewport: stats={st} doc={d}")
    if lay["urlHasToken"]:
        problems.append("the token is still in the address bar (history.replaceState did not run)")
    if not lay["stored"]:
        problems.append("the token was not stored in localStorage")
    for name in ("doc-text", "labels", "stats", "topics"):
        if not sess.page.locator(f"#{name}").is_visible():
            problems.append(f"#{name} is not visible")
    if problems:
        raise TestFailure("layout: " + "; ".join(problems))
    log(f"layout ok: doc-text {d['w']:.0f}x{d['h']:.0f}px at {lay['docFontPx']}px font, "
        f"{len(lay['buttons'])} label buttons, page width {lay['scrollWidth']}/{lay['clientWidth']}px")


def act_and_verify(sess, before, action, expect_status, counter, allow_drain):
    """Runs `action`, then checks the status line, that a different task (or the empty-queue
    message) replaced the old one, and that the counter (statLabels/statSkips) went up."""
    old_id, old_count = before["taskId"], as_int(before[counter], counter)
    action()
    s = sess.wait_for(
        lambda s: s["statusClass"] == "err" or (s["status"].startswith(expect_status)
                                                and s["statusClass"] == "ok"),
        STEP_TIMEOUT_S, f"status {expect_status!r}")
    if s["statusClass"] == "err":
        raise TestFailure(f"after the action #status shows an error: {s['status']!r}")
    s = sess.wait_for(
        lambda s: (has_task(s) and s["taskId"] != old_id) or is_empty(s),
        STEP_TIMEOUT_S, f"a task other than {old_id}")
    s = sess.wait_for(lambda s: as_int(s[counter], counter) > old_count,
                      STEP_TIMEOUT_S, f"{counter} to rise above {old_count}")
    if is_empty(s):
        msg = "queue drained: the page shows the empty-queue message"
        if not allow_drain:
            raise TestFailure(msg + " and later steps need a task (start the test sooner after "
                              "`up`, or pass --allow-drain)")
        log("note: " + msg)
    else:
        log(f"  -> next task {s['taskId']} (doc {s['docId']}); {counter} {old_count} -> {s[counter]}")
    return s


def run(args):
    user_data = tempfile.mkdtemp(prefix="ll-browser-")
    shot = None
    t0 = time.monotonic()
    try:
        with sync_playwright() as pw:
            try:
                ctx = pw.chromium.launch_persistent_context(
                    user_data, executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS,
                    viewport=VIEWPORT, device_scale_factor=1)
            except PlaywrightError as e:
                print(f"FAIL: cannot start Chromium at {args.chromium}: {e}", file=sys.stderr)
                return 2
            page = ctx.pages[0] if ctx.pages else ctx.new_page()
            sess = Session(page)
            if args.page_file:  # test an edited index.html without rebuilding the binary
                html = open(args.page_file, encoding="utf-8").read()
                page.route(lambda u: u.split("?")[0].rstrip("/") == args.url.rstrip("/"),
                           lambda route: route.fulfill(status=200, body=html,
                                                       content_type="text/html; charset=utf-8"))
            try:
                url = args.url.rstrip("/") + "/?token=" + args.token
                log(f"opening {args.url.rstrip('/')}/?token=*** in {args.chromium}")
                resp = page.goto(url, wait_until="load", timeout=30_000)
                if resp is None or resp.status != 200:
                    raise TestFailure(f"GET / returned {resp.status if resp else 'nothing'}")
                if page.title() != "latentlabel · annotate":
                    raise TestFailure(f"unexpected page title {page.title()!r}")

                # 1. A task appears (the page polls every 3 s while the queue is empty).
                s = sess.wait_for_task(args.timeout, "the first task")
                log(f"first task {s['taskId']} (doc {s['docId']}) after {time.monotonic() - t0:.1f}s, "
                    f"{len(s['labels'])} labels, signed in as {s['who'][len('signed in as '):]!r}, "
                    f"text: {s['docText'][:70]!r}")
                check_layout(sess, s)
                if args.screenshot:
                    shot = page.screenshot(full_page=False)

                # 2. Keyboard shortcut "1" labels the task with the first label.
                label = s["labels"][0]
                log(f"pressing key 1 -> label {label!r} on task {s['taskId']}")
                s = act_and_verify(sess, s, lambda: page.keyboard.press("1"),
                                   f"Saved “{label}”", "statLabels", args.allow_drain)

                # 3. Clicking a label button (the second one, to vary from the shortcut).
                if has_task(s):
                    btn_label = s["labels"][1] if len(s["labels"]) > 1 else s["labels"][0]
                    log(f"clicking button {btn_label!r} on task {s['taskId']}")
                    s = act_and_verify(
                        sess, s,
                        lambda: page.locator(f'#labels button[data-label="{btn_label}"]').click(),
                        f"Saved “{btn_label}”", "statLabels", args.allow_drain)
                    # The clicked button is gone (re-rendered); move focus off it before typing.
                    page.evaluate("() => document.activeElement && document.activeElement.blur()")

                # 4. "s" skips: a different task (or the empty message) and the skip counter rises.
                if has_task(s):
                    log(f"pressing key s on task {s['taskId']}")
                    s = act_and_verify(sess, s, lambda: page.keyboard.press("s"),
                                       "Skipped", "statSkips", True)
                    if has_task(s):
                        check_layout(sess, s)
                        if args.screenshot:
                            shot = page.screenshot(full_page=False)

                page.wait_for_timeout(500)  # let late console messages arrive
                if sess.console_errors:
                    raise TestFailure("console errors: " + " | ".join(sess.console_errors))
                log(f"PASS in {time.monotonic() - t0:.1f}s (final: labels={s['statLabels']} "
                    f"skips={s['statSkips']}, status={s['status']!r})")
                return 0
            except (TestFailure, PlaywrightError) as e:
                print(f"FAIL: {e}", file=sys.stderr)
                if sess.console_errors and not str(e).startswith("console errors"):
                    print("  console errors: " + " | ".join(sess.console_errors), file=sys.stderr)
                if args.screenshot:
                    try:
                        shot = page.screenshot(full_page=False)
                    except PlaywrightError:
                        pass
                return 1
            finally:
                if args.screenshot and shot:
                    with open(args.screenshot, "wb") as f:
                        f.write(shot)
                    log(f"screenshot saved to {args.screenshot}")
                ctx.close()
    finally:
        shutil.rmtree(user_data, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="base URL, e.g. http://127.0.0.1:8080")
    ap.add_argument("--token", required=True, help="annotator token")
    ap.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium executable")
    ap.add_argument("--screenshot", help="write a 1280x800 PNG here (last view with a task; on failure the failing view)")
    ap.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for the first task")
    ap.add_argument("--allow-drain", action="store_true",
                    help="pass if the queue empties before the click/skip steps (they are then not run)")
    ap.add_argument("--page-file", help="serve this index.html instead of the server's page (test an edit without a rebuild)")
    args = ap.parse_args()
    if not shutil.which(args.chromium):
        print(f"FAIL: no Chromium at {args.chromium} (Debian: apt-get install -y chromium)", file=sys.stderr)
        return 2
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
