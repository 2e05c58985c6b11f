"""NMF fitted once per distinct row: the same factorisation as sklearn's NMF on every row."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from sklearn.decomposition import NMF
from sklearn.decomposition._nmf import _initialize_nmf

from analytics.studies.nmf_dedup import _nndsvda, distinct_rows, fit_nmf


def _repeated(seed: int, n_distinct: int = 12, n_rows: int = 400, n_terms: int = 30,
              dtype: type = np.float64) -> tuple[sparse.csr_matrix, list[str]]:
    """A sparse non-negative matrix of ``n_rows`` rows drawn (with repeats) from ``n_distinct``."""
    rng = np.random.default_rng(seed)
    base = sparse.random(n_distinct, n_terms, density=0.3, random_state=seed, format="csr",
                         dtype=dtype)
    base.data = rng.random(base.data.size).astype(dtype) + 0.1
    pick = rng.integers(0, n_distinct, n_rows)
    return sparse.csr_matrix(base[pick]), [f"text {i}" for i in pick]


def test_distinct_rows_matches_a_dictionary_count() -> None:
    keys = list("abcabca") + ["d"]
    first, count, row = distinct_rows(keys)
    assert [keys[i] for i in first] == ["a", "b", "c", "d"]
    assert dict(zip([keys[i] for i in first], count.tolist(), strict=True)) == {"a": 3, "b": 2, "c": 2, "d": 1}
    assert all(keys[first[r]] == k for r, k in zip(row, keys, strict=True))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_start_is_the_scaled_nndsvda_start_of_the_full_matrix(seed: int) -> None:
    x, keys = _repeated(seed)
    first, count, _ = distinct_rows(keys)
    root = np.sqrt(count)
    avg = x.mean()
    w_full, h_full = _initialize_nmf(x, 4, init="nndsvda", random_state=seed)
    w, h = _nndsvda(sparse.csr_matrix(sparse.diags(root) @ x[first]), root, avg, 4, seed)
    # Singular vectors are unique up to sign and the randomized SVD is an approximation: compare
    # the starts, which take absolute/positive parts, to a tolerance far below the NMF's.
    np.testing.assert_allclose(h, h_full, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(w / root[:, None], w_full[first], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_converged_factors_equal_a_fit_on_every_row(seed: int) -> None:
    x, keys = _repeated(seed)
    full = NMF(n_components=4, init="nndsvda", random_state=seed, max_iter=20_000, tol=1e-12)
    w_full = full.fit_transform(x)
    w, nmf = fit_nmf(x, keys, 4, seed=seed, max_iter=20_000, tol=1e-12)
    np.testing.assert_allclose(nmf.components_, full.components_, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(w, w_full, rtol=1e-5, atol=1e-8)
    # Equal rows keep equal weights, so each document's dominant component is its text's.
    assert (w.argmax(axis=1) == w_full.argmax(axis=1)).all()


def test_default_tolerance_gives_the_same_dominant_component() -> None:
    # Topic-like data (as ticket texts are): each distinct row mostly one of six term blocks.
    rng = np.random.default_rng(7)
    n_distinct, k, per = 40, 6, 10
    h_true = np.kron(np.eye(k), np.ones(per)) + 0.05 * rng.random((k, k * per))
    w_true = 0.1 * rng.random((n_distinct, k))
    w_true[np.arange(n_distinct), np.arange(n_distinct) % k] += 1
    pick = rng.integers(0, n_distinct, 3000)
    rows = w_true @ h_true + 0.05 * rng.random((n_distinct, k * per))  # not exactly rank k
    x = sparse.csr_matrix(rows[pick].astype(np.float32))
    keys = [f"text {i}" for i in pick]
    w_full = NMF(n_components=k, init="nndsvda", random_state=0, max_iter=500).fit_transform(x)
    w, _ = fit_nmf(x, keys, k, seed=0)
    assert w.dtype == np.float32
    assert (w.argmax(axis=1) == w_full.argmax(axis=1)).all()
    # Stopping tests differ (per-row gradients are summed per distinct row): each document's
    # weight within a few %, far below the gaps between its components.
    np.testing.assert_allclose(w.max(axis=1), w_full.max(axis=1), rtol=0.05)
