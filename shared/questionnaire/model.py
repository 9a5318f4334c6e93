"""The questionnaire as plain data: items, sections and scales read from a YAML item bank."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import yaml

from shared.vocabulary import BUYER, SELLER, SIDES

Side = Literal["buyer", "seller"]  # SIDES, spelled out for the type checker
Kind = Literal["agreement", "nps", "comparison", "text", "moments"]

KINDS: tuple[str, ...] = ("agreement", "nps", "comparison", "text", "moments")
RATED_KINDS: frozenset[str] = frozenset({"agreement", "nps", "comparison"})
PLACEHOLDERS: Mapping[str, str] = MappingProxyType({BUYER: "seller_company", SELLER: "buyer_name"})

DEFAULT_BANK_PATH = Path(__file__).with_name("default_bank.yaml")

# A respondent's time from the page contents (issue 18): 4 s to read and answer an item
# (a 12-15 word statement at ~240 words a minute, plus the click), 3 s for each page load.
SECONDS_PER_ITEM = 4
SECONDS_PER_PAGE = 3

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class BankError(ValueError):
    """The item bank file is malformed or inconsistent."""


# Localised text: language -> text, or side -> language -> text when the sides differ.
Localized = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Scale:
    """A rating scale: whole numbers from `min` to `max`, some points labelled."""

    name: str
    min: int
    max: int
    labels: Mapping[str, Mapping[int, str]]  # language -> value -> label


@dataclass(frozen=True, slots=True)
class Item:
    """One question; its id is the key of its answer."""

    id: str
    kind: Kind
    section: str
    text: Mapping[str, Mapping[str, str]]  # side -> language -> template
    dimension: str | None = None  # only the items that make up a dimension score
    compares: str | None = None  # competitor.<dimension>: the dimension compared
    scale: Scale | None = None  # rated kinds only
    reverse: bool = False
    required: bool = False
    max_length: int | None = None  # text kinds, and the text of each moment
    max_items: int | None = None  # moments only
    pulse: bool = False  # asked in the pulse questionnaire too

    @property
    def rated(self) -> bool:
        """True for items answered with a number (or null for "don't know")."""
        return self.kind in RATED_KINDS

    @property
    def scale_min(self) -> int | None:
        return self.scale.min if self.scale else None

    @property
    def scale_max(self) -> int | None:
        return self.scale.max if self.scale else None


@dataclass(frozen=True, slots=True)
class Section:
    """A page of the survey: a title, a short intro and its items in order."""

    id: str
    title: Localized
    intro: Localized
    items: tuple[Item, ...]


@dataclass(frozen=True)
class SubmitRule:
    """What submitting needs (API.md): the required items, and `min_dimensions` of the
    `dimensions` topics each with `answered_per_dimension` of its `items_per_dimension`."""

    required: tuple[str, ...]
    min_dimensions: int
    dimensions: int
    items_per_dimension: int
    answered_per_dimension: int


@dataclass(frozen=True)
class Questionnaire:
    """The item bank: every item in page order, grouped into sections."""

    version: int
    languages: tuple[str, ...]
    default_language: str
    sections: tuple[Section, ...]
    scales: Mapping[str, Scale]
    touchpoints: Mapping[str, Mapping[str, str]]  # touchpoint id -> language -> label
    moment_tags: Mapping[str, Mapping[str, str]]  # tag -> language -> label
    dont_know: Mapping[str, str]
    placeholder_defaults: Mapping[str, Mapping[str, str]]
    min_dimensions: int
    minutes: int = 10  # the bank's own figure, kept for reference; pages state `estimated_minutes`
    pages: tuple[tuple[str, ...], ...] = ()  # section ids shown together; default one a page
    pulse_pages: tuple[tuple[str, ...], ...] = ()  # the pages of the pulse questionnaire
    kind: str = "full"  # "pulse" for the short questionnaire made by `pulse()`
    items: tuple[Item, ...] = field(init=False)
    dimensions: tuple[str, ...] = field(init=False)
    _by_id: Mapping[str, Item] = field(init=False, repr=False)
    _dimension_items: Mapping[str, tuple[str, ...]] = field(init=False, repr=False)
    _derived: dict[str, Questionnaire] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        items = tuple(item for section in self.sections for item in section.items)
        dimensions = tuple(dict.fromkeys(i.dimension for i in items if i.dimension))
        object.__setattr__(self, "items", items)
        object.__setattr__(self, "dimensions", dimensions)
        object.__setattr__(self, "_by_id", MappingProxyType({i.id: i for i in items}))
        by_dimension = {d: tuple(i.id for i in items if i.dimension == d) for d in dimensions}
        object.__setattr__(self, "_dimension_items", MappingProxyType(by_dimension))
        if not self.pages:
            object.__setattr__(self, "pages", tuple((s.id,) for s in self.sections))

    def pulse(self) -> Questionnaire:
        """The pulse questionnaire: only the items marked `pulse`, so each dimension has one
        item (k = 1, counted when answered); the same submit rule otherwise."""
        if "pulse" not in self._derived:
            from shared.questionnaire.pulse import pulse_version

            self._derived["pulse"] = pulse_version(self)
        return self._derived["pulse"]

    def page_of(self, section_id: str) -> str | None:
        """The page (named by its first section) that shows this section, or None."""
        return next((page[0] for page in self.pages if section_id in page), None)

    def page_sections(self, page_id: str) -> tuple[str, ...]:
        """The section ids one page shows; KeyError for an id that names no page."""
        for page in self.pages:
            if page[0] == page_id:
                return page
        raise KeyError(page_id)

    def estimated_seconds(self) -> int:
        """One questionnaire's time by the rule of issue 18 (every item 4 s, every page
        load 3 s: welcome, each page, review, thanks)."""
        return len(self.items) * SECONDS_PER_ITEM + (len(self.pages) + 3) * SECONDS_PER_PAGE

    def estimated_minutes(self) -> int:
        """`estimated_seconds` in whole minutes, rounded up."""
        return max(1, math.ceil(self.estimated_seconds() / 60))

    def item(self, item_id: str) -> Item:
        """The item with this id; KeyError if there is none."""
        return self._by_id[item_id]

    def get(self, item_id: str) -> Item | None:
        """The item with this id, or None."""
        return self._by_id.get(item_id)

    def dimension_items(self) -> dict[str, tuple[str, ...]]:
        """Dimension -> the ids of the items whose mean is its score (competitor items excluded)."""
        return dict(self._dimension_items)

    def dimension_threshold(self, dimension: str) -> int:
        """How many items of a dimension must be answered for it to count: ceil(k/2)."""
        return math.ceil(len(self._dimension_items[dimension]) / 2)

    def submit_rule(self) -> SubmitRule:
        """The completion rule in numbers, for every sentence that states it."""
        sizes = sorted(len(ids) for ids in self._dimension_items.values())
        k = sizes[len(sizes) // 2] if sizes else 0  # the bank's usual topic size
        return SubmitRule(
            required=tuple(item.id for item in self.items if item.required),
            min_dimensions=self.min_dimensions,
            dimensions=len(self.dimensions),
            items_per_dimension=k,
            answered_per_dimension=math.ceil(k / 2),
        )

    def what_it_takes(self) -> dict[str, int]:
        """What the welcome page and the invitation and reminder emails state: the minutes
        it takes, and the submit rule (`answered` of the `items` statements on `needed` of
        the `topics` topics, with the required items)."""
        rule = self.submit_rule()
        return {
            "minutes": self.estimated_minutes(),
            "answered": rule.answered_per_dimension,
            "items": rule.items_per_dimension,
            "needed": rule.min_dimensions,
            "topics": rule.dimensions,
        }

    def language_for(self, language: str | None) -> str:
        """The bank language to use for a requested one ("de-AT" gives "de"); else the default."""
        if language:
            primary = language.strip().replace("_", "-").split("-")[0].lower()
            if primary in self.languages:
                return primary
        return self.default_language

    def items_for(
        self,
        side: Side,
        language: str | None,
        *,
        buyer_name: str | None = None,
        seller_company: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every item as the `questionnaire.items` of API.md, worded for one side and language."""
        render = self._renderer(side, language, buyer_name, seller_company)
        return [render.item(item) for item in self.items]

    def sections_for(
        self,
        side: Side,
        language: str | None,
        *,
        buyer_name: str | None = None,
        seller_company: str | None = None,
    ) -> list[dict[str, Any]]:
        """Sections in page order, each `{id, title, intro, items}` with items as `items_for`."""
        render = self._renderer(side, language, buyer_name, seller_company)
        return [
            {
                "id": section.id,
                "title": render.text(section.title),
                "intro": render.text(section.intro),
                "items": [render.item(item) for item in section.items],
            }
            for section in self.sections
        ]

    def _renderer(
        self, side: str, language: str | None, buyer_name: str | None, seller_company: str | None
    ) -> _Renderer:
        if side not in SIDES:
            raise ValueError(f"side must be one of {', '.join(SIDES)}, not {side!r}")
        return _Renderer(
            self,
            side,
            self.language_for(language),
            {"buyer_name": buyer_name, "seller_company": seller_company},
        )


