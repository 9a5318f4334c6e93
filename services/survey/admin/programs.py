"""Programs: a company's relationship survey, with its settings and its roster of accounts."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from services.survey.errors import NotFound
from shared import clock
from shared.ids import new_id
from shared.questionnaire import load_bank
from shared.store import Database, programs, roster
from shared.store.cases import DEFAULT_DUE_HOURS
from shared.vocabulary import (
    DEFAULT_CUT_POINTS,
    DEFAULT_GAP_THRESHOLD,
    DEFAULT_REMINDER_DAYS,
    DEFAULT_ROLE_WEIGHTS,
)

LANGUAGE_PATTERN = r"^[a-z]{2,3}$"


def default_languages() -> list[str]:
    """The questionnaire's languages, its default first."""
    bank = load_bank()
    return [bank.default_language, *(x for x in bank.languages if x != bank.default_language)]


# SCORING.md version 2's thresholds and the cases' SLA, as a new program gets them
THRESHOLD_DEFAULTS: Final = MappingProxyType(
    {
        "case_due_hours": DEFAULT_DUE_HOURS,
        "min_n": 3,
        "min_interval_accounts": 5,
        "reliable_change": 1.96,
        "default_reliability": 0.8,
    }
)


def default_settings() -> dict[str, Any]:
    """A new program's settings when none are given."""
    return {
        "cut_points": list(DEFAULT_CUT_POINTS),
        "gap_threshold": DEFAULT_GAP_THRESHOLD,
        "role_weights": dict(DEFAULT_ROLE_WEIGHTS),
        "reminder_days": list(DEFAULT_REMINDER_DAYS),
        "languages": default_languages(),
        **THRESHOLD_DEFAULTS,
    }


def program_settings(
    given: Mapping[str, Any] | None, *, base: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """`base` (by default the defaults) overlaid with validated `given` settings: role weights
    merge by role, and a null `manager_email` removes it."""
    settings = {**default_settings(), **(base or {})}
    for key, value in (given or {}).items():
        if key == "role_weights":
            settings["role_weights"] = {**settings["role_weights"], **value}
        elif key == "manager_email" and value is None:
            settings.pop(key, None)
        else:
            settings[key] = value
    return settings


def create_program(
    *, db: Database, org_id: str, name: str, settings: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Create a program of the organisation with the given (already validated) settings."""
    program = {
        "_id": new_id(),
        "org_id": org_id,
        "name": name.strip(),
        "settings": program_settings(settings),
        "created_at": clock.stored_now(),
    }
    programs.insert(db=db, program=program)
    return program


def get_program(*, db: Database, org_id: str, program_id: str) -> dict[str, Any]:
    """The organisation's program; another organisation's is as unknown as a missing one."""
    program = programs.get(db=db, org_id=org_id, program_id=program_id)
    if program is None:
        raise NotFound("program not found")
    return program


def update_program(
    *,
    db: Database,
    org_id: str,
    program_id: str,
    name: str | None = None,
    settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Rename a program and merge (already validated) settings into its own; the program after."""
    program = get_program(db=db, org_id=org_id, program_id=program_id)
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name.strip()
    if settings:
        changes["settings"] = program_settings(settings, base=program.get("settings"))
    if not changes:
        return program
    changes["updated_at"] = clock.stored_now()
    updated = programs.update(db=db, org_id=org_id, program_id=program_id, changes=changes)
    if updated is None:
        raise NotFound("program not found")
    return updated


def list_programs(*, db: Database, org_id: str) -> list[dict[str, Any]]:
    """The organisation's programs, newest first."""
    return programs.list_for(db=db, org_id=org_id)


def list_accounts(*, db: Database, org_id: str, program_id: str) -> list[dict[str, Any]]:
    """The program's accounts by name, each with how many contacts and sellers it has."""
    get_program(db=db, org_id=org_id, program_id=program_id)
    scope = {"org_id": org_id, "program_id": program_id}
    account_of: dict[str, str] = {}
    contacts: Counter[str] = Counter()
    for contact in roster.list_contacts(db=db, **scope, fields=("email", "account_id")):
        account_of[contact["email"]] = contact["account_id"]
        contacts[contact["account_id"]] += 1
    sellers: defaultdict[str, set[str]] = defaultdict(set)
    for assignment in roster.list_assignments(
        db=db, **scope, fields=("contact_email", "seller_email")
    ):
        account_id = account_of.get(assignment["contact_email"])
        if account_id is not None:
            sellers[account_id].add(assignment["seller_email"])
    accounts = []
    for account in roster.list_accounts(db=db, **scope, by_name=True):
        account["contacts"] = contacts.get(account["_id"], 0)
        account["sellers"] = len(sellers.get(account["_id"], ()))
        accounts.append(account)
    return accounts
