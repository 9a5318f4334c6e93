"""The `rapport` CLI over the same service functions as the admin API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.bootstrap import build
from services.survey.cli import main
from shared.bus import InProcessBus
from tests.conftest import isolated_settings
from tests.integration.test_admin_support import SAMPLE_ROWS, admin_app, roster_csv

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def container(db):
    settings = isolated_settings()
    return build(settings, db=db, bus=InProcessBus(settings))


def run(container, capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv), container=container)
    out, err = capsys.readouterr()
    return status, out, err


def test_a_program_manager_runs_a_wave_from_the_shell(container, capsys, tmp_path, db):
    status, key, _ = run(container, capsys, "keys", "create", "--org", "Acme")
    assert status == 0
    key = key.strip()
    assert key.startswith("rk_")

    status, out, _ = run(
        container, capsys, "programs", "create", "--org", "Acme", "--name", "Key accounts",
        "--settings", '{"gap_threshold": 15}',
    )  # fmt: skip
    program = json.loads(out)
    assert status == 0 and program["settings"]["gap_threshold"] == 15
    assert program["settings"]["cut_points"] == [40, 60, 80]

    roster_file = tmp_path / "roster.csv"
    roster_file.write_text(roster_csv(SAMPLE_ROWS))
    status, out, _ = run(
        container, capsys, "roster", "import", str(roster_file), "--program", program["id"]
    )
    assert status == 0 and json.loads(out)["contacts_created"] == 3
    status, out, _ = run(
        container, capsys, "roster", "import", str(roster_file), "--program", program["id"]
    )
    assert json.loads(out)["contacts_created"] == json.loads(out)["contacts_updated"] == 0

    status, out, _ = run(
        container, capsys, "waves", "create", "--program", program["id"], "--name", "Spring",
        "--closes-at", "2099-06-30T18:00:00Z", "--reminder-days", "2,6",
    )  # fmt: skip
    wave = json.loads(out)
    assert status == 0 and wave["status"] == "draft" and wave["reminder_days"] == [2, 6]

    status, out, err = run(container, capsys, "waves", "launch", wave["id"], "--delivery", "email")
    launched = json.loads(out)
    assert status == 0
    assert (launched["invited_buyers"], launched["invited_sellers"]) == (3, 2)
    assert launched["events_pending"] == 1  # no broker bound: it waits in the outbox
    assert "outbox" in err

    status, _, err = run(container, capsys, "waves", "launch", wave["id"], "--delivery", "email")
    assert status == 1 and "launched once" in err
    assert db.invitations.count_documents({"wave_id": wave["id"]}) == 5

    status, out, _ = run(container, capsys, "waves", "status", wave["id"])
    assert json.loads(out)["counts"]["buyers"]["invited"] == 3
    status, out, _ = run(container, capsys, "waves", "links", wave["id"])
    assert len(json.loads(out)["items"]) == 5
    status, out, _ = run(container, capsys, "waves", "close", wave["id"])
    assert status == 0 and json.loads(out)["status"] == "closing"

    # The key printed once works against the HTTP API of the same database.
    client = admin_app(db).test_client()
    response = client.get(f"/api/v1/waves/{wave['id']}", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200 and response.get_json()["status"] == "closing"


def test_cli_errors_are_one_clear_line_and_a_nonzero_status(container, capsys, tmp_path):
    status, _, err = run(container, capsys, "waves", "status", "no-such-wave")
    assert status == 1 and "wave no-such-wave not found" in err
    status, _, err = run(
        container,
        capsys,
        "programs",
        "create",
        "--org",
        "A",
        "--name",
        "P",
        "--settings",
        '{"x": 1}',
    )
    assert status == 1 and "x" in err
    _, out, _ = run(container, capsys, "programs", "create", "--org", "A", "--name", "P")
    program = json.loads(out)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x00\x01binary")
    status, _, err = run(
        container, capsys, "roster", "import", str(bad), "--program", program["id"]
    )
    assert status == 1 and "binary" in err
    status, _, err = run(
        container,
        capsys,
        "roster",
        "import",
        str(tmp_path / "missing.csv"),
        "--program",
        program["id"],
    )
    assert status == 1 and "cannot read" in err
    status, _, err = run(container, capsys, "waves", "status", "x", "--org", "nobody")
    assert status == 1 and "nobody" in err


def test_org_set_name_gives_the_default_organisation_the_name_people_read(container, capsys, db):
    from services.survey.organisations import ensure_organisation
    from shared.organisation import load_branding

    org_id = ensure_organisation(db=container.db, name="default")
    assert load_branding(container.db, org_id).display_name is None
    status, out, _ = run(container, capsys, "org", "set-name", "Northwind Supplies")
    assert status == 0
    assert json.loads(out)["display_name"] == "Northwind Supplies"
    branding = load_branding(container.db, org_id)
    assert (branding.display_name, branding.from_name) == ("Northwind Supplies",) * 2
    status, out, _ = run(
        container, capsys, "org", "set-name", "Northwind", "--sender-name", "Northwind Sales"
    )
    assert status == 0 and load_branding(container.db, org_id).from_name == "Northwind Sales"
    status, out, _ = run(container, capsys, "org", "show")
    assert json.loads(out)["display_name"] == "Northwind"
    status, _, err = run(container, capsys, "org", "set-name", "X", "--org", "nobody")
    assert status == 1 and "no organisation called 'nobody'" in err
    status, _, err = run(container, capsys, "org", "set-name", "Bad\nName")
    assert status == 1 and "display_name" in err
    assert load_branding(container.db, org_id).display_name == "Northwind"


def test_the_rapport_command_reads_mongo_url_from_the_environment(mongo_uri, db):
    env = {
        **os.environ,
        "MONGO_URL": mongo_uri,
        "MONGO_DB": db.name,
        "PYTHONPATH": str(ROOT),
        "RAPPORT_ENV": "test",
    }
    env.pop("AMQP_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "services.survey.cli", "keys", "create", "--org", "Shell"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("rk_")
    assert db.organisations.find_one({"name": "Shell"}) is not None
    missing = subprocess.run(
        [sys.executable, "-m", "services.survey.cli", "keys", "create", "--org", "Shell"],
        capture_output=True, text=True, env={k: v for k, v in env.items() if k != "MONGO_URL"},
        cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert missing.returncode == 1 and "MONGO_URL" in missing.stderr
