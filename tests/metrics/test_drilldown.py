"""The records behind a delivery number: row counts equal the summary's counts and the
hand-made scenario of delivery_builders (see its docstring for the arithmetic)."""

from __future__ import annotations

import pytest
from tests.metrics.delivery_builders import END, START, scenario

from analytics.metrics.delivery_report import build_facts, summarize
from analytics.metrics.drilldown import KINDS, records


@pytest.fixture(scope="module")
def facts():
    deps, chg, inc = scenario()
    return build_facts(deps, chg, inc, start=START, end=END)


# By hand from the scenario (period 2024-01-01 … 01-14, production, 48 h window):
# deployments d1 d2 d4 d5 d6 d7 d13 = 7; failed d1 (i7, i9), d2 (status, i1, i2), d4 (rolled
# back), d6 (i4) = 4; rolled back d4 = 1; unplanned d5 = 1; lead pairs c1 c2 c5 c7 c9 = 5;
# incidents i1 i2 i3 i4 i5 i7 i9 = 7 (i6 before, i8 staging); explicit i4; window i1 i2 i7
# i9; unattributed i3 i5; recurring i2 i4 i7 = 3; customer-facing attributed i1 i2 = 2.
@pytest.mark.parametrize(("kind", "expected"), [
    ("deployments", 7), ("failed deployments", 4), ("rolled-back deployments", 1),
    ("unplanned deployments", 1), ("lead-time pairs", 5), ("incidents", 7), ("explicit", 1),
    ("window", 4), ("unattributed", 2), ("recurring incidents", 3),
    ("customer-facing incidents", 2),
])
def test_counts_by_hand(facts, kind, expected):
    rows, total = records(facts, kind)
    assert total == len(rows) == expected


@pytest.mark.parametrize("kind", [k for k, v in KINDS.items() if v[2] is not None])
@pytest.mark.parametrize("by", ["service", "team"])
def test_counts_equal_the_summary_per_slice(facts, kind, by):
    count = KINDS[kind][2]
    for row in summarize(facts, by=(by,)).iter_rows(named=True):
        assert records(facts, kind, where={by: row[by]})[1] == row[count], (kind, row[by])


def test_limit_keeps_the_newest(facts):
    rows, total = records(facts, "deployments", limit=2)
    assert total == 7 and len(rows) == 2
    assert rows["id"].to_list() == [7, 13]  # d7 at h200, d13 at h80


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kind": "nope"}, "kind: unknown 'nope'"),
    ({"kind": "incidents", "limit": 0}, "limit: expected a positive whole number"),
    ({"kind": "incidents", "where": {"colour": "red"}}, "where: unknown slice key(s) colour"),
])
def test_bad_input_names_the_field(facts, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        records(facts, **kwargs)


def test_lead_pairs_carrying_slice_keys_list_the_same_records():
    """Facts whose pairs carry slice keys (the pages' shared facts) list the same pairs, with
    the same columns, as facts whose pairs carry only the deployment id."""
    deps, chg, inc = scenario()
    carried = build_facts(deps, chg, inc, start=START, end=END,
                          pair_keys=("criticality", "service", "team"))
    plain = build_facts(deps, chg, inc, start=START, end=END)
    for where in ({}, {"service": "checkout"}, {"team": "payments"}):
        a, n = records(carried, "lead-time pairs", where=where)
        b, m = records(plain, "lead-time pairs", where=where)
        assert n == m and a.sort(a.columns).equals(b.sort(b.columns))
