"""Ties (REFERENCE §1.1 last paragraph): deployments of a service sharing ``finished_at`` are
ordered by ``finished_at``, then external id ascending; the answer never depends on row order.

The ids are chosen so that ordering by the numeric id would pick the other deployment."""

from __future__ import annotations

from itertools import permutations

import polars as pl
import pytest
from tests.metrics.delivery_builders import deployments, incidents

from analytics.metrics.attribution import attribute
from analytics.metrics.stability import deployment_facts


def _with_external(frame: pl.DataFrame, ext: dict[int, str]) -> pl.DataFrame:
    return frame.with_columns(pl.col("id").replace_strict(ext, return_dtype=pl.String)
                              .alias("external_id"))


def _orders(frame: pl.DataFrame):
    """Every row order of ``frame``."""
    for order in permutations(range(frame.height)):
        yield frame[list(order)]


ATTR_DEPS = _with_external(deployments([
    {"id": 21, "service_id": 1, "at": 10},   # dep-b
    {"id": 22, "service_id": 1, "at": 10},   # dep-a: same instant, smaller external id
    {"id": 23, "service_id": 1, "at": 2},    # dep-c: earlier
]), {21: "dep-b", 22: "dep-a", 23: "dep-c"})
ATTR_INC = incidents([{"id": 1, "service_id": 1, "opened": 15, "resolved": 16}])


def test_latest_before_takes_the_larger_external_id_of_a_tie_in_any_row_order() -> None:
    # Order by (finished_at, external id): dep-c (h2), dep-a (h10), dep-b (h10). The latest
    # before the incident (h15) is the last of these: dep-b, id 21 — by hand.
    seen = {attribute(ATTR_INC, deps, window_hours=48).row(0, named=True)["deployment_id"]
            for deps in _orders(ATTR_DEPS)}
    assert seen == {21}
    links = attribute(ATTR_INC, ATTR_DEPS, window_hours=48)
    assert links.row(0, named=True)["rule"] == "window"
    assert links.row(0, named=True)["gap_hours"] == pytest.approx(5.0)


REC_DEPS = _with_external(deployments([
    {"id": 30, "service_id": 1, "at": 0, "status": "failed"},   # rel-5
    {"id": 31, "service_id": 1, "at": 5},                        # rel-9
    {"id": 32, "service_id": 1, "at": 5},                        # rel-7: same instant, smaller
    {"id": 33, "service_id": 1, "at": 8},                        # rel-1: later
]), {30: "rel-5", 31: "rel-9", 32: "rel-7", 33: "rel-1"})
NO_LINKS = pl.DataFrame(schema={"incident_id": pl.Int64, "deployment_id": pl.Int64,
                                "rule": pl.String})


def test_next_success_takes_the_smaller_external_id_of_a_tie_in_any_row_order() -> None:
    # After rel-5 (h0) the successes in (finished_at, external id) order are rel-7 (h5),
    # rel-9 (h5), rel-1 (h8): the next one is rel-7, id 32, 5 h later — by hand.
    seen = set()
    for deps in _orders(REC_DEPS):
        facts = deployment_facts(deps, incidents([]), NO_LINKS).collect()
        failed = facts.filter(pl.col("id") == 30).row(0, named=True)
        seen.add((failed["next_success_id"], failed["recovery_hours"]))
    assert seen == {(32, 5.0)}  # 5 h exactly: the datetimes are whole hours


def test_without_external_ids_the_id_breaks_the_tie() -> None:
    deps = REC_DEPS.drop("external_id")
    seen = {deployment_facts(d, incidents([]), NO_LINKS).collect()
            .filter(pl.col("id") == 30)["next_success_id"][0] for d in _orders(deps)}
    assert seen == {31}
    seen = {attribute(ATTR_INC, d, window_hours=48)["deployment_id"][0]
            for d in _orders(ATTR_DEPS.drop("external_id"))}
    assert seen == {22}
