"""Properties of the scoring engine over generated waves, and agreement with the naive reference."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deploy.local.synthetic import generate_roster_and_answers, generate_wave
from services.scoring.coaching import load_coaching_library
from services.scoring.engine import (
    COMPETITOR_ITEMS,
    DIMENSION_ITEMS,
    ROLES,
    TOUCHPOINT_ITEMS,
    TOUCHPOINTS,
    ScoringSettings,
    account_to_json,
    build_wave_input,
    response_scores_to_json,
    score_wave,
    wave_result_to_json,
)
from tests.support.naive import differences, score_wave_naive
from tests.support.one_response import score_one

LIBRARY = load_coaching_library()
QUICK = ScoringSettings(bootstrap_samples=20)
PROPERTY = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

AGREEMENT = st.sampled_from([None, 1, 2, 3, 4, 5, 6, 7])
COMPETITOR_NAMES = st.sampled_from([None, "Acme Corp", " acme  corp", "GLOBEX", "us", ""])


@st.composite
def answer_dicts(draw, *, buyer: bool = True, recommend_required: bool = False) -> dict:
    """Answers as the API stores them: null for "don't know", some items left out."""
    answers = {item: draw(AGREEMENT) for item in (*DIMENSION_ITEMS, "satisfaction")}
    for item in TOUCHPOINT_ITEMS:
        if draw(st.booleans()):
            answers[item] = draw(AGREEMENT)
    recommend = st.integers(0, 10) if recommend_required else st.sampled_from([None, *range(11)])
    answers["recommend"] = draw(recommend)
    if buyer:
        if draw(st.booleans()):
            for item in COMPETITOR_ITEMS:
                answers[item] = draw(st.sampled_from([None, -2, -1, 0, 1, 2]))
        answers["competitor.name"] = draw(COMPETITOR_NAMES)
        for kind in ("start", "stop", "continue"):
            answers[f"comment.{kind}"] = draw(st.sampled_from([None, "", "call more", " as is "]))
        moments = draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "touchpoint": st.sampled_from(TOUCHPOINTS),
                        "tag": st.sampled_from(["delighted", "let_down", "angry"]),
                        "text": st.sampled_from(["late", "great call", ""]),
                    }
                ),
                max_size=2,
            )
        )
        answers["moments"] = moments or None
    return answers


@st.composite
def rosters(draw) -> list[dict]:
    """Roster rows: 1-4 accounts of 1-3 contacts, each with 0-2 of 1-3 sellers."""
    sellers = [f"s{i}@us.example" for i in range(draw(st.integers(1, 3)))]
    rows = []
    for a in range(draw(st.integers(1, 4))):
        revenue = draw(st.one_of(st.none(), st.integers(0, 10**6).map(float)))
        for c in range(draw(st.integers(1, 3))):
            assigned = draw(st.lists(st.sampled_from(sellers), max_size=2, unique=True))
            role = draw(st.sampled_from(ROLES))
            for seller in assigned or [None]:
                rows.append(
                    {
                        "account_id": f"A{a}",
                        "account_name": f"Account {a}",
                        "annual_revenue": revenue,
                        "contact_email": f"c{c}@a{a}.example",
                        "contact_name": f"Contact {c}",
                        "contact_role": role,
                        "seller_email": seller,
                        "seller_name": seller,
                    }
                )
    return rows


@st.composite
def responses(draw, roster: list[dict], *, recommend_required: bool = False) -> dict:
    """Buyer and seller responses on a roster: each buyer and assignment may answer."""
    buyers, sellers_answers, seen = [], [], set()
    for row in roster:
        email = row["contact_email"]
        if email not in seen:
            seen.add(email)
            if draw(st.integers(0, 4)) > 0:
                answers = draw(answer_dicts(recommend_required=recommend_required))
                buyers.append({"contact_email": email, "answers": answers})
        if row["seller_email"] and draw(st.integers(0, 3)) > 0:
            answers = draw(answer_dicts(buyer=False))
            sellers_answers.append(
                {"seller_email": row["seller_email"], "contact_email": email, "answers": answers}
            )
    return {"roster": roster, "buyer_responses": buyers, "seller_responses": sellers_answers}


@st.composite
def waves(draw, *, recommend_required: bool = False) -> dict:
    return draw(responses(draw(rosters()), recommend_required=recommend_required))


def by_account(results: dict) -> dict:
    """Results with the ranked account list keyed by external id (float ties may swap ranks)."""
    return {**results, "accounts": {a["external_id"]: a for a in results["accounts"]}}


def assert_ranked(accounts: list[dict]) -> None:
    priorities = [a["priority"] for a in accounts]
    known = [p for p in priorities if p is not None]
    assert priorities[: len(known)] == known, "accounts without a priority come last"
    assert all(x >= y - 1e-9 * max(1.0, abs(x)) for x, y in zip(known, known[1:], strict=False))


@PROPERTY
@given(wave=waves(recommend_required=True))
def test_segment_counts_sum_to_responses_with_an_index(wave):
    results = wave_result_to_json(score_wave(build_wave_input(**wave), QUICK))
    with_index = sum(
        score_one(b["answers"])["relationship_index"] is not None for b in wave["buyer_responses"]
    )
    assert sum(results["segments"].values()) == with_index
    assert sum(results["levels"].values()) == len(wave["buyer_responses"])
    assert results["levels"]["insufficient"] == len(wave["buyer_responses"]) - with_index
    accounts = results["distributions"]["segments"]["accounts"]
    assert sum(accounts.values()) == sum(a["segment"] is not None for a in results["accounts"])


@PROPERTY
@given(data=st.data())
def test_swapping_buyer_and_seller_negates_every_gap(data):
    roster = data.draw(rosters())
    contacts = list(dict.fromkeys(row["contact_email"] for row in roster))
    buyer_answers = {c: data.draw(answer_dicts(buyer=False)) for c in contacts}
    seller_answers = {c: data.draw(answer_dicts(buyer=False)) for c in contacts}
    # one seller per contact, so each contact has exactly one pair
    rows = [{**row, "seller_email": "s@us.example"} for row in roster]

    def scored(buyers: dict, sellers: dict):
        return score_wave(
            build_wave_input(
                roster=rows,
                buyer_responses=[{"contact_email": c, "answers": buyers[c]} for c in contacts],
                seller_responses=[
                    {"seller_email": "s@us.example", "contact_email": c, "answers": sellers[c]}
                    for c in contacts
                ],
            ),
            QUICK,
        )

    forward = scored(buyer_answers, seller_answers)
    swapped = scored(seller_answers, buyer_answers)
    for name in ("gap", "dimension_gaps", "item_gaps", "nps_gap"):
        np.testing.assert_allclose(
            getattr(swapped.pairs, name), -getattr(forward.pairs, name), atol=1e-9
        )
    for name in ("gap", "dimension_gaps", "nps_gap"):
        np.testing.assert_allclose(
            getattr(swapped.contacts, name), -getattr(forward.contacts, name), atol=1e-9
        )
    np.testing.assert_allclose(swapped.accounts.gap, -forward.accounts.gap, atol=1e-9)
    # blind_spot (0) and undervalued (2) trade places, aligned (1) and missing (-1) stay
    mirror = np.array([2, 1, 0, -1])
    assert (swapped.pairs.gap_class == mirror[forward.pairs.gap_class]).all()
    assert (
        swapped.contacts.dimension_gap_classes == mirror[forward.contacts.dimension_gap_classes]
    ).all()


@PROPERTY
@given(wave=waves(), factor=st.sampled_from([0.25, 2.0, 7.0, 1000.0]))
def test_scaling_all_role_weights_changes_nothing(wave, factor):
    base = QUICK
    scaled = ScoringSettings(
        bootstrap_samples=20, role_weights={r: w * factor for r, w in base.role_weights.items()}
    )
    inputs = build_wave_input(**wave)
    plain = wave_result_to_json(score_wave(inputs, base))
    weighted = wave_result_to_json(score_wave(inputs, scaled))
    assert differences(by_account(plain), by_account(weighted)) == []


@PROPERTY
@given(wave=waves())
def test_wave_rows_equal_scoring_each_response_alone(wave):
    result = score_wave(build_wave_input(**wave), QUICK)
    for row, buyer in enumerate(wave["buyer_responses"]):
        assert response_scores_to_json(result.buyers, row) == score_one(buyer["answers"])
    for row, seller in enumerate(wave["seller_responses"]):
        assert response_scores_to_json(result.sellers, row) == score_one(seller["answers"])
    for position, email in enumerate(result.wave.contact_email.tolist()):
        responded = [b for b in wave["buyer_responses"] if b["contact_email"] == email]
        alone = score_one(responded[0]["answers"]) if responded else None
        ri = result.contacts.relationship_index[position]
        if alone is None or alone["relationship_index"] is None:
            assert math.isnan(ri)
        else:
            assert ri == alone["relationship_index"]


@PROPERTY
@given(data=st.data())
def test_engine_equals_the_naive_implementation(data):
    roster = data.draw(rosters())
    now = data.draw(responses(roster))
    # the previous wave may miss the last account, as a roster changes between waves
    last = roster[-1]["account_id"]
    cut = data.draw(st.booleans())
    before_roster = [r for r in roster if not (cut and r["account_id"] == last)] or roster
    before = data.draw(responses(before_roster))
    reverse = data.draw(st.sampled_from([frozenset(), frozenset({"trust.2", "satisfaction"})]))
    settings_ = data.draw(
        st.sampled_from(
            [
                QUICK,
                ScoringSettings(cut_points=(30, 55, 75), gap_threshold=5, bootstrap_samples=15),
                ScoringSettings(questionnaire="pulse", bootstrap_samples=15),
            ]
        )
    )
    result = score_wave(
        build_wave_input(**now, reverse_items=reverse),
        settings_,
        previous=build_wave_input(**before, reverse_items=reverse),
    )
    engine = {
        "results": wave_result_to_json(result),
        "accounts": {
            e: account_to_json(result, e, coaching_library=LIBRARY)
            for e in result.wave.account_external_id.tolist()
        },
    }
    naive = score_wave_naive(
        now, settings_, before, reverse_items=reverse, coaching_library=LIBRARY
    )
    assert_ranked(engine["results"]["accounts"])
    assert_ranked(naive["results"]["accounts"])
    assert differences(by_account(engine["results"]), by_account(naive["results"])) == []
    assert differences(engine["accounts"], naive["accounts"]) == []


def test_engine_equals_naive_on_a_synthetic_program():
    now = generate_roster_and_answers(40, seed=5)
    before = generate_roster_and_answers(40, seed=5, wave=1)
    settings_ = ScoringSettings(bootstrap_samples=200)
    result = score_wave(build_wave_input(**now), settings_, previous=build_wave_input(**before))
    naive = score_wave_naive(now, settings_, before, coaching_library=LIBRARY)
    assert differences(by_account(wave_result_to_json(result)), by_account(naive["results"])) == []
    for external_id, document in naive["accounts"].items():
        assert (
            differences(account_to_json(result, external_id, coaching_library=LIBRARY), document)
            == []
        )
    assert result.alerts, "a synthetic program has some relationship alerts"


def test_synthetic_records_build_the_same_input_as_the_generator():
    direct = generate_wave(30, seed=9)
    built = build_wave_input(**generate_roster_and_answers(30, seed=9))
    for name in direct.__dataclass_fields__:
        a, b = getattr(direct, name), getattr(built, name)
        if isinstance(a, np.ndarray) and a.dtype != object:
            np.testing.assert_array_equal(a, b, err_msg=name)
        else:
            assert list(a) == list(b), name
    assert direct.n_buyers > 0 and direct.n_seller_responses > direct.n_buyers / 2


def test_engine_equals_naive_when_the_bootstrap_draws_counts():
    # each dimension answered with one value: RI on a grid of 37 values, enough buyers per value
    # that both RI and NPS draw multinomial counts over distinct values rather than indices
    now = generate_roster_and_answers(200, seed=11)
    for row in now["buyer_responses"]:
        answers = row["answers"]
        for item in DIMENSION_ITEMS:
            answers[item] = answers[item.split(".")[0] + ".1"] or 4
    settings_ = ScoringSettings(bootstrap_samples=200)
    result = wave_result_to_json(score_wave(build_wave_input(**now), settings_))
    naive = score_wave_naive(now, settings_, with_accounts=False)["results"]
    assert differences(by_account(result), by_account(naive)) == []
    low, high = result["relationship_index"]["ci95"]
    assert low < result["relationship_index"]["value"] < high


def without_order(results: dict) -> dict:
    """Results keyed where their lists follow the roster's order (accounts, alerts, sellers)."""
    alerts = sorted(results["alerts"], key=lambda a: sorted(map(str, a.values())))
    sellers = {s["email"]: s for s in results["sellers"]}
    return {**by_account(results), "alerts": alerts, "sellers": sellers}


