"""An organisation's logo: a PNG checked by its header, or an SVG rebuilt from an allow-list.

The SVG is parsed (no DOCTYPE, so no entities), and only drawing elements and presentation
attributes are kept: no script, no event handler, no foreign content, no link leaving the
image. What is stored is the rebuilt document, never the upload.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

LOGO_MAX_BYTES = 200 * 1024  # API.md 1.1
LOGO_MAX_SIDE = 4096
PNG, SVG = "image/png", "image/svg+xml"
LOGO_TYPES = (PNG, SVG)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"

_ELEMENTS = frozenset(
    "svg g path rect circle ellipse line polyline polygon text tspan defs linearGradient "
    "radialGradient stop clipPath mask symbol use title desc".split()
)
_ATTRIBUTES = frozenset(
    "id viewBox width height x y x1 y1 x2 y2 cx cy r rx ry fx fy d points fill fill-opacity "
    "fill-rule stroke stroke-width stroke-opacity stroke-linecap stroke-linejoin "
    "stroke-miterlimit stroke-dasharray stroke-dashoffset opacity transform offset stop-color "
    "stop-opacity gradientUnits gradientTransform spreadMethod clip-path clip-rule mask "
    "maskUnits clipPathUnits font-family font-size font-weight font-style text-anchor "
    "dominant-baseline letter-spacing preserveAspectRatio version".split()
)
# a value may point inside the image (url(#id)), never elsewhere
_OUTSIDE_REFERENCE = re.compile(r"url\(\s*['\"]?\s*(?!#)|javascript:|data:", re.IGNORECASE)


class LogoRefused(ValueError):
    """Bytes that cannot be an organisation's logo; the message says why, for a person."""


@dataclass(frozen=True)
class Logo:
    content_type: str
    data: bytes


def logo_type(data: bytes) -> str:
    """PNG or SVG, judged by the content (what browsers and spreadsheets call a file varies)."""
    return PNG if data.startswith(_PNG_SIGNATURE) else SVG


def checked_logo(data: bytes, content_type: str | None = None) -> Logo:
    """The logo to store: a PNG as it is, an SVG rebuilt; LogoRefused with the reason."""
    if not data:
        raise LogoRefused("the file is empty")
    if len(data) > LOGO_MAX_BYTES:
        raise LogoRefused(f"the file is {len(data) // 1024} KB; a logo may have at most 200 KB")
    kind = content_type or logo_type(data)
    if kind == PNG:
        return Logo(PNG, _checked_png(data))
    if kind == SVG:
        return Logo(SVG, _rebuilt_svg(data))
    raise LogoRefused("a logo is a PNG or an SVG image")


def _checked_png(data: bytes) -> bytes:
    if not data.startswith(_PNG_SIGNATURE) or len(data) < 33 or data[12:16] != b"IHDR":
        raise LogoRefused("not a PNG or SVG image: upload the logo as a .png or .svg file")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if not (0 < width <= LOGO_MAX_SIDE and 0 < height <= LOGO_MAX_SIDE):
        raise LogoRefused(
            f"the image is {width}×{height} pixels; use at most {LOGO_MAX_SIDE} on a side"
        )
    return data


def _rebuilt_svg(data: bytes) -> bytes:
    if re.search(rb"<!(DOCTYPE|ENTITY)", data, re.IGNORECASE):
        raise LogoRefused("an SVG logo may not have a DOCTYPE or entities")
    try:
        root = ET.fromstring(data)  # comments and processing instructions are dropped
    except ET.ParseError:
        raise LogoRefused(
            "not a PNG or SVG image: upload the logo as a .png or .svg file"
        ) from None
    if root.tag != f"{{{_SVG_NS}}}svg":
        raise LogoRefused("not an SVG image: its root is not <svg> in the SVG namespace")
    _keep_allowed(root)
    ET.register_namespace("", _SVG_NS)
    ET.register_namespace("xlink", _XLINK_NS)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _keep_allowed(element: ET.Element) -> None:
    for name in list(element.attrib):
        value = element.attrib[name]
        local = name.split("}", 1)[-1] if name.startswith("{") else name
        internal_link = local == "href" and value.strip().startswith("#")
        in_svg = not name.startswith("{") or name == f"{{{_XLINK_NS}}}href"
        allowed = in_svg and (local in _ATTRIBUTES or internal_link)
        if not allowed or _OUTSIDE_REFERENCE.search(value):
            del element.attrib[name]
    for child in list(element):
        tag = child.tag if isinstance(child.tag, str) else ""
        if not tag.startswith(f"{{{_SVG_NS}}}") or tag.split("}", 1)[1] not in _ELEMENTS:
            element.remove(child)
        else:
            _keep_allowed(child)
