"""A two-wave program whose second wave fires every kind of close-the-loop case, built the way
the product builds one (tests/support/survey_fixtures.py): answers go through the respondent
API, waves close through the admin function and the scoring worker's close.

Six buyers on two accounts (roster_rows: buyer i on account i % 2, decision makers are
buyers 1 and 4, seller i % 2 answers for buyer i). Account A0001's owner is seller 1,
A0002's seller 2. All answer "Spring review"; "Autumn review" then has

    buyer 1 (decision maker, A0001)  unchanged, but seller 1 now thinks far better of
                                     the relationship: decision_maker_blind_spot
    buyer 2 (A0002)                  from 100 to 50 (trusted advisor -> transactional,
                                     reliable): level_drop and ri_drop
    buyer 3 (A0001)                  recommends 3 instead of 9: became_detractor
    buyer 4 (decision maker, A0002)  does not answer: silent_decision_maker
    buyer 5 (A0001)                  antagonistic in both waves: antagonistic (each wave)
    buyer 6 (A0002)                  unchanged: nothing
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from pymongo.database import Database

from shared.settings import Settings
from tests.support.survey_fixtures import (
    Person,
    SurveyWorld,
    complete_answers,
    launch_next_wave,
    make_wave,
    roster_rows,
    survey_app,
)

ROSTER = {"buyers": 6, "sellers": 2, "accounts": 2, "every_seller_for_every_buyer": False}
MANAGER = "pm@northwind.example"
SELLER_1, SELLER_2 = "seller1@northwind.example", "seller2@northwind.example"

# (buyer value, recommend, what their seller predicts), per buyer; None: does not answer
SPRING = {1: (4, 8, 4), 2: (7, 9, 7), 3: (6, 9, 6), 4: (6, 9, 6), 5: (2, 5, 2), 6: (5, 9, 5)}
AUTUMN = {1: (4, 8, 7), 2: (4, 9, 4), 3: (6, 3, 6), 4: None, 5: (2, 5, 2), 6: (5, 9, 5)}


def buyer(n: int) -> str:
    return f"buyer{n}@client{(n - 1) % 2 + 1}.example"


# (kind, account, contact, owner) of every case each wave opens
SPRING_CASES = {("antagonistic", "A0001", buyer(5), SELLER_1)}
AUTUMN_CASES = {
    ("decision_maker_blind_spot", "A0001", buyer(1), SELLER_1),
    ("became_detractor", "A0001", buyer(3), SELLER_1),
    ("antagonistic", "A0001", buyer(5), SELLER_1),
    ("level_drop", "A0002", buyer(2), SELLER_2),
    ("ri_drop", "A0002", buyer(2), SELLER_2),
    ("silent_decision_maker", "A0002", buyer(4), SELLER_2),
}


@dataclass
class TwoWaves:
    spring: SurveyWorld
    autumn: SurveyWorld


def _submit(client: FlaskClient, person: Person, subject_id: str, answers: dict) -> None:
    response = client.post(
        f"/api/v1/respond/{person.token}/subjects/{subject_id}/submit", json={"answers": answers}
    )
    assert response.status_code == 200, response.get_json()


def answer_wave(client: FlaskClient, world: SurveyWorld, plan: dict[int, Any]) -> None:
    """Each buyer's answers and their seller's prediction about them, as `plan` says."""
    for n, person in enumerate(world.buyers, start=1):
        if plan[n] is None:
            continue
        value, recommend, predicted = plan[n]
        _submit(
            client,
            person,
            person.subject_ids[0],
            complete_answers(recommend=recommend, value=value),
        )
        seller = next(s for s in world.sellers if person.contact_id in s.subject_ids)
        _submit(client, seller, person.contact_id, complete_answers(recommend=9, value=predicted))


def spring_wave(db: Database, settings: Settings, **program: Any) -> SurveyWorld:
    """The program and its first wave, answered and still open."""
    world = make_wave(db, settings, manager_email=MANAGER, **ROSTER, **program)
    answer_wave(survey_app(db, settings).test_client(), world, SPRING)
    return world


def autumn_wave(db: Database, settings: Settings, spring: SurveyWorld) -> SurveyWorld:
    """The program's second wave (the first must be closed), answered and still open."""
    rows = roster_rows(language="en", **ROSTER)
    world = launch_next_wave(
        db, settings, spring.org_id, spring.program_id, rows, name="Autumn review"
    )
    answer_wave(survey_app(db, settings).test_client(), world, AUTUMN)
    return world


def opened(db: Database, wave_id: str) -> list[tuple[str, str, str, str]]:
    """(kind, account, contact, owner) of every case stored for the wave, duplicates kept."""
    return [
        (c["kind"], c["account_external_id"], c["contact_email"], c["owner_email"])
        for c in db.cases.find({"wave_id": wave_id})
    ]
