"""Blocks of panel rows for the release study's passes over service × hour arrays.

At scale the panel is ≈10⁷ service-hours: a whole (S, T) float64 array is 84 MB of fresh pages
that the kernel faults in and zeroes on every pass. The window and model passes go a block of
services at a time instead (:meth:`analytics.studies.release_panel.Panel.blocks`), in scratch
arrays reused from block to block, and the model's expected counts are made a block at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Service-hours per block (see Panel.blocks): a float64 block array is then 8 MB.
BLOCK_CELLS = 1 << 20


class Scratch:
    """Arrays reused from block to block, by name (see ``Panel.blocks``): each is
    allocated once, at the first block's shape (the largest), and later blocks use its start."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}
        self.done: dict = {}  # what a named array holds now (e.g. the rows of a running count)

    def array(self, name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
        """The array ``name`` as ``shape`` (contents left from its last use)."""
        size = int(np.prod(shape))
        buf = self._arrays.get(name)
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = self._arrays[name] = np.empty(size, dtype)
        return buf[:size].reshape(shape)


@dataclass(frozen=True)
class Expected:
    """Expected counts with no release window open, ``exp(log_level[s] + log_hour[t])``, made
    a block of rows (or a set of cells) at a time instead of as one (S, T) array."""

    log_level: np.ndarray  # (S,) service level, −inf for a service without events
    log_hour: np.ndarray  # (T,) hour-of-week effect of each panel hour

    def rows(self, s0: int, s1: int, out: np.ndarray | None = None) -> np.ndarray:
        """(s1 − s0, T) expected counts of panel rows s0 … s1 − 1 (into ``out`` if given)."""
        log_mu = np.add.outer(self.log_level[s0:s1], self.log_hour, out=out)
        return np.exp(log_mu, out=log_mu)  # in place: one array, not two

    def at(self, s: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Expected counts at rows ``s`` and hours ``t`` (arrays of one shape)."""
        log_mu = self.log_level[s] + self.log_hour[t]
        return np.exp(log_mu, out=log_mu)


def row_order(s: np.ndarray, n_rows: int) -> np.ndarray:
    """The stable order of panel rows ``s`` (a 16-bit key takes numpy's radix sort, 6×
    faster, when the panel has fewer than 2**16 rows)."""
    return np.argsort(s.astype(np.uint16) if n_rows < 2 ** 16 else s, kind="stable")
