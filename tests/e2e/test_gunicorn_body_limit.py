"""The body limit under gunicorn (deploy/gunicorn.conf.py), with a chunked upload over it.

A real gunicorn worker gets a 64 MiB roster as `Transfer-Encoding: chunked` against a
1 MiB RAPPORT_MAX_BODY_BYTES: it answers 413 without reading the rest or growing.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from deploy.local.mongo_server import free_port
from tests.integration.test_admin_support import SAMPLE_ROWS, roster_csv

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 1024 * 1024
TOTAL = 64 * 1024 * 1024


@pytest.fixture
def gunicorn(mongo_uri, mongo_client, tmp_path):
    """gunicorn with one worker on a free port; yields (port, api key, worker pid)."""
    port, key = free_port(), "rk_limit_" + secrets.token_urlsafe(12)
    database = f"rapport_limit_{uuid.uuid4().hex[:10]}"
    env = {k: v for k, v in os.environ.items() if k not in ("AMQP_URL", "PROMETHEUS_MULTIPROC_DIR")}
    env.update(
        MONGO_URL=mongo_uri,
        MONGO_DB=database,
        RAPPORT_ENV="test",
        RAPPORT_SECRET_KEY=secrets.token_urlsafe(48),
        RAPPORT_BOOTSTRAP_API_KEY=key,
        RAPPORT_MAX_BODY_BYTES=str(LIMIT),
        RAPPORT_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    log = (tmp_path / "gunicorn.log").open("w")
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "-c",
        str(ROOT / "deploy/gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--threads",
        "2",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(port, process, tmp_path / "gunicorn.log")
        yield port, key, _worker_pid(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        mongo_client.drop_database(database)


def _wait_healthy(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not start: " + log.read_text()[-3000:])


def _worker_pid(master: int) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise AssertionError("no gunicorn worker")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _request(port: int, method: str, path: str, key: str, body: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    connection.request(method, path, body=json.dumps(body) if body else None, headers=headers)
    response = connection.getresponse()
    return response.status, json.loads(response.read() or b"null")


def _chunked_upload(port: int, path: str, key: str, first: bytes, filler: bytes, total: int):
    """Send a chunked body of about `total` bytes while reading the answer; returns
    (status, JSON body, bytes the server let the client send)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        "Content-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    )
    sent = 0

    def send() -> None:
        nonlocal sent
        try:
            sock.sendall(b"%x\r\n%s\r\n" % (len(first), first))
            sent += len(first)
            while sent < total:
                sock.sendall(b"%x\r\n%s\r\n" % (len(filler), filler))
                sent += len(filler)
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server closed the connection: what a client over the limit sees

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    response = http.client.HTTPResponse(sock)
    response.begin()
    status, body = response.status, json.loads(response.read())
    sender.join(30)
    sock.close()
    return status, body, sent


def test_a_chunked_roster_over_the_limit_is_a_413_and_the_worker_does_not_read_it(gunicorn):
    port, key, worker = gunicorn
    status, program = _request(port, "POST", "/api/v1/programs", key, {"name": "Limits"})
    assert status == 201, program
    rows = [{**SAMPLE_ROWS[0], "contact_email": f"c{n}@acme.example"} for n in range(2000)]
    filler = roster_csv(rows).encode().split(b"\r\n", 1)[1]  # rows without the header
    rss_before = _rss_mib(worker)

    status, body, sent = _chunked_upload(
        port,
        f"/api/v1/programs/{program['id']}/roster",
        key,
        roster_csv([]).encode(),
        filler,
        TOTAL,
    )

    assert status == 413, body
    assert body["error"]["code"] == "payload_too_large"
    assert f"{LIMIT:,} bytes" in body["error"]["message"]
    # What the client could send is the limit plus the sockets' buffers, not the 64 MiB.
    assert sent < TOTAL // 2, sent
    assert _rss_mib(worker) - rss_before < 32, (rss_before, _rss_mib(worker))
    status, accounts = _request(port, "GET", f"/api/v1/programs/{program['id']}/accounts", key)
    assert (status, accounts) == (200, {"items": []})  # nothing of the cut roster was imported
