"""`report csat`: CSAT and NPS with intervals, the weekly series and its p-chart signals (issue 8)."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine

from analytics.cli.common import CliError, add_filter_arguments, filters_from
from analytics.metrics.control_charts import LANEY_AUTO_N, p_chart
from analytics.metrics.csat import csat_periods, local_time, overall
from analytics.settings import get_settings
from analytics.store import queries

NAME = "csat"
HELP = "CSAT and NPS with intervals, the weekly series and out-of-control weeks"
DEFINITION = ("CSAT = share of responses scoring 4–5 (Wilson 95%); NPS = % promoters (9–10) − % "
              "detractors (0–6) of responses with an NPS answer (adjusted-Wald 95%); weeks are ISO "
              f"weeks in the configured time zone; p-chart with each week's n, Laney p′ when the "
              f"median weekly n ≥ {LANEY_AUTO_N}; weeks without responses are gaps, not zeros")
WEEK_FIELDS = ("period", "n", "csat", "csat_low", "csat_high", "nps_n", "nps", "nps_low", "nps_high",
               "gap", "center", "lcl", "ucl", "signal")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--from/--to/--service/--team (responses have no environment)."""
    add_filter_arguments(parser, environment=False)


def compute(engine: Engine, args: argparse.Namespace) -> dict[str, Any]:
    """{"csat", "nps", "n", …, "weekly": [...], "out_of_control": [...]}."""
    filters = filters_from(args, engine)
    tz = get_settings().timezone
    # --from/--to are whole days in `tz` (REFERENCE intro): fetch up to 14 h either side (the
    # widest UTC offset), then keep the responses whose local day is inside the period.
    pad = timedelta(hours=14) if tz != "UTC" else timedelta(0)
    frame = queries.csat(engine, filters, pad_before=pad, pad_after=pad)
    if frame.height:  # an empty read has untyped (integer) time columns
        day = local_time("responded_at", tz).dt.date()
        frame = frame.filter(day >= filters.start if filters.start else pl.lit(True),
                             day <= filters.end if filters.end else pl.lit(True))
    if frame.height == 0:
        raise CliError("no CSAT responses match the filters (--from/--to/--service/--team)")
    weekly = p_chart(csat_periods(frame, "week", tz=tz, start=filters.start, end=filters.end))
    total = overall(frame)
    rows = weekly.select(WEEK_FIELDS).to_dicts()
    return {
        "definition": DEFINITION,
        "timezone": tz,
        "n": total["n"], "csat": total["csat"], "csat_low": total["csat_low"], "csat_high": total["csat_high"],
        "nps_n": total["nps_n"], "nps": total["nps"], "nps_low": total["nps_low"], "nps_high": total["nps_high"],
        "chart": weekly["chart"][0],
        "gap_weeks": int(weekly["gap"].sum()),
        "weekly": rows,
        "out_of_control": [{k: r[k] for k in ("period", "n", "csat", "center", "lcl", "ucl", "signal")}
                           for r in rows if r["signal"] is not None],
    }
