"""Secret key files kept outside the database (the audit chain's key, the pseudonym key)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def create(path: Path) -> Path:
    """Write a new random key to ``path`` with mode 0600 unless the file exists; return ``path``.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "k"
    >>> create(p) == p and len(p.read_text().strip()) == 64 and oct(p.stat().st_mode)[-3:]
    '600'
    >>> before = p.read_text(); create(p) and p.read_text() == before
    True
    """
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # O_EXCL: two processes starting at once must not both write a key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    return path
