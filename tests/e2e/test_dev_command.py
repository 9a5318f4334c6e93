"""`make dev`'s runner, started as a new user would: from nothing to /readyz, then Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from deploy.local.dev import DEMO_ORGANISATION
from deploy.local.mongo_server import free_port
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_dev_runner_serves_health_and_readiness_then_stops_cleanly(tmp_path):
    port = free_port()
    # nothing set, as on a fresh clone: the runner says it is `make dev` and makes its own key
    unset = ("MONGO_URL", "AMQP_URL", "SMTP_URL", "RAPPORT_ENV", "RAPPORT_SECRET_KEY")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(PORT=str(port), RAPPORT_VAR_DIR=str(tmp_path), RAPPORT_LOG_FORMAT="text")
    log_path = tmp_path / "dev.log"
    log = log_path.open("w")  # a file, not a pipe: a chatty child must never block on a full pipe
    process = subprocess.Popen(
        [sys.executable, "-m", "deploy.local.dev"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline:
            try:
                status, _ = _get(f"{base}/readyz")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert status == 200, log_path.read_text()[-3000:]
        assert _get(f"{base}/healthz")[0] == 200
        # the data lives in memory and is kept in a snapshot under var/ (written every 5 s)
        assert wait_for(lambda: (tmp_path / "rapport.snapshot").exists(), timeout=30)
        api_key = (tmp_path / "dev-api-key").read_text().strip()
        assert api_key.startswith("rk_")
        secret_key = tmp_path / "dev-secret-key"
        assert len(secret_key.read_text().strip()) >= 32
        assert secret_key.stat().st_mode & 0o077 == 0  # readable by its owner only
        # the demo: one closed wave with final results, readable through the admin API
        wave_id = re.search(r"closed wave ([0-9a-f]{32})", log_path.read_text()).group(1)
        request = urllib.request.Request(
            f"{base}/api/v1/waves/{wave_id}/results", headers={"Authorization": f"Bearer {api_key}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            results = json.load(response)
        assert results["final"] is True and results["status"] == "closed"
        assert results["n_buyers"] > 0 and results["relationship_index"]["value"] is not None
        # every URL it prints answers: the service, the API index, the mail
        banner = wait_for(lambda: "Rapport is running" in log_path.read_text(), timeout=10)
        assert banner
        printed = set(re.findall(r"http://127\.0\.0\.1:\d+/[^\s)]*", log_path.read_text()))
        assert {f"{base}/", f"{base}/api/v1/", f"{base}/dev/mail"} <= printed
        # the console's one-click sign-in link for the admin of `default`
        assert any(url.startswith(f"{base}/app/sign-in/link/") for url in printed)
        for url in printed:
            assert _get(url)[0] == 200, url
        # the demo organisation has a name people can read, never the internal `default`
        request = urllib.request.Request(
            f"{base}/api/v1/organisation", headers={"Authorization": f"Bearer {api_key}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            organisation = json.load(response)
        assert organisation["name"] == "default"
        assert organisation["display_name"] == DEMO_ORGANISATION
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        log.close()
    output = log_path.read_text()
    assert process.returncode == 0, output
    assert "API key" in output and "/dev/mail" in output
    assert f"organisation    {DEMO_ORGANISATION}" in output


def _start_dev(tmp_path: Path, port: int, log_name: str) -> tuple[subprocess.Popen, Path]:
    unset = ("MONGO_URL", "AMQP_URL", "SMTP_URL", "RAPPORT_ENV", "RAPPORT_SECRET_KEY")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(PORT=str(port), RAPPORT_VAR_DIR=str(tmp_path), RAPPORT_LOG_FORMAT="text")
    log_path = tmp_path / log_name
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "deploy.local.dev"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    ready = wait_for(
        lambda: _ready(f"http://127.0.0.1:{port}") or process.poll() is not None, timeout=120
    )
    assert ready and process.poll() is None, log_path.read_text()[-3000:]
    return process, log_path


def _ready(base: str) -> bool:
    try:
        return _get(f"{base}/readyz")[0] == 200
    except OSError:
        return False


def _call(base: str, api_key: str, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{base}/api/v1{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def _stop(process: subprocess.Popen, log_path: Path) -> None:
    process.send_signal(signal.SIGINT)
    process.wait(timeout=120)
    assert process.returncode == 0, log_path.read_text()[-3000:]


def test_an_imported_roster_survives_a_restart_of_make_dev(tmp_path):
    from tests.support.survey_fixtures import roster_rows

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process, log_path = _start_dev(tmp_path, port, "first.log")
    try:
        api_key = (tmp_path / "dev-api-key").read_text().strip()
        program = _call(base, api_key, "POST", "/programs", {"name": "Imported"})
        rows = roster_rows(
            buyers=30, sellers=3, accounts=10, language="en", every_seller_for_every_buyer=False
        )
        report = _call(base, api_key, "POST", f"/programs/{program['id']}/roster", {"rows": rows})
        assert report["contacts_created"] == 30
        before = _call(base, api_key, "GET", f"/programs/{program['id']}/accounts")["items"]
        programs_before = _call(base, api_key, "GET", "/programs")["items"]
    finally:
        _stop(process, log_path)

    process, log_path = _start_dev(tmp_path, port, "second.log")
    try:
        after = _call(base, api_key, "GET", f"/programs/{program['id']}/accounts")["items"]
        assert len(after) == 10 and after == before
        # the demo was made once, not again: the same programs, nothing more
        programs_after = _call(base, api_key, "GET", "/programs")["items"]
        assert [p["id"] for p in programs_after] == [p["id"] for p in programs_before]
    finally:
        _stop(process, log_path)
