"""How a sentence reads when one of its values is missing, for the pages and the emails alike.

A sentence with placeholders (`"{sender} asks you, {name}, ..."`) has a variant written
without each value that can be missing (`who_asks_no_name`, `who_asks_no_name_no_sender`),
so no sentence ever shows a hole or a stand-in that reads wrongly in its place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def missing_names(template: str, values: Mapping[str, Any]) -> list[str]:
    """The placeholders of `template` whose value is missing (None or blank), sorted."""
    return sorted(
        {
            name
            for name in _PLACEHOLDER.findall(template)
            if values.get(name) is None or not str(values[name]).strip()
        }
    )


def variant_key(key: str, missing: list[str]) -> str:
    """The key of the sentence written without the `missing` values: `who_asks_no_name`."""
    return key + "".join(f"_no_{name}" for name in missing)
