"""Every Rapport process refuses to start on a missing, weak or placeholder RAPPORT_SECRET_KEY."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.local.mongo_server import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

PROCESSES = {
    "survey (gunicorn)": lambda: [
        str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py",
        "--bind", f"127.0.0.1:{free_port()}", "--workers", "1",
    ],
    "scoring": lambda: [sys.executable, "-m", "services.scoring"],
    "notify": lambda: [sys.executable, "-m", "services.notify"],
    "rapport CLI": lambda: [sys.executable, "-m", "services.survey.cli", "keys", "create", "--org", "x"],
}  # fmt: skip


def _start(command: list[str], **settings: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    # what a deployment has: if the key check failed, each would run (and time out)
    env.update(
        MONGO_URL="mongodb://127.0.0.1:9/",
        AMQP_URL="amqp://guest:guest@127.0.0.1:9/%2F",
        SMTP_URL="smtp://127.0.0.1:9",
        PYTHONPATH=str(ROOT),
        **settings,
    )
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("name", PROCESSES)
@pytest.mark.parametrize(
    "key, reason",
    [
        (None, "RAPPORT_SECRET_KEY is not set"),
        ("too-short-a-key", "RAPPORT_SECRET_KEY is 15 bytes, fewer than 32"),
        (
            "replace-me-with-secrets-token-urlsafe-48-output",
            "RAPPORT_SECRET_KEY is the placeholder",
        ),
    ],
)
def test_a_process_refuses_to_start_without_a_real_secret_key_in_one_line(name, key, reason):
    settings = {} if key is None else {"RAPPORT_SECRET_KEY": key}
    done = _start(PROCESSES[name](), **settings)
    assert done.returncode != 0, done.stderr
    refusal = [line for line in done.stderr.splitlines() if "RAPPORT_SECRET_KEY" in line]
    assert len(refusal) == 1 and reason in refusal[0], done.stderr
    assert "Traceback" not in done.stderr, done.stderr