class _Renderer:
    """Words items and sections for one side and language, filling in names."""

    def __init__(
        self, bank: Questionnaire, side: str, language: str, names: dict[str, str | None]
    ) -> None:
        self.bank, self.side, self.language = bank, side, language
        self.values: dict[str, tuple[str, bool]] = {}  # name -> (value, is_default)
        for name, defaults in bank.placeholder_defaults.items():
            given = (names.get(name) or "").strip()
            self.values[name] = (given, False) if given else (defaults[language], True)

    def text(self, localized: Localized) -> str:
        if self.side in localized:
            localized = localized[self.side]
        template = localized[self.language]
        used_default = False

        def fill(match: re.Match[str]) -> str:
            nonlocal used_default
            value, is_default = self.values[match.group(1)]
            used_default = used_default or (is_default and match.start() == 0)
            return value

        text = _PLACEHOLDER.sub(fill, template)
        # "the account team keeps ..." starts a sentence; a real name keeps its own case.
        return text[:1].upper() + text[1:] if used_default else text

    def label(self, labels: Mapping[str, str]) -> str:
        return labels[self.language]

    def item(self, item: Item) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": item.id,
            "dimension": item.dimension,
            "kind": item.kind,
            "section": item.section,
            "text": self.text(item.text),
            "scale": self.scale(item.scale) if item.scale else None,
            "required": item.required,
            "reverse": item.reverse,
        }
        if item.compares:
            out["compares"] = item.compares
        if item.max_length is not None:
            out["max_length"] = item.max_length
        if item.kind == "moments":
            out["max_items"] = item.max_items
            out["touchpoints"] = [
                {"id": t, "label": self.label(labels)}
                for t, labels in self.bank.touchpoints.items()
            ]
            out["tags"] = [
                {"id": t, "label": self.label(labels)}
                for t, labels in self.bank.moment_tags.items()
            ]
        return out

    def scale(self, scale: Scale) -> dict[str, Any]:
        labels = scale.labels[self.language]
        return {
            "min": scale.min,
            "max": scale.max,
            "points": [
                {"value": v, "label": labels.get(v)} for v in range(scale.min, scale.max + 1)
            ],
            "dont_know": self.label(self.bank.dont_know),
        }


