"""Email templates: Jinja for the layout, a wording catalogue (YAML) for every sentence and language."""

from __future__ import annotations

import math
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from services.notify.messages import RenderedEmail, one_line
from shared.wording import missing_names, variant_key

TEMPLATES = Path(__file__).parent / "templates"
MISSING = "–"


@cache
def wording() -> dict[str, Any]:
    """The catalogue in templates/wording.yaml, read once."""
    with open(TEMPLATES / "wording.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def email_language(requested: str | None) -> str:
    """The catalogue language for a requested one: "de-AT" gives "de"; unknown gives the default."""
    catalogue = wording()
    if requested:
        primary = str(requested).strip().replace("_", "-").split("-")[0].lower()
        if primary in catalogue["languages"]:
            return primary
    return catalogue["default"]


def _finite(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class Words:
    """The sentences and number formats of one language, for HTML (escaped) or plain text."""

    def __init__(self, language: str, *, html: bool) -> None:
        self.language = email_language(language)
        self.html = html
        self._catalogue = wording()

    def _template(self, key: str) -> str:
        entry = self._catalogue["words"][key]
        return entry.get(self.language) or entry[self._catalogue["default"]]

    def __call__(self, key: str, **values: Any) -> str:
        """The sentence `key` with its values. A missing value (None or blank) picks the
        sentence written without it, `<key>_no_<name>`; a value no variant can do without
        shows as a dash rather than leaving a hole."""
        template = self._template(key)
        missing = missing_names(template, values)
        if missing:
            variant = variant_key(key, missing)
            if variant in self._catalogue["words"]:
                template = self._template(variant)
            else:
                values = {**values, **dict.fromkeys(missing, MISSING)}
        if self.html:
            return Markup(escape(template)).format(**values)
        return template.format(**values)

    def based_on(self, low_n: Any, n: Any) -> str:
        """ " (based on N answers)" after a figure the results mark `low_n`, else nothing: a
        figure from a few answers is not presented as solid."""
        if not low_n or not n:
            return ""
        sentence = self("based_on_one_answer" if n == 1 else "based_on_answers", n=n)
        return Markup(" (") + sentence + Markup(")") if self.html else f" ({sentence})"

    def name(self, kind: str, value: str | None) -> str:
        """A level, segment, gap class, dimension or NPS category in this language."""
        if value is None:
            return MISSING
        entry = self._catalogue["names"].get(kind, {}).get(value)
        if not entry:
            return str(value).replace("_", " ")
        return entry.get(self.language) or entry[self._catalogue["default"]]

    def _separators(self) -> tuple[str, str]:
        return (",", ".") if self.language == "de" else (".", ",")

    def number(self, value: Any, digits: int = 1) -> str:
        """A score with `digits` decimals in this language's notation; missing is a dash."""
        number = _finite(value)
        if number is None:
            return MISSING
        decimal, thousands = self._separators()
        text = f"{number:,.{digits}f}"
        return text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)

    def signed(self, value: Any, digits: int = 1) -> str:
        """A gap with its sign: +12.5, -3.0."""
        number = _finite(value)
        if number is None:
            return MISSING
        return ("+" if number > 0 else "") + self.number(number, digits)

    def percent(self, share: Any) -> str:
        """A share of 0–1 as a whole percentage."""
        number = _finite(share)
        if number is None:
            return MISSING
        return f"{self.number(number * 100, 0)}{' %' if self.language == 'de' else '%'}"

    def money(self, value: Any) -> str:
        return self.number(value, 0)

    def date(self, value: Any) -> str:
        """A day in words: "14 March 2025", "14. März 2025"."""
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return value
        if not isinstance(value, datetime):
            return MISSING
        month = self._catalogue["months"][self.language][value.month - 1]
        if self.language == "de":
            return f"{value.day}. {month} {value.year}"
        return f"{value.day} {month} {value.year}"


def bar_width(value: Any) -> int:
    """A 0–100 score as a bar width in percent (a score above 0 shows at least 1%)."""
    number = _finite(value)
    if number is None or number <= 0:
        return 0
    return max(1, min(100, round(number)))


def text_bar(value: Any, width: int = 20) -> str:
    """A 0–100 score as a plain-text bar: [#####---------------]."""
    filled = round(bar_width(value) * width / 100) if _finite(value) is not None else 0
    return "[" + "#" * filled + "-" * (width - filled) + "]"


class Renderer:
    """Renders one kind of email (``<name>.html`` and ``<name>.txt``) in one language."""

    def __init__(self) -> None:
        loader = FileSystemLoader(str(TEMPLATES))
        common = dict(
            loader=loader, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
        )
        self._html = Environment(autoescape=True, **common)
        self._text = Environment(autoescape=False, keep_trailing_newline=True, **common)
        for env in (self._html, self._text):
            env.globals.update(bar_width=bar_width, text_bar=text_bar, MISSING=MISSING)

    def render(
        self,
        template: str,
        /,
        *,
        language: str | None,
        subject: tuple[str, dict[str, Any]],
        **context: Any,
    ) -> RenderedEmail:
        """Subject (a wording key and its values) and both bodies, in `language`."""
        lang = email_language(language)
        text_words, html_words = Words(lang, html=False), Words(lang, html=True)
        subject_key, subject_values = subject
        return RenderedEmail(
            subject=one_line(text_words(subject_key, **subject_values), limit=250),
            text=self._text.get_template(f"{template}.txt").render(
                t=text_words, lang=lang, **context
            ),
            html=self._html.get_template(f"{template}.html").render(
                t=html_words, lang=lang, **context
            ),
        )


@cache
def default_renderer() -> Renderer:
    return Renderer()
