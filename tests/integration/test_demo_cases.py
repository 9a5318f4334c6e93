"""`make dev`'s demo program shows the loop working: its closed wave has cases."""

from __future__ import annotations

import dataclasses

from deploy.local.demo import ensure_demo
from services.bootstrap import build
from services.survey.admin.cases import list_cases
from shared.bus import InProcessBus
from tests.conftest import isolated_settings


def test_the_demo_programs_closed_wave_has_cases(db):
    settings = dataclasses.replace(isolated_settings(), mongo_db=db.name)
    bus = InProcessBus(settings, declare={"everything": ("#",)})
    container = build(settings, db=db, bus=bus)
    wave_id = ensure_demo(container=container, accounts=4, contacts_per_account=3)
    org_id = db.waves.find_one({"_id": wave_id})["org_id"]
    found = list_cases(db=db, org_id=org_id, wave_id=wave_id)
    assert found["items"], "the demo's closed wave opened no case"
    assert all(c["owner_email"] for c in found["items"])
    statuses = sorted(c["status"] for c in found["items"])
    assert statuses.count("in_progress") == 1 and statuses.count("closed") == 1
    summary = found["closed_in_time"]["wave"]
    assert summary["cases"] == len(found["items"]) and summary["closed_in_time"] == 1
