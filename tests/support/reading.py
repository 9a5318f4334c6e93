"""Does a rendered page or email read correctly? The checks a proof-reader makes on text
that was put together from sentences and values, some of which may be missing."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_STOP = {
    "the", "and", "you", "your", "with", "for", "our", "are", "was", "this", "that", "its",
    "der", "die", "das", "und", "mit", "von", "sie", "ihre", "ihr", "ihrer", "ihren", "ihrem",
    "den", "dem", "des", "zu", "uns", "wir", "wie", "ist", "auf", "one", "not", "nicht",
    "can", "all", "any", "have", "has", "eine", "ein", "einen", "of", "to", "in", "at", "on",
    "an", "am", "im", "es", "so", "by", "or", "is", "be", "we", "us", "it",
}  # fmt: skip
_URL = re.compile(r"(https?|mailto):\S+|\S+@\S+\.\w+")
_PROBLEMS = [
    (re.compile(r"\bNone\b"), "a missing value printed as None"),
    (re.compile(r"\b(undefined|null)\b"), "a missing value printed as undefined/null"),
    (re.compile(r"[{}]"), "a placeholder left unfilled"),
    (re.compile(r"\S\s+[,.;:!?)]"), "a space before punctuation (a value left out)"),
    (re.compile(r"\(\s*\)"), "empty brackets"),
    (re.compile(r"[,;:]\s*[,.;:!?]"), "doubled punctuation (a value left out)"),
    (
        re.compile(r"\b(at|of|with|from|by|von|mit|bei|an|für)\s*[,.;:!?)]", re.I),
        "a preposition with nothing after it",
    ),
    (
        # German: these prepositions take the dative; a name stand-in in the nominative
        # ("mit Ihr Account-Team") reads wrongly.
        re.compile(r"\b(mit|von|bei|aus|nach|seit|zu)\s+(Ihr|das|ein)\s"),
        "a German dative preposition before a nominative",
    ),
]


class _Text(HTMLParser):
    """The text a reader sees: one line per block, scripts and styles left out."""

    _BLOCKS = {"p", "h1", "h2", "h3", "li", "dt", "dd", "legend", "label", "option", "title",
               "summary", "a", "button", "td", "th", "br", "div", "span", "strong"}  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = [""]
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        if tag in self._BLOCKS:
            self.lines.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1
        if tag in self._BLOCKS:
            self.lines.append("")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.lines[-1] += data


def visible_lines(html: str) -> list[str]:
    """The text of an HTML page or email, one line per block, whitespace collapsed."""
    parser = _Text()
    parser.feed(html)
    return [" ".join(line.split()) for line in parser.lines if line.strip()]


def text_lines(text: str) -> list[str]:
    """The lines of a plain-text email, whitespace collapsed."""
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def _repeated_phrase(sentence: str) -> str | None:
    words = [w.lower() for w in re.findall(r"[\wäöüÄÖÜß-]+", sentence)]
    pairs = [
        (a, b)
        for a, b in zip(words, words[1:], strict=False)
        if a not in _STOP and b not in _STOP and not a.isdigit() and not b.isdigit()
    ]
    seen: set[tuple[str, str]] = set()
    for pair in pairs:
        if pair in seen:
            return " ".join(pair)
        seen.add(pair)
    return None


def reading_problems(lines: list[str]) -> list[str]:
    """Each line that reads wrongly, with what is wrong with it (empty: all reads well)."""
    problems = []
    for line in lines:
        text = _URL.sub("URL", line)
        for pattern, what in _PROBLEMS:
            if pattern.search(text):
                problems.append(f"{what}: {line!r}")
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            if sentence[-1:] in ".!?" and re.match(r"[a-zäöü]", sentence):
                problems.append(f"a sentence starting in lower case: {line!r}")
            repeated = _repeated_phrase(sentence)
            if repeated:
                problems.append(f"the phrase {repeated!r} twice in one sentence: {line!r}")
    return problems
