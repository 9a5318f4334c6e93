"""The Rapport scoring engine: SCORING.md sections 2 to 7 on numpy arrays, with no I/O.

A wave is a matrix of answers (responses x RATED_ITEMS, NaN for missing) for each side
plus index arrays that tie responses to contacts, sellers and accounts. Every step is
vectorised over responses; the only Python loops run over dimensions, items,
touchpoints and chunks of bootstrap replicates.

One module per concept of SCORING.md, and callers import from this package:
    vocabulary  section 1's items and the names of every class
    settings    what a program may configure (ScoringSettings)
    inputs      one wave as arrays (WaveInput, build_wave_input)
    responses   section 2, the scores of each response
    structure   sections 3 and 4, pairs (the gap), contacts and accounts
    bootstrap   the 95% intervals of section 5
    summaries   section 5, the wave's figures
    trends      section 6, trends and alerts
    coaching    section 7, each seller's priorities
    wave        score_wave and its WaveResult
    documents   the API.md JSON documents of a scored wave

The 95% intervals are a percentile bootstrap over accounts (SCORING.md v2, a cluster
bootstrap; B replicates, default_rng(seed)): each account is its sum and count of answers, and
replicate b draws as many accounts as there are, by multinomial counts over the distinct accounts
(`rng.multinomial(m, count / m, size=B)`) when there are at least BOOTSTRAP_COUNTS_RATIO accounts
per distinct one, else by index into the accounts sorted by (sum, count)
(`rng.integers(0, m, (B, m))`); its statistic is sum / count. Work is per account, not per response.
RI and NPS each draw from a fresh generator.

Use:
    wave = build_wave_input(roster=rows, buyer_responses=..., seller_responses=...)
    result = score_wave(wave, ScoringSettings.from_program(program_settings), previous)
    wave_result_to_json(result, wave_id=..., status=..., final=...)  # GET .../results
    account_to_json(result, external_id, coaching_library=library)  # GET .../accounts/{id}
    result.alerts  # relationship.alert triggers, by account
    response_scores_to_json(result.buyers, row)  # one buyer response's section 2 scores
"""

from services.scoring.engine.bootstrap import BOOTSTRAP_COUNTS_RATIO, BOOTSTRAP_RESOLUTION
from services.scoring.engine.coaching import SellerCoaching
from services.scoring.engine.documents import (
    account_to_json,
    comments_to_json,
    response_scores_to_json,
    seller_plan_to_json,
    wave_result_to_json,
)
from services.scoring.engine.inputs import (
    InvalidWaveInput,
    WaveInput,
    answers_to_matrix,
    build_wave_input,
)
from services.scoring.engine.responses import (
    SEGMENT_TABLE,
    ResponseScores,
    level_codes,
    nps_category_codes,
    score_responses,
    segment_codes,
)
from services.scoring.engine.settings import (
    DEFAULT_SETTINGS,
    InvalidScoringSettings,
    ScoringSettings,
)
from services.scoring.engine.structure import (
    AccountScores,
    ContactScores,
    PairScores,
    account_nps_category_codes,
    gap_class_codes,
)
from services.scoring.engine.summaries import (
    DimensionSummary,
    Distribution,
    Estimate,
    RevenueWeighted,
    TouchpointSummary,
    cronbach_alpha,
    normalise_competitor,
    pearson,
)
from services.scoring.engine.trends import Alert, AlertColumns, AlertTable, Trends
from services.scoring.engine.vocabulary import (
    AGREEMENT_ITEMS,
    ALERT_REASONS,
    COLUMN,
    COMMENT_KINDS,
    COMPETITOR_ITEMS,
    DIMENSION_ITEMS,
    DIMENSIONS,
    GAP_CLASSES,
    INSUFFICIENT,
    INSUFFICIENT_CODE,
    ITEMS_PER_DIMENSION,
    LEVEL_NAMES,
    LEVELS,
    MIN_DIMENSIONS,
    MISSING,
    MOMENT_TAGS,
    NPS_CATEGORIES,
    RATED_ITEMS,
    ROLES,
    SEGMENTS,
    TOLERANCE,
    TOUCHPOINT_ITEMS,
    TOUCHPOINTS,
)
from services.scoring.engine.wave import UnknownAccount, WaveResult, score_wave

__all__ = [
    "AGREEMENT_ITEMS",
    "ALERT_REASONS",
    "BOOTSTRAP_COUNTS_RATIO",
    "BOOTSTRAP_RESOLUTION",
    "COLUMN",
    "COMMENT_KINDS",
    "COMPETITOR_ITEMS",
    "DEFAULT_SETTINGS",
    "DIMENSION_ITEMS",
    "DIMENSIONS",
    "GAP_CLASSES",
    "INSUFFICIENT",
    "INSUFFICIENT_CODE",
    "ITEMS_PER_DIMENSION",
    "LEVEL_NAMES",
    "LEVELS",
    "MIN_DIMENSIONS",
    "MISSING",
    "MOMENT_TAGS",
    "NPS_CATEGORIES",
    "RATED_ITEMS",
    "ROLES",
    "SEGMENT_TABLE",
    "SEGMENTS",
    "TOLERANCE",
    "TOUCHPOINT_ITEMS",
    "TOUCHPOINTS",
    "AccountScores",
    "Alert",
    "AlertColumns",
    "AlertTable",
    "ContactScores",
    "DimensionSummary",
    "Distribution",
    "Estimate",
    "InvalidScoringSettings",
    "InvalidWaveInput",
    "PairScores",
    "ResponseScores",
    "RevenueWeighted",
    "ScoringSettings",
    "SellerCoaching",
    "TouchpointSummary",
    "Trends",
    "UnknownAccount",
    "WaveInput",
    "WaveResult",
    "account_nps_category_codes",
    "account_to_json",
    "answers_to_matrix",
    "build_wave_input",
    "comments_to_json",
    "cronbach_alpha",
    "gap_class_codes",
    "level_codes",
    "normalise_competitor",
    "nps_category_codes",
    "pearson",
    "response_scores_to_json",
    "score_responses",
    "score_wave",
    "segment_codes",
    "seller_plan_to_json",
    "wave_result_to_json",
]
