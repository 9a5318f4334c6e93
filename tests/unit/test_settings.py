"""Settings from the environment: no process signs links with a public or weak key."""

from __future__ import annotations

import pytest

from shared.settings import DEV_SECRET_KEY, Settings, SettingsError
from shared.tokens import invitation_id_from_token, sign_invitation

STRONG = "k" * 32


def test_without_a_secret_key_settings_are_refused_naming_the_variable():
    with pytest.raises(SettingsError, match="RAPPORT_SECRET_KEY is not set"):
        Settings.from_env({})


def test_a_token_forged_with_the_public_dev_key_never_opens_a_survey():
    forged = sign_invitation("invitation-1", Settings(secret_keys=(DEV_SECRET_KEY,)))
    with pytest.raises(SettingsError):  # the service cannot start on the public key ...
        Settings.from_env({"RAPPORT_SECRET_KEY": DEV_SECRET_KEY})
    settings = Settings.from_env({"RAPPORT_SECRET_KEY": STRONG})  # ... and a real one refuses it
    assert invitation_id_from_token(forged, settings) is None
    assert invitation_id_from_token(sign_invitation("invitation-1", settings), settings)


@pytest.mark.parametrize(
    "key, accepted",
    [("k" * 31, False), ("k" * 32, True), ("é" * 16, True), ("é" * 15 + "k", False)],
)
def test_a_secret_key_needs_at_least_32_bytes(key, accepted):
    if accepted:
        assert Settings.from_env({"RAPPORT_SECRET_KEY": key}).secret_keys == (key,)
    else:
        with pytest.raises(SettingsError, match="RAPPORT_SECRET_KEY is .* bytes, fewer than 32"):
            Settings.from_env({"RAPPORT_SECRET_KEY": key})


def test_every_key_of_a_rotation_is_checked_since_every_key_verifies():
    with pytest.raises(SettingsError, match=r"RAPPORT_SECRET_KEY \(key 2\)"):
        Settings.from_env({"RAPPORT_SECRET_KEY": f"{STRONG},short"})
    both = Settings.from_env({"RAPPORT_SECRET_KEY": f"{STRONG}, {'m' * 40}"})
    assert both.secret_keys == (STRONG, "m" * 40) and both.secret_key == STRONG


@pytest.mark.parametrize("environment", ["dev", "test", " Dev "])
def test_make_dev_and_the_tests_say_so_and_may_run_without_a_key(environment):
    settings = Settings.from_env({"RAPPORT_ENV": environment})
    assert settings.secret_keys == (DEV_SECRET_KEY,)
    assert (
        Settings.from_env({"RAPPORT_ENV": environment, "RAPPORT_SECRET_KEY": "x"}).secret_key == "x"
    )


def test_an_unknown_rapport_env_is_refused_rather_than_taken_for_dev():
    with pytest.raises(SettingsError, match="RAPPORT_ENV must be one of production, dev, test"):
        Settings.from_env({"RAPPORT_ENV": "staging"})
    with pytest.raises(SettingsError, match="RAPPORT_SECRET_KEY"):
        Settings.from_env({"RAPPORT_ENV": "production"})


def test_a_refused_setting_ends_the_process_with_one_line(monkeypatch):
    monkeypatch.delenv("RAPPORT_SECRET_KEY", raising=False)
    monkeypatch.delenv("RAPPORT_ENV", raising=False)
    with pytest.raises(SystemExit) as exited:
        Settings.from_env_or_exit()
    message = str(exited.value.code)
    assert message.startswith("rapport: cannot start: RAPPORT_SECRET_KEY is not set")
    assert "\n" not in message


def test_the_whole_wave_limit_and_the_digest_length_come_from_the_environment():
    defaults = Settings.from_env({"RAPPORT_ENV": "test"})
    assert (defaults.whole_wave_max_invited, defaults.priority_accounts_shown) == (5000, 10)
    settings = Settings.from_env(
        {
            "RAPPORT_ENV": "test",
            "RAPPORT_WHOLE_WAVE_MAX_INVITED": "200",
            "RAPPORT_PRIORITY_ACCOUNTS_SHOWN": "3",
        }
    )
    assert (settings.whole_wave_max_invited, settings.priority_accounts_shown) == (200, 3)
