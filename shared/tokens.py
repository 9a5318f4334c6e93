"""Signed respondent tokens: an HMAC of the invitation id, with key rotation.

The token is never stored; it can be re-created from the invitation id for reminders,
and a database leak does not reveal it. The first key signs, every key verifies.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

from shared.settings import Settings

_SALT = "rapport.invitation.v1"


def _serializer(settings: Settings) -> URLSafeSerializer:
    # A list of keys: itsdangerous signs with the last and verifies with all.
    return URLSafeSerializer(list(reversed(settings.secret_keys)), salt=_SALT)


# A re-issued link signs "<invitation id>~<version>": the invitation's `link_version` says
# which one is valid, so every earlier link of the person stops working.
_VERSION_MARK = "~"


def sign_invitation(invitation_id: str, settings: Settings, version: int = 0) -> str:
    """The URL-safe token of an invitation (of its `version`-th link; 0 is the first)."""
    signed = f"{invitation_id}{_VERSION_MARK}{version}" if version else invitation_id
    return _serializer(settings).dumps(signed)


def invitation_link_from_token(token: str, settings: Settings) -> tuple[str, int] | None:
    """(invitation id, link version) a survey token was signed for, or None when wrong."""
    value = invitation_id_from_token(token, settings)
    if not value or value.startswith(_OPTOUT_PREFIX):
        return None
    invitation_id, mark, version = value.partition(_VERSION_MARK)
    if not mark:
        return invitation_id, 0
    if not version.isdigit() or version.startswith("0"):
        return None
    return invitation_id, int(version)


def invitation_id_from_token(token: str, settings: Settings) -> str | None:
    """The invitation id a token was signed for, or None when wrong or tampered."""
    if not token or len(token) > 200:
        return None
    try:
        value = _serializer(settings).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def survey_url(invitation_id: str, settings: Settings, version: int = 0) -> str:
    """The personal link a respondent receives (its `version`-th, after re-issues)."""
    return f"{settings.public_url}/s/{sign_invitation(invitation_id, settings, version)}"


# An opt-out token signs "optout:<invitation id>": it cannot open the survey, and a survey
# token cannot opt anyone out.
_OPTOUT_PREFIX = "optout:"


def optout_token(invitation_id: str, settings: Settings) -> str:
    """The signed opt-out token of an invitation."""
    return sign_invitation(_OPTOUT_PREFIX + invitation_id, settings)


def optout_url(invitation_id: str, settings: Settings) -> str:
    """The opt-out link put in survey emails and their List-Unsubscribe header."""
    return f"{settings.public_url}/optout/{optout_token(invitation_id, settings)}"


def invitation_id_from_optout_token(token: str, settings: Settings) -> str | None:
    """The invitation an opt-out token was made for, or None."""
    value = invitation_id_from_token(token, settings)
    if not value or not value.startswith(_OPTOUT_PREFIX):
        return None
    return value[len(_OPTOUT_PREFIX) :] or None


# A case link signs "case:<case id>": it names one case, in the console (which still asks
# the reader to sign in), and cannot be turned into a survey or opt-out token.
_CASE_PREFIX = "case:"


def case_url(case_id: str, settings: Settings) -> str:
    """The signed link to a case in the console, put in the owner's emails."""
    token = sign_invitation(_CASE_PREFIX + case_id, settings)
    return f"{settings.public_url}/app/cases/{case_id}?t={token}"


def case_id_from_token(token: str, settings: Settings) -> str | None:
    """The case a case link was signed for, or None."""
    value = invitation_id_from_token(token, settings)
    if not value or not value.startswith(_CASE_PREFIX):
        return None
    return value.removeprefix(_CASE_PREFIX)