def load_bank(path: str | Path | None = None) -> Questionnaire:
    """Read an item bank; with no path, the default bank (read once, then cached)."""
    if path is None:
        return _default_bank()
    return _read_bank(Path(path))


@functools.cache
def _default_bank() -> Questionnaire:
    return _read_bank(DEFAULT_BANK_PATH)


def _read_bank(path: Path) -> Questionnaire:
    with path.open(encoding="utf-8") as f:
        data = yaml.safe_load(f)
    return parse_bank(data)


def parse_bank(data: object) -> Questionnaire:
    """Build a questionnaire from the parsed YAML of an item bank, checking it is complete."""
    data = _mapping(data, "bank")
    languages = tuple(_list(data.get("languages"), "languages"))
    if not languages or not all(isinstance(lang, str) for lang in languages):
        raise BankError("languages: a non-empty list of language codes is needed")
    default_language = data.get("default_language", languages[0])
    if default_language not in languages:
        raise BankError(f"default_language {default_language!r} is not in languages")
    localized = _localizer(languages)
    placeholder_defaults = {
        name: localized(_mapping(data.get("placeholders"), "placeholders").get(name), name)
        for name in PLACEHOLDERS.values()
    }
    limits = _mapping(data.get("limits", {}), "limits")
    text_max = _positive_int(limits.get("text_max_length", 2000), "limits.text_max_length")
    moments_max = _positive_int(limits.get("moments_max_items", 10), "limits.moments_max_items")
    scales = _parse_scales(data, languages)
    bank = Questionnaire(
        version=int(data.get("version", 1)),
        languages=languages,
        default_language=default_language,
        sections=_parse_sections(
            data, localized=localized, scales=scales, limits=(text_max, moments_max)
        ),
        scales=MappingProxyType(scales),
        touchpoints=MappingProxyType(_localized_names(data, "touchpoints", localized)),
        moment_tags=MappingProxyType(_localized_names(data, "moment_tags", localized)),
        dont_know=localized(data.get("dont_know"), "dont_know"),
        placeholder_defaults=MappingProxyType(placeholder_defaults),
        min_dimensions=_positive_int(
            _mapping(data.get("submit", {}), "submit").get("min_dimensions", 4),
            "submit.min_dimensions",
        ),
        minutes=_positive_int(data.get("minutes", 10), "minutes"),
        pages=_parse_pages(data),
        pulse_pages=_parse_pages(data, "pulse_pages"),
    )
    _check_references(bank)
    return bank


