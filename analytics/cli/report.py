"""`report NAME`: every report the workbench computes, as a table, JSON or CSV.

A report's CLI module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``compute(engine, args) -> dict | list`` (importing its ``analytics.reports`` module inside
``compute``); list it in REPORTS to plug it in. Only the report asked for is imported.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from analytics.cli.common import CliError, WorkbenchParser, add_format_argument, emit, engine_from

# name → (module, one-line help), in the order `report --help` lists them. The help must equal
# the module's HELP (tests/cli/test_cli.py checks).
REPORTS: dict[str, tuple[str, str]] = {
    "summary": ("analytics.cli.report_summary", "row counts and date coverage of every table"),
    "delivery": ("analytics.cli.report_delivery",
                 "DORA delivery and stability KPIs with attribution counts and bands"),
    "scorecard": ("analytics.cli.report_scorecard",
                  "release health scorecard: KPIs, customer impact, bands and escalations"),
    "mttr-baselines": ("analytics.cli.report_mttr_baselines",
                       "MTTR baselines: per service p50/p80 restore time of the last N months vs "
                       "its tier"),
    "rollbacks": ("analytics.cli.report_rollbacks",
                  "rollback frequency: share of deployments rolled back, per service or per "
                  "environment"),
    "slo": ("analytics.cli.report_slo",
            "SLO status: SLI, error budget, time to exhaustion and burn-rate alerts"),
    "sla": ("analytics.cli.report_sla",
            "SLA compliance for a month: uptime, exclusions, breaches and service credits"),
    "ticket-sla": ("analytics.cli.report_ticket_sla",
                   "ticket SLA: first response and resolution met or breached per priority "
                   "under the default business-hours calendar"),
    "resolution-sla": ("analytics.cli.report_resolution_sla",
                       "incident resolution SLA by priority: opened → resolved against a target "
                       "per priority"),
    "uci-sla-timers": ("analytics.cli.report_uci_sla_timers",
                       "UCI incident log: business-hours resolution timers against the log's "
                       "made_sla"),
    "csat": ("analytics.cli.report_csat",
             "CSAT and NPS with intervals, the weekly series and out-of-control weeks"),
    "reconciliation": ("analytics.cli.report_reconciliation",
                       "deployments whose start, end or status disagree with their change request"),
    "threshold-replay": ("analytics.cli.report_threshold_replay",
                         "replay an alert rule (threshold, window, for, cooldown) and score it "
                         "against incidents"),
    "rollback-replay": ("analytics.cli.report_rollback_replay",
                        "replay a rollback trigger (error rate above X within N of a deployment) "
                        "over deployments"),
    "release-impact": ("analytics.cli.report_release_impact",
                       "do releases raise ticket and incident rates? rate ratios, by outcome, "
                       "worst releases"),
    "weekday": ("analytics.cli.report_weekday",
                "do deployments fail more on Fridays? rates by weekday, controlled odds ratio, "
                "verdict"),
    "gaming": ("analytics.cli.report_gaming",
               "metric gaming: resolution times bunched under targets, closes just before a "
               "breach, incidents with no service"),
    "kpi-outcomes": ("analytics.cli.report_kpi_outcomes",
                     "do KPIs still track customers? correlation with CSAT and tickets after "
                     "releases per period, faded ones flagged"),
}
# The modules, for bench/run.py which times importing each.
REPORT_MODULES = tuple(module for module, _help in REPORTS.values())


def register(sub: argparse._SubParsersAction, only: Sequence[str] | None = None) -> None:
    """Add `report` and one sub-command per report; with ``only`` (the report names asked for,
    maybe none) the other reports get a stand-in parser with their help, and no import."""
    p = sub.add_parser("report", help="compute a report", description="Compute a report from the store.")
    rsub = p.add_subparsers(dest="report", metavar="REPORT", parser_class=WorkbenchParser)
    rsub.required = True
    for name, (module, help_) in REPORTS.items():
        if only is not None and name not in only:
            rsub.add_parser(name, help=help_)
            continue
        mod = importlib.import_module(module)
        rp = rsub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(rp)
        if not any(a.dest == "format" for a in rp._actions):
            add_format_argument(rp)
        rp.set_defaults(func=_runner(mod))


def _runner(mod: ModuleType):  # noqa: ANN202
    def run(args: argparse.Namespace) -> int:
        from analytics.reports import ReportError

        engine = engine_from(args)
        try:
            result = mod.compute(engine, args)
        except ReportError as exc:  # nothing to compute, or a bad argument: one line, exit 2
            raise CliError(str(exc)) from None
        if args.format == "json" and isinstance(result, dict) and "definitions" not in result:
            # Every number says which definition versions it used (issue 16.3).
            from analytics.governance.changes import effective_versions

            result = {**result, "definitions": effective_versions(engine)}
        if args.format == "table" and hasattr(mod, "table"):
            # A report may lay its table out for people (catalogue labels, units).
            sys.stdout.write(mod.table(result))
        else:
            emit(result, args.format)
        return 0
    return run
