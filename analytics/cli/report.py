"""`report NAME`: every report the workbench computes, as a table, JSON or CSV.

A report module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``compute(engine, args) -> dict | list``; list it in REPORT_MODULES to plug it in.
"""

from __future__ import annotations

import argparse
import importlib

from analytics.cli.common import WorkbenchParser, add_format_argument, emit, engine_from

REPORT_MODULES = (
    "analytics.cli.report_summary",
    "analytics.cli.report_delivery",
    "analytics.cli.report_scorecard",
    "analytics.cli.report_mttr_baselines",
    "analytics.cli.report_slo",
    "analytics.cli.report_sla",
    "analytics.cli.report_ticket_sla",
    "analytics.cli.report_uci_sla_timers",
    "analytics.cli.report_csat",
    "analytics.cli.report_reconciliation",
    "analytics.cli.report_threshold_replay",
    "analytics.cli.report_rollback_replay",
    "analytics.cli.report_release_impact",
    "analytics.cli.report_weekday",
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `report` and one sub-command per report module."""
    p = sub.add_parser("report", help="compute a report", description="Compute a report from the store.")
    rsub = p.add_subparsers(dest="report", metavar="REPORT", parser_class=WorkbenchParser)
    rsub.required = True
    for name in REPORT_MODULES:
        mod = importlib.import_module(name)
        rp = rsub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(rp)
        if not any(a.dest == "format" for a in rp._actions):
            add_format_argument(rp)
        rp.set_defaults(func=_runner(mod))


def _runner(mod):  # noqa: ANN001, ANN202
    def run(args: argparse.Namespace) -> int:
        engine = engine_from(args)
        emit(mod.compute(engine, args), args.format)
        return 0
    return run