def _localizer(languages: tuple[str, ...]) -> Callable[..., Localized]:
    """A reader of localized texts: a text per language, or per side then per language."""

    def localized(node: object, where: str, *, sides: bool = False) -> Localized:
        node = _mapping(node, where)
        if sides or any(side in node for side in SIDES):
            return MappingProxyType(
                {side: localized(node.get(side), f"{where}.{side}") for side in SIDES}
            )
        missing = [lang for lang in languages if not isinstance(node.get(lang), str)]
        if missing:
            raise BankError(f"{where}: no text for {', '.join(missing)}")
        return MappingProxyType({lang: node[lang] for lang in languages})

    return localized


def _localized_names(
    data: Mapping[str, Any], key: str, localized: Callable[..., Localized]
) -> dict[str, Localized]:
    return {
        name: localized(node, f"{key}.{name}")
        for name, node in _mapping(data.get(key), key).items()
    }


def _parse_scales(data: Mapping[str, Any], languages: tuple[str, ...]) -> dict[str, Scale]:
    scales: dict[str, Scale] = {}
    for name, node in _mapping(data.get("scales"), "scales").items():
        node = _mapping(node, f"scales.{name}")
        low, high = node.get("min"), node.get("max")
        if not (_is_int(low) and _is_int(high) and low < high):
            raise BankError(f"scales.{name}: min and max must be whole numbers, min < max")
        labels_node = _mapping(node.get("labels"), f"scales.{name}.labels")
        labels = {}
        for lang in languages:
            points = _mapping(labels_node.get(lang), f"scales.{name}.labels.{lang}")
            if not all(_is_int(v) and low <= v <= high for v in points):
                raise BankError(f"scales.{name}.labels.{lang}: a label outside {low}..{high}")
            labels[lang] = MappingProxyType(dict(points))
        scales[name] = Scale(name, low, high, MappingProxyType(labels))
    return scales


def _parse_sections(
    data: Mapping[str, Any],
    *,
    localized: Callable[..., Localized],
    scales: Mapping[str, Scale],
    limits: tuple[int, int],
) -> tuple[Section, ...]:
    sections: list[Section] = []
    seen: set[str] = set()
    for s_index, s_node in enumerate(_list(data.get("sections"), "sections")):
        s_node = _mapping(s_node, f"sections[{s_index}]")
        section_id = s_node.get("id")
        if not isinstance(section_id, str):
            raise BankError(f"sections[{s_index}]: id is missing")
        items = []
        for i_node in _list(s_node.get("items"), f"section {section_id}: items"):
            item = _parse_item(
                _mapping(i_node, f"section {section_id}: item"),
                section_id,
                localized=localized,
                scales=scales,
                limits=limits,
            )
            if item.id in seen:
                raise BankError(f"item {item.id}: duplicate id")
            seen.add(item.id)
            items.append(item)
        title = localized(s_node.get("title"), f"section {section_id}: title")
        intro = localized(s_node.get("intro"), f"section {section_id}: intro", sides=True)
        _check_placeholders(intro, f"section {section_id}: intro")
        sections.append(Section(section_id, title, intro, tuple(items)))
    return tuple(sections)


