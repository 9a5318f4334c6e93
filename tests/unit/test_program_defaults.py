"""A new program's stored thresholds are the ones the scoring worker applies by default."""

from services.scoring.engine.settings import DEFAULT_SETTINGS, ScoringSettings
from services.survey.admin.programs import default_settings
from shared.store.cases import DEFAULT_DUE_HOURS


def test_a_new_programs_thresholds_are_the_engines_defaults():
    stored = default_settings()
    applied = ScoringSettings.from_program(stored)
    assert applied.low_n == DEFAULT_SETTINGS.low_n == stored["min_n"]
    assert applied.min_interval_accounts == DEFAULT_SETTINGS.min_interval_accounts
    assert applied.reliable_change == DEFAULT_SETTINGS.reliable_change
    assert applied.default_reliability == DEFAULT_SETTINGS.default_reliability
    assert stored["case_due_hours"] == DEFAULT_DUE_HOURS
