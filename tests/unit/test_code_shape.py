"""The product's code stays readable: no module over 600 lines, no function over 80 lines
(issue 12). A newcomer finds a concept by its file; a long function is split into named steps."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = [ROOT / "services", ROOT / "shared"]
MODULE_LINES = 600
FUNCTION_LINES = 80


def _modules() -> list[Path]:
    return sorted(path for folder in PRODUCT for path in folder.rglob("*.py"))


def test_no_module_of_the_product_is_over_600_lines():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in _modules()
        if (lines := len(path.read_text().splitlines())) > MODULE_LINES
    }
    assert long == {}


def test_no_function_of_the_product_is_over_80_lines():
    long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = lines
    assert long == {}


def test_the_checks_see_what_they_look_for():
    # the two checks above walk real files: make sure they found the product
    modules = _modules()
    assert any(p.name == "worker.py" and p.parent.name == "scoring" for p in modules)
    functions = sum(
        isinstance(n, ast.FunctionDef) for p in modules for n in ast.walk(ast.parse(p.read_text()))
    )
    assert functions > 500