def _parse_pages(data: Mapping[str, Any], key: str = "pages") -> tuple[tuple[str, ...], ...]:
    """`pages`: lists of section ids shown together, every section once, in section order
    (`pulse_pages`: the sections with a pulse item)."""
    if key not in data:
        return ()
    sections = [s for s in _list(data.get("sections"), "sections") if isinstance(s, Mapping)]
    if key == "pulse_pages":
        sections = [s for s in sections if any(i.get("pulse") for i in s.get("items") or ())]
    order = [s.get("id") for s in sections]
    pages = tuple(tuple(_list(p, f"{key}[]")) for p in _list(data.get(key), key))
    if [s for page in pages for s in page] != order or not all(pages):
        raise BankError(f"{key}: every section exactly once, in the order of sections")
    return pages


def _check_references(bank: Questionnaire) -> None:
    """Names one part of the bank gives another exist there."""
    for item in bank.items:
        if item.compares and item.compares not in bank.dimensions:
            raise BankError(f"item {item.id}: compares unknown dimension {item.compares!r}")
        if item.id.startswith("touchpoint.") and item.id.removeprefix("touchpoint.") not in (
            bank.touchpoints
        ):
            raise BankError(f"item {item.id}: not a touchpoint listed under touchpoints")
    if bank.min_dimensions > len(bank.dimensions):
        raise BankError("submit.min_dimensions is more than the number of dimensions")


def _parse_item(
    node: Mapping[str, Any],
    section_id: str,
    *,
    localized: Any,
    scales: Mapping[str, Scale],
    limits: tuple[int, int],
) -> Item:
    item_id = node.get("id")
    if not isinstance(item_id, str) or not item_id or item_id.startswith("$"):
        raise BankError(f"section {section_id}: an item has no valid id")
    kind = node.get("kind")
    if kind not in KINDS:
        raise BankError(f"item {item_id}: kind must be one of {', '.join(KINDS)}")
    scale = None
    if kind in RATED_KINDS:
        scale = scales.get(node.get("scale"))
        if scale is None:
            raise BankError(f"item {item_id}: a rated item needs a scale from scales")
    elif "scale" in node:
        raise BankError(f"item {item_id}: a {kind} item has no scale")
    dimension, compares = node.get("dimension"), node.get("compares")
    if dimension is not None and (kind != "agreement" or not isinstance(dimension, str)):
        raise BankError(f"item {item_id}: only agreement items belong to a dimension")
    if compares is not None and (kind != "comparison" or not isinstance(compares, str)):
        raise BankError(f"item {item_id}: only comparison items compare a dimension")
    reverse = node.get("reverse", False)
    required = node.get("required", False)
    pulse = node.get("pulse", False)
    if not all(isinstance(flag, bool) for flag in (reverse, required, pulse)):
        raise BankError(f"item {item_id}: reverse, required and pulse must be true or false")
    text_max, moments_max = limits
    max_length = None
    if kind in ("text", "moments"):
        max_length = _positive_int(node.get("max_length", text_max), f"item {item_id}: max_length")
    text = localized(node.get("text"), f"item {item_id}: text", sides=True)
    _check_placeholders(text, f"item {item_id}: text")
    return Item(
        id=item_id,
        kind=kind,
        section=section_id,
        text=text,
        dimension=dimension,
        compares=compares,
        scale=scale,
        reverse=reverse,
        required=required,
        pulse=pulse,
        max_length=max_length,
        max_items=(
            _positive_int(node.get("max_items", moments_max), f"item {item_id}: max_items")
            if kind == "moments"
            else None
        ),
    )


def _check_placeholders(text: Localized, where: str) -> None:
    for side, by_language in text.items():
        allowed = PLACEHOLDERS[side]
        for lang, template in by_language.items():
            for name in _PLACEHOLDER.findall(template):
                if name != allowed:
                    raise BankError(f"{where}: {side} wording ({lang}) may not use {{{name}}}")


def _mapping(node: object, where: str) -> Mapping[str, Any]:
    if not isinstance(node, Mapping):
        raise BankError(f"{where}: a mapping is needed")
    return node


def _list(node: object, where: str) -> list[Any]:
    if not isinstance(node, list):
        raise BankError(f"{where}: a list is needed")
    return node


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_int(value: object, where: str) -> int:
    if not _is_int(value) or value < 1:
        raise BankError(f"{where}: a positive whole number is needed")
    return value