@PROPERTY
@given(data=st.data())
def test_reordering_accounts_contacts_and_responses_changes_no_number(data):
    wave = data.draw(waves())
    shuffled = {
        "roster": data.draw(st.permutations(wave["roster"])),
        "buyer_responses": data.draw(st.permutations(wave["buyer_responses"])),
        "seller_responses": data.draw(st.permutations(wave["seller_responses"])),
    }
    settings_ = ScoringSettings(bootstrap_samples=200)
    original = wave_result_to_json(score_wave(build_wave_input(**wave), settings_))
    reordered = wave_result_to_json(score_wave(build_wave_input(**shuffled), settings_))
    assert differences(without_order(original), without_order(reordered)) == []


@PROPERTY
@given(data=st.data())
def test_a_pulse_wave_scores_each_dimension_by_its_one_item_and_reports_no_alpha(data):
    roster = data.draw(rosters())
    now = data.draw(responses(roster))
    pulse = ScoringSettings(questionnaire="pulse", bootstrap_samples=10)
    result = wave_result_to_json(score_wave(build_wave_input(**now), pulse))
    for summary in result["dimensions"].values():
        assert summary["alpha"] is None and summary["alpha_ci95"] == [None, None]
        assert summary["alpha_reason"].startswith("pulse wave")

    # only each dimension's first item counts: dropping the others changes no number
    def first_items_only(people: list[dict]) -> list[dict]:
        return [
            {
                **p,
                "answers": {k: v for k, v in p["answers"].items() if not k.endswith((".2", ".3"))},
            }
            for p in people
        ]

    shorter = {
        **now,
        "buyer_responses": first_items_only(now["buyer_responses"]),
        "seller_responses": first_items_only(now["seller_responses"]),
    }
    again = wave_result_to_json(score_wave(build_wave_input(**shorter), pulse))
    assert differences(again, result) == []
