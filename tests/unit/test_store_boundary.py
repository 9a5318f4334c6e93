"""Only shared/store/ talks to MongoDB: the services and the rest of shared/ call its functions.

import-linter (`make lint`) checks that nothing else imports pymongo; a `Database` handle
needs no import, though, so this reads the code: outside shared/store/ no collection is
taken from a handle (`db.waves`, `db["waves"]`, `self._db.emails`) and no collection
method is called.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STORE = ROOT / "shared" / "store"

# pymongo's Collection API; the ambiguous `find` (str.find) is caught by its receiver below.
COLLECTION_METHODS = frozenset(
    {
        "find_one",
        "find_one_and_update",
        "find_one_and_replace",
        "find_one_and_delete",
        "update_one",
        "update_many",
        "replace_one",
        "insert_one",
        "insert_many",
        "delete_one",
        "delete_many",
        "bulk_write",
        "aggregate",
        "distinct",
        "count_documents",
        "estimated_document_count",
        "create_index",
        "create_indexes",
        "drop_index",
        "get_collection",
    }
)
# What a handle is called in Rapport (`db`, `self._db`, `container.db`, `database`).
HANDLE_NAMES = frozenset({"db", "_db", "database"})
# A Database's own attributes that are no collection.
HANDLE_ATTRIBUTES = frozenset({"name", "client"})


def _is_handle(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id in HANDLE_NAMES
    return isinstance(node, ast.Attribute) and node.attr in HANDLE_NAMES


def store_bypasses(source: str) -> list[tuple[int, str]]:
    """(line, what) of every place in `source` that reaches MongoDB without the store, one
    per line, in line order."""
    found: dict[int, str] = {}
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and _is_handle(node.value)
            and node.attr not in HANDLE_ATTRIBUTES
            and node.attr not in HANDLE_NAMES
        ):
            found[node.lineno] = f"collection `{node.attr}` taken from a database handle"
        elif isinstance(node, ast.Subscript) and _is_handle(node.value):
            found[node.lineno] = "collection taken from a database handle by name"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in COLLECTION_METHODS
        ):
            found.setdefault(node.lineno, f"collection method `{node.func.attr}` called")
    return sorted(found.items())


def test_the_check_sees_a_collection_call_on_a_handle():
    code = (
        "wave = db.waves.find_one({'_id': wave_id})\n"
        "emails = self._db['emails']\n"
        "for row in container.db.scores.find({}):\n"
        "    pass\n"
        "collection.update_one({}, {})\n"
        "text.find('x')\n"
        "name = db.name\n"
    )
    assert [line for line, _ in store_bypasses(code)] == [1, 2, 3, 5]


def test_only_the_store_queries_mongodb():
    bypasses = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for top in ("services", "shared")
        for path in sorted((ROOT / top).rglob("*.py"))
        if STORE not in path.parents
        for line, what in store_bypasses(path.read_text(encoding="utf-8"))
    ]
    assert bypasses == [], "call shared/store/ instead:\n" + "\n".join(bypasses)
