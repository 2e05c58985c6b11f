"""NMF of a corpus whose documents repeat, fitted once per distinct row.

Ticket texts repeat heavily (after scrubbing, the demo's 50,000 sampled tickets hold 72 distinct
texts), and the Frobenius NMF objective of a matrix with a row repeated ``c`` times equals that of
the distinct row scaled by ``√c``: Σᵢ cᵢ‖xᵢ − wᵢH‖² = Σᵢ ‖√cᵢ xᵢ − √cᵢ wᵢ H‖². So the factorisation
is fitted on the distinct rows, each scaled by the square root of its count, and every document's
weights are its row's weights divided by that root. The coordinate-descent updates of H see the same
WᵀW and WᵀX sums, and each W row update scales with its row; the NNDSVDa start is built so that it
is the scaled start of the full matrix (sklearn's NNDSVD on the scaled rows, whose singular values
and right vectors are those of the full matrix, then zeros filled with the *full* matrix's mean,
scaled per row). What can still differ from a fit on every row is float rounding and the stopping
test (its violation sums per-row gradients), which moves the converged factors by far less than the
tolerance; tests compare both fits.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse


def distinct_rows(keys: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first index of each distinct key, its count, each position's distinct-row number).

    >>> first, count, row = distinct_rows(["a", "b", "a"])
    >>> first.tolist(), count.tolist(), row.tolist()
    ([0, 1], [2, 1], [0, 1, 0])
    """
    seen: dict[str, int] = {}
    row = np.fromiter((seen.setdefault(k, len(seen)) for k in keys), dtype=np.int64, count=len(keys))
    count = np.bincount(row, minlength=len(seen))
    first = np.full(len(seen), len(keys), dtype=np.int64)
    np.minimum.at(first, row, np.arange(len(keys)))
    return first, count, row


def _nndsvda(xs: sparse.csr_matrix, root: np.ndarray, avg: float, n_components: int,
             seed: int) -> tuple[np.ndarray, np.ndarray] | None:
    """NNDSVDa start for the row-scaled matrix ``xs`` equal to the scaled start of the full one
    (None if sklearn no longer has its private NNDSVD: then NMF starts by its own NNDSVDa on the
    scaled rows, which differs only in the zero fill)."""
    try:
        from sklearn.decomposition._nmf import _initialize_nmf
    except ImportError:
        return None
    w, h = _initialize_nmf(xs, n_components, init="nndsvd", random_state=seed)
    fill = np.broadcast_to((root * avg)[:, None], w.shape).astype(w.dtype)
    w[w == 0] = fill[w == 0]
    h[h == 0] = avg
    return w, h


def fit_nmf(x: sparse.csr_matrix, keys: list[str], n_components: int, *, seed: int,
            max_iter: int = 500, tol: float = 1e-4) -> tuple[np.ndarray, object]:
    """(W of every row of ``x``, the fitted NMF) for ``init="nndsvda"``, fitted on the distinct
    rows: rows with equal ``keys`` must be equal rows of ``x``."""
    from sklearn.decomposition import NMF

    first, count, row = distinct_rows(keys)
    root = np.sqrt(count).astype(x.dtype)
    xs = sparse.diags(root) @ x[first]
    # The full matrix's mean: each distinct row's sum counted as often as it occurs.
    avg = float(np.asarray(x[first].sum(axis=1)).ravel() @ count) / (x.shape[0] * x.shape[1])
    start = _nndsvda(sparse.csr_matrix(xs), root, avg, n_components, seed)
    nmf = NMF(n_components=n_components, init="nndsvda" if start is None else "custom",
              random_state=seed, max_iter=max_iter, tol=tol)
    w0, h0 = start or (None, None)
    ws = nmf.fit_transform(sparse.csr_matrix(xs, dtype=x.dtype), W=w0, H=h0)
    return ws[row] / root[row, None], nmf
