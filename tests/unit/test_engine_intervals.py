"""SCORING.md version 2's intervals on reliability and impact, worked by hand: Feldt's interval
for Cronbach's alpha and Fisher's z interval for a touchpoint's impact."""

from __future__ import annotations

import math

import pytest

from services.scoring.engine import score_wave, wave_result_to_json
from tests.unit.test_engine_formulas import (
    FAST,
    alpha_rows,
    response,
    touchpoint_wave,
    wave_from,
)


def alpha_wave(count: int):
    buyers = {f"b{i}@a": response(4, trust=tuple(row)) for i, row in enumerate(alpha_rows(count))}
    contacts = [(e, "A", "user") for e in buyers]
    return wave_from(accounts=[("A", 1.0)], contacts=contacts, buyers=buyers)


def test_feldt_interval_of_alpha_by_hand():
    # alpha = 0.96 over n = 10 responses to k = 3 items (test_cronbach_alpha_by_hand); F has
    # n - 1 = 9 and (n - 1)(k - 1) = 18 degrees of freedom; from an F table
    # F(0.975; 9, 18) = 2.9291 and F(0.025; 9, 18) = 1 / F(0.975; 18, 9) = 1 / 3.7014 = 0.27016:
    # low = 1 - 0.04 * 2.9291 = 0.88284, high = 1 - 0.04 * 0.27016 = 0.98919
    trust = wave_result_to_json(score_wave(alpha_wave(10), FAST))["dimensions"]["trust"]
    assert trust["alpha"] == pytest.approx(0.96)
    low, high = trust["alpha_ci95"]
    assert low == pytest.approx(0.88284, abs=1e-5)
    assert high == pytest.approx(0.98919, abs=1e-5)
    # without an alpha (under 10 complete responses) there is no interval
    nine = wave_result_to_json(score_wave(alpha_wave(9), FAST))["dimensions"]["trust"]
    assert nine["alpha"] is None and nine["alpha_ci95"] == [None, None]


def test_fisher_interval_of_impact_by_hand():
    # sales: r = 0.6 over n = 10 (test_touchpoint_performance_impact_and_quadrants);
    # atanh(0.6) = ln(1.6 / 0.4) / 2 = ln 2, half width c = 1.96 / sqrt(7) = 0.74081;
    # tanh(ln 2 -+ c) = (4 e^(-+2c) - 1) / (4 e^(-+2c) + 1) = -0.04763 and 0.89247
    touchpoints = wave_result_to_json(score_wave(touchpoint_wave(), FAST))["touchpoints"]
    c = 1.96 / math.sqrt(7)
    low, high = touchpoints["sales"]["impact_ci95"]
    assert low == pytest.approx((4 * math.exp(-2 * c) - 1) / (4 * math.exp(-2 * c) + 1))
    assert high == pytest.approx((4 * math.exp(2 * c) - 1) / (4 * math.exp(2 * c) + 1))
    assert (low, high) == (pytest.approx(-0.04763, abs=1e-5), pytest.approx(0.89247, abs=1e-5))
    # r = 1 and r = -1 have no spread on the z scale: the interval is the point
    assert touchpoints["service"]["impact_ci95"] == [pytest.approx(1.0), pytest.approx(1.0)]
    assert touchpoints["product"]["impact_ci95"] == [pytest.approx(-1.0), pytest.approx(-1.0)]
    assert touchpoints["billing"]["impact_ci95"] == [None, None]  # nobody rated billing
