"""Small helpers the tool-payload importers share: JSON files, nested fields, repository names."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from analytics.ingest.files import SourceFile, read_json
from analytics.ingest.validate import InvalidImport, Problem


def json_documents(files: list[SourceFile]) -> Iterator[tuple[SourceFile, Any]]:
    """Each JSON file with its parsed document (files found in a folder that are not JSON are skipped)."""
    for f in files:
        if f.in_folder and f.fmt != "json":
            continue
        yield f, read_json(f)


def dig(obj: Any, *path: str) -> Any:
    """``obj[path[0]][path[1]]…`` or None when any step is missing.

    >>> dig({"a": {"b": 1}}, "a", "b"), dig({"a": None}, "a", "b")
    (1, None)
    """
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def records(f: SourceFile, doc: Any, wrapper: str | None, what: str) -> list[dict[str, Any]]:
    """The list of objects in ``doc`` (a bare array, or ``doc[wrapper]``); anything else is a problem."""
    items = doc.get(wrapper) if wrapper and isinstance(doc, dict) else doc
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        where = f"a JSON object with a {wrapper!r} list" if wrapper else "a JSON array"
        raise InvalidImport([Problem(f.name, None, wrapper, None,
                                     f"expected {what} as {where}")])
    return items


class States:
    """The state each record id has in one file; a second, different state is a conflict.

    A record repeated on overlapping pages is fine; the same id both finished and running (or
    canceled) in one file cannot both be true, so the import is refused. (Two *imported* records
    with one id and different values are already refused as a duplicate id; ``kept`` says whether
    a record is imported, so only a conflict with a skipped record is reported here.)

    >>> s = States("status")
    >>> s.see("f.json", 1, 7, "success", True); s.see("f.json", 2, 7, "running", False)
    >>> print(s.problems[0])
    f.json, row 2, column 'status', value 'running': id 7 already has status 'success' (row 1) in this file
    """

    def __init__(self, field: str) -> None:
        self.field = field
        self.first: dict[tuple[str, str], tuple[Any, int, bool]] = {}
        self.problems: list[Problem] = []

    def see(self, file: str, row: int, rid: Any, state: Any, kept: bool) -> None:
        """Record ``state`` for id ``rid`` at ``file``/``row`` (``kept``: the record is imported)."""
        if isinstance(rid, dict | list) or rid is None:
            return  # reported by Rows.add (nested value) or the required-id check
        key = (file, str(rid))
        earlier = self.first.setdefault(key, (state, row, kept))
        if earlier[0] != state and not (kept and earlier[2]):
            self.problems.append(Problem(file, row, self.field, str(state),
                                         f"id {rid} already has {self.field} {earlier[0]!r} "
                                         f"(row {earlier[1]}) in this file"))


def unknown_state(file: str, row: int, field: str, value: Any, allowed: tuple[str, ...]) -> Problem:
    """A state the importer does not know: refused with the allowed list (never guessed)."""
    return Problem(file, row, field, str(value), f"unknown state (one of {', '.join(allowed)})")


def epoch_ms(value: Any) -> str | None:
    """Epoch milliseconds (Jenkins) as an ISO UTC timestamp; other values pass through as text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC).isoformat()
    return None if value is None else str(value)


def repo_name(url_or_full_name: str | None) -> str | None:
    """The repository name from ``owner/name`` or an API/web URL ending in it.

    >>> repo_name("https://api.github.com/repos/octocat/example"), repo_name("Codertocat/Hello-World")
    ('example', 'Hello-World')
    """
    if not url_or_full_name or not isinstance(url_or_full_name, str):
        return None  # not a name: the service is then missing, which validation reports
    path = urlparse(url_or_full_name).path if "://" in url_or_full_name else url_or_full_name
    parts = [p for p in path.split("/") if p]
    return parts[-1] if parts else None
