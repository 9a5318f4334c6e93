"""The load test's own logic: threshold checks, seeding rows, answers."""

from __future__ import annotations

import csv

from loadtests.answers import SECTIONS, section_answers
from loadtests.run import check_thresholds
from loadtests.seed import roster_rows
from shared.questionnaire import missing_for_submit, validate_answers

HEADER = ["Type", "Name", "Request Count", "Failure Count", "Requests/s", "50%", "95%", "99%"]


def _stats(tmp_path, rows):
    path = tmp_path / "stats.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


THRESHOLDS = {
    "max_error_rate": 0.01,
    "min_requests": 10,
    "p95_ms": {"default": 1000, "buyer: submit": 1500},
}


def test_a_run_within_thresholds_has_no_breach(tmp_path):
    stats = _stats(
        tmp_path,
        [
            ["PUT", "buyer: save page", 100, 0, 5, 20, 300, 500],
            ["POST", "buyer: submit", 10, 0, 1, 100, 1400, 1500],
            ["", "Aggregated", 110, 0, 6, 25, 400, 900],
        ],
    )
    assert check_thresholds(stats, THRESHOLDS) == []


def test_a_slow_step_and_too_many_errors_are_each_reported(tmp_path):
    stats = _stats(
        tmp_path,
        [
            ["PUT", "buyer: save page", 100, 3, 5, 20, 1200, 1500],
            ["POST", "buyer: submit", 10, 0, 1, 100, 1400, 1500],
            ["", "Aggregated", 110, 3, 6, 25, 400, 900],
        ],
    )
    breaches = check_thresholds(stats, THRESHOLDS)
    assert any("buyer: save page: p95 1200 ms > 1000 ms" in b for b in breaches)
    assert any(b.startswith("error rate 2.73%") for b in breaches)
    assert not any("buyer: submit" in b for b in breaches)  # its own limit is 1500


def test_a_run_that_measured_nothing_fails(tmp_path):
    stats = _stats(tmp_path, [["", "Aggregated", 3, 0, 0.1, 20, 30, 30]])
    assert any("only 3 requests" in b for b in check_thresholds(stats, THRESHOLDS))


def test_seeded_roster_assigns_every_contact_a_seller_and_a_known_role():
    rows = roster_rows(accounts=5, contacts_per_account=4, sellers=3)
    contacts = {r["contact_email"] for r in rows}
    assert len(contacts) == 20
    assert {r["contact_role"] for r in rows} <= {"decision_maker", "influencer", "user", "other"}
    assert all(r["annual_revenue"] > 0 for r in rows)


def test_generated_answers_are_valid_and_submittable():
    for quality in (0.0, 0.5, 1.0):
        answers = {}
        for section in SECTIONS:
            answers.update(section_answers(section, quality=quality))
        cleaned = validate_answers(answers)
        # "don't know" is drawn 5% of the time per item, so allow a rare miss on dimensions
        missing = missing_for_submit(cleaned)
        assert "recommend" not in missing
