"""Rapport's words, defined once: what SCORING.md and API.md name, and the default settings.

Every service takes these from here (no numpy, no I/O), so a level, a role or a wave
status is spelled the same in the engine, the API, the emails and the database.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

# SCORING.md section 1: the six dimensions and the touchpoints, in the order reports use.
DIMENSIONS: Final = (
    "trust",
    "competence",
    "recognition",
    "proactivity",
    "responsiveness",
    "commitment",
)
TOUCHPOINTS: Final = ("sales", "service", "delivery", "product", "implementation", "billing")

# Buying roles, in the order of their default weights.
ROLES: Final = ("decision_maker", "influencer", "user", "other")

# Relationship levels, lowest first; "insufficient" is a response without enough answers.
LEVELS: Final = ("antagonistic", "transactional", "predisposed", "trusted_advisor")
INSUFFICIENT: Final = "insufficient"
LEVEL_NAMES: Final = (*LEVELS, INSUFFICIENT)

NPS_CATEGORIES: Final = ("promoter", "passive", "detractor")
SEGMENTS: Final = ("ambassador", "rational", "ambivalent", "stalker", "opponent")
GAP_CLASSES: Final = ("blind_spot", "aligned", "undervalued")
MOMENT_TAGS: Final = ("delighted", "let_down", "angry")
COMMENT_KINDS: Final = ("start", "stop", "continue")  # the open answers comment.<kind>
QUADRANTS: Final = ("fix_first", "protect", "monitor", "maintain")
ALERT_REASONS: Final = (
    "level_drop",
    "ri_drop",
    "became_detractor",
    "antagonistic",
    "decision_maker_blind_spot",  # a decision maker's gap class is blind_spot
    "silent_decision_maker",  # an invited decision maker did not answer by the close
)

# Who answers: a buyer about their relationship, a seller about how that buyer sees it.
BUYER: Final = "buyer"
SELLER: Final = "seller"
SIDES: Final = (BUYER, SELLER)

# A wave's life (API.md): draft -> launching -> open -> closing -> closed.
DRAFT: Final = "draft"
LAUNCHING: Final = "launching"
OPEN: Final = "open"
CLOSING: Final = "closing"
CLOSED: Final = "closed"
WAVE_STATUSES: Final = (DRAFT, LAUNCHING, OPEN, CLOSING, CLOSED)
ENDED_WAVE_STATUSES: Final = frozenset({CLOSING, CLOSED})  # no more answers are taken

# An invitation's progress, in order; a response (one subject's answers) is in progress or
# completed, and not_started in the respondent API before its first save.
INVITED: Final = "invited"
OPENED: Final = "opened"
IN_PROGRESS: Final = "in_progress"
COMPLETED: Final = "completed"
NOT_STARTED: Final = "not_started"
INVITATION_STATUSES: Final = (INVITED, OPENED, IN_PROGRESS, COMPLETED)

# SCORING.md defaults; a program overrides any of them in its settings.
DEFAULT_CUT_POINTS: Final = (40, 60, 80)
DEFAULT_GAP_THRESHOLD: Final = 10
DEFAULT_ROLE_WEIGHTS: Final = MappingProxyType(
    {"decision_maker": 3, "influencer": 2, "user": 1, "other": 1}
)
DEFAULT_REMINDER_DAYS: Final = (3, 7)
