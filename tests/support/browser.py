"""Browser-test support: the app on a real port, Debian's headless Chromium, axe-core checks.

Chromium is never downloaded: Playwright drives /usr/bin/chromium. axe-core is installed
from the npm registry by `deploy/local/ensure_chromium.sh` (`make browser`, run by
`make test`); when it is missing this module runs that script itself.
"""

from __future__ import annotations

import json
import logging
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_JS = ROOT / "var" / "test-tools" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
BLOCKING_IMPACTS = ("serious", "critical")


def axe_source() -> str:
    """The axe-core script, installed by the test set-up script when it is not there yet."""
    if not AXE_JS.exists():
        subprocess.run(["bash", str(ROOT / "deploy/local/ensure_chromium.sh")], check=True)
    return AXE_JS.read_text(encoding="utf-8")


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    """Serve the app with werkzeug on a free 127.0.0.1 port in a thread; yields its base URL."""
    # werkzeug's request log would print survey links (tokens): keep it quiet.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def launch_chromium(playwright):
    """Debian's Chromium, headless, with nothing that reaches out to the network."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def serious_violations(page, axe: str) -> list[dict]:
    """Run axe-core on the page (WCAG 2.1 A/AA and best practice); serious or critical only."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, so the page's CSP stays in force.
        page.evaluate(axe + "\n;void 0")
    results = page.evaluate(
        """async () => {
            const r = await axe.run(document, {
                runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
                                                'best-practice']},
                resultTypes: ['violations'],
            });
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        }"""
    )
    return [v for v in results if v["impact"] in BLOCKING_IMPACTS]


def assert_accessible(page, axe: str, name: str) -> None:
    """No serious or critical axe violation on this page; a screenshot is kept either way."""
    screenshot(page, name)
    violations = serious_violations(page, axe)
    assert not violations, f"{name}: " + json.dumps(violations, indent=1)


def screenshot(page, name: str) -> Path:
    """Keep a full-page screenshot under test-artifacts/ (gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
