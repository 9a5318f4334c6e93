"""A strict allow-list SVG sanitiser for organisation logos.

No well-kept Python library sanitises SVG (bleach and nh3 are HTML sanitisers), so the
document is parsed with defusedxml (no entities, no external references, no XML bombs) and
rebuilt from an allow-list: drawing elements and presentation attributes only. Scripts,
`foreignObject`, `use`, images, links, animation, event handlers, `style` (elements and
attributes) and any reference other than `url(#id)` are dropped. The output is a new
document, never the input passed through.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

SVG_NS = "http://www.w3.org/2000/svg"
MAX_ELEMENTS = 5000

ELEMENTS = frozenset(
    {
        "svg",
        "g",
        "path",
        "rect",
        "circle",
        "ellipse",
        "line",
        "polyline",
        "polygon",
        "text",
        "tspan",
        "title",
        "desc",
        "defs",
        "linearGradient",
        "radialGradient",
        "stop",
        "clipPath",
    }
)
ATTRIBUTES = frozenset(
    {
        "id",
        "viewBox",
        "width",
        "height",
        "x",
        "y",
        "x1",
        "y1",
        "x2",
        "y2",
        "cx",
        "cy",
        "r",
        "rx",
        "ry",
        "fx",
        "fy",
        "d",
        "points",
        "transform",
        "fill",
        "fill-opacity",
        "fill-rule",
        "clip-rule",
        "clip-path",
        "stroke",
        "stroke-width",
        "stroke-opacity",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-miterlimit",
        "stroke-dasharray",
        "stroke-dashoffset",
        "opacity",
        "offset",
        "stop-color",
        "stop-opacity",
        "gradientUnits",
        "gradientTransform",
        "spreadMethod",
        "clipPathUnits",
        "preserveAspectRatio",
        "font-family",
        "font-size",
        "font-weight",
        "font-style",
        "text-anchor",
        "dominant-baseline",
        "letter-spacing",
        "dx",
        "dy",
        "role",
        "aria-label",
        "aria-hidden",
        "version",
    }
)
_URL = re.compile(r"url\s*\(", re.IGNORECASE)
_LOCAL_URL = re.compile(r"^\s*url\(\s*#[A-Za-z_][\w.\-]*\s*\)\s*$")
_UNSAFE_TEXT = re.compile(r"[<>&\"']|javascript:|data:|expression\(", re.IGNORECASE)


class NotAnSvg(ValueError):
    """The upload is not an SVG document this sanitiser keeps anything of."""


def _local_name(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return None, tag


def _clean_value(name: str, value: str) -> str | None:
    if _URL.search(value):
        return value if _LOCAL_URL.match(value) else None
    if _UNSAFE_TEXT.search(value) and name not in ("aria-label",):
        return None
    return value


def _copy(source: ET.Element, counter: list[int]) -> ET.Element | None:
    namespace, name = _local_name(source.tag)
    if namespace != SVG_NS or name not in ELEMENTS:
        return None
    counter[0] += 1
    if counter[0] > MAX_ELEMENTS:
        raise NotAnSvg(f"more than {MAX_ELEMENTS} elements")
    copy = ET.Element(f"{{{SVG_NS}}}{name}")
    for key, value in source.attrib.items():
        attr_namespace, attr = _local_name(key)
        if attr_namespace is not None or attr not in ATTRIBUTES:
            continue
        cleaned = _clean_value(attr, value)
        if cleaned is not None:
            copy.set(attr, cleaned)
    if name in ("text", "tspan", "title", "desc") and source.text:
        copy.text = source.text
    for child in source:
        kept = _copy(child, counter)
        if kept is not None:
            copy.append(kept)
        if name in ("text", "tspan") and child.tail and kept is not None:
            kept.tail = child.tail
    return copy


def sanitise_svg(data: bytes) -> bytes:
    """The allow-listed copy of an SVG document; NotAnSvg when it cannot be read as one."""
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise NotAnSvg(f"not a well-formed SVG document ({type(exc).__name__})") from exc
    namespace, name = _local_name(root.tag)
    if name != "svg" or namespace != SVG_NS:
        raise NotAnSvg(f'the root element is <{name}>, not <svg xmlns="{SVG_NS}">')
    cleaned = _copy(root, [0])
    assert cleaned is not None
    ET.register_namespace("", SVG_NS)
    return ET.tostring(cleaned, encoding="utf-8", xml_declaration=True)
