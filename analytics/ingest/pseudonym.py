"""Customer ids are pseudonymised at import with a keyed hash (HMAC-SHA256).

The key lives OUTSIDE the database, like the audit key: ``WORKBENCH_PSEUDONYM_KEY``, else a key
file beside the audit key (``<db>.pseudonym-key``, mode 0600) that ``init`` (or the first import)
creates. The same id under the same key always gives the same pseudonym, so joins across tickets
and survey answers still work and re-importing a file matches the rows it stored before; without
the key nobody can go back from a pseudonym to the id, nor test a guessed id against the store.

A value that already is a pseudonym (``c_`` + 16 hex digits, e.g. from a re-imported export of the
store) is kept as it is, so importing the store's own rows never hashes twice.

>>> pseudonym("cust-00a1", b"k")
'c_a98411739082d3f8'
>>> pseudonym(pseudonym("cust-00a1", b"k"), b"other")
'c_a98411739082d3f8'
>>> pseudonym(None, b"k") is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from pathlib import Path

import polars as pl
from sqlalchemy import Engine

from analytics.store import keyfile
from analytics.settings import get_settings

PREFIX = "c_"
DIGITS = 16
PATTERN = re.compile(rf"{PREFIX}[0-9a-f]{{{DIGITS}}}")
# Tables (store names and import kinds) whose customer_id column is pseudonymised.
COLUMN = "customer_id"
_MEMORY_KEYS: dict[int, bytes] = {}  # in-memory SQLite stores: a key as long-lived as they are


def pseudonym(value: str | None, key: bytes) -> str | None:
    """The pseudonym of one customer id (None stays None; a pseudonym stays itself)."""
    if value is None:
        return None
    value = str(value)
    if PATTERN.fullmatch(value):
        return value
    return PREFIX + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:DIGITS]


def pseudonymise(frame: pl.DataFrame, key: bytes, column: str = COLUMN) -> pl.DataFrame:
    """``frame`` with ``column`` replaced by pseudonyms (unchanged when it has no such column).

    >>> pseudonymise(pl.DataFrame({"customer_id": ["a", None]}), b"k")["customer_id"].to_list()
    ['c_78da91511e675587', None]
    """
    if column not in frame.columns:
        return frame
    ids = frame[column].cast(pl.String)
    mapping = {v: pseudonym(v, key) for v in ids.drop_nulls().unique().to_list()}
    return frame.with_columns(ids.replace_strict(mapping, default=None, return_dtype=pl.String)
                              .alias(column))


def key_path(engine: Engine) -> Path | None:
    """Where the pseudonym key file of ``engine``'s store lives (None: in-memory SQLite)."""
    from analytics.store import audit

    configured = get_settings().pseudonym_key_file
    if configured:
        return Path(configured)
    path = audit.key_path(engine)
    if path is None:
        return None
    name = path.name[:-len(".audit-key")] if path.name.endswith(".audit-key") else path.name
    return path.with_name(name + ".pseudonym-key")


def ensure_key(engine: Engine) -> Path | None:
    """Create the key file (mode 0600) when no key is configured and none exists; return its path
    (None when the key comes from ``WORKBENCH_PSEUDONYM_KEY`` or the store is in memory)."""
    if get_settings().pseudonym_key:
        return None
    path = key_path(engine)
    if path is None:
        _MEMORY_KEYS.setdefault(id(engine), secrets.token_bytes(32))
        return None
    return keyfile.create(path)


def load_key(engine: Engine) -> bytes:
    """The store's pseudonym key, created on first use."""
    secret = get_settings().pseudonym_key
    if secret:
        return secret.encode()
    path = ensure_key(engine)
    if path is None:
        return _MEMORY_KEYS[id(engine)]
    return path.read_text().strip().encode()
