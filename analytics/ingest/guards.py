"""Guards against hostile import files: decompression bombs, links and special files.

A ``.gz`` file is expanded as a stream and refused once it passes WORKBENCH_MAX_EXPANDED_MB or
expands more than :data:`MAX_RATIO`-fold (a Parquet file's declared size is checked the same
way); symbolic links and special files are refused unless the caller follows links, and a
folder never contributes a file outside itself.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import zlib
from pathlib import Path

from analytics.ingest.validate import InvalidImport, Problem

SKIPPED_SUFFIXES = (".md", ".pdf", ".txt", ".toml")
# Real exports compress 5-20 fold; 1 GiB of zeros compresses ~1000 fold. The ratio is only
# judged past RATIO_FLOOR expanded bytes, since small repetitive files compress very well.
MAX_RATIO = 100
RATIO_FLOOR = 16 * 1024 * 1024
_CHUNK = 1024 * 1024
FOLLOW_HINT = "pass --follow-symlinks to read the file it points to"


def max_expanded_bytes() -> int:
    """WORKBENCH_MAX_EXPANDED_MB in bytes."""
    from analytics.settings import get_settings

    return get_settings().max_expanded_mb * 1024 * 1024


def check_expansion(name: str, expanded: int, compressed: int, cap: int) -> None:
    """Refuse a file that expands past ``cap`` bytes or more than MAX_RATIO-fold (a bomb).

    >>> check_expansion("x.gz", 20 * 2**20, 2**20, 2**30)
    >>> check_expansion("x.gz", 200 * 2**20, 2**20, 2**30)
    Traceback (most recent call last):
    ...
    analytics.ingest.validate.InvalidImport: 1 problem(s); nothing was imported:
      x.gz: refused as a likely decompression bomb: 1,024 KB of it expand more than 100-fold (to over 200 MB)
    """
    if expanded > cap:
        why = (f"expands to more than {cap / 2**20:,.0f} MB (WORKBENCH_MAX_EXPANDED_MB); "
               "import it uncompressed or raise the setting")
    elif expanded > RATIO_FLOOR and expanded > MAX_RATIO * max(compressed, 1):
        why = (f"refused as a likely decompression bomb: {compressed / 1024:,.0f} KB of it expand "
               f"more than {MAX_RATIO}-fold (to over {expanded / 2**20:,.0f} MB)")
    else:
        return
    raise InvalidImport([Problem(name, None, None, None, why)])


def gunzip(name: str, raw: bytes) -> bytes:
    """Expand a gzip file as a stream, stopping as soon as it passes the caps (before it grows)."""
    # Chunks in a list, joined once: a growing buffer would briefly hold twice what it holds.
    # The ratio is of the compressed bytes consumed so far, so a bomb stops at RATIO_FLOOR.
    cap, chunks, size, src = max_expanded_bytes(), [], 0, io.BytesIO(raw)
    try:
        with gzip.GzipFile(fileobj=src) as gz:
            while chunk := gz.read(_CHUNK):
                chunks.append(chunk)
                size += len(chunk)
                check_expansion(name, size, src.tell(), cap)
    except EOFError:
        raise InvalidImport([Problem(name, None, None, None,
                                     "the gzip file is truncated (its stream ends early)")]) from None
    except (OSError, zlib.error) as exc:
        raise InvalidImport([Problem(name, None, None, None,
                                     f"not a valid gzip file ({exc})")]) from None
    return b"".join(chunks)


def folder_members(folder: Path, follow_symlinks: bool) -> tuple[list[Path], list[Problem]]:
    """The data files of ``folder``; a link pointing outside it is a problem, never read."""
    inside, members, problems = folder.resolve(), [], []
    for f in sorted(folder.iterdir()):
        if f.name.startswith(".") or f.name.lower().endswith(SKIPPED_SUFFIXES):
            continue
        if f.is_symlink():
            target = f.resolve()
            if not target.is_relative_to(inside):
                problems.append(Problem(str(f), None, None, None,
                                        f"is a symbolic link to {target}, outside the folder; refused"))
                continue
            if not follow_symlinks:
                problems.append(Problem(str(f), None, None, None, f"is a symbolic link; {FOLLOW_HINT}"))
                continue
        if f.is_file():  # pipes, sockets and devices in a folder are not data files
            members.append(f)
    return members, problems


def read_regular(path: Path, follow_symlinks: bool) -> bytes:
    """The bytes of a regular file; a link (unless followed), device, pipe or socket is refused.

    The check is made on the opened descriptor, so the file cannot be swapped in between.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow_symlinks else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        why = (f"is a symbolic link; {FOLLOW_HINT}" if path.is_symlink()
               else f"cannot be read ({exc.strerror})")
        raise InvalidImport([Problem(str(path), None, None, None, why)]) from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise InvalidImport([Problem(str(path), None, None, None,
                                         "is not a regular file (a device, pipe or socket); refused")])
        return fh.read()


def refuse_parquet_bomb(name: str, data: bytes) -> None:
    """Refuse a Parquet file whose declared uncompressed size passes the expansion caps."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(io.BytesIO(data)).metadata
    # Run-length and dictionary encodings make the stored size small too, so also count what
    # the rows take once read as text columns: at least 8 bytes per cell.
    expanded = max(sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)),
                   8 * meta.num_rows * meta.num_columns)
    check_expansion(name, expanded, len(data), max_expanded_bytes())
