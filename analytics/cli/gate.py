"""`gate`: release quality gate for one proposed change, for CI/CD pipelines.

Exit status: 0 pass, 1 fail, 3 escalate (escalated approval needed); 2 for bad input such as an
unknown service. The risk score is the calibrated deployment risk model (REFERENCE §4) fitted on
the store's production deployments (:mod:`analytics.reports.gate`, imported when the command
runs so that ``--help`` does not load scikit-learn).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from analytics.cli.common import CliError, add_format_argument, emit, engine_from, parse_timestamp

# Mirrors analytics.studies.gates.EXIT_CODES (a test keeps them equal).
EXIT_CODES = {"pass": 0, "fail": 1, "escalate": 3}



def register(sub: argparse._SubParsersAction) -> None:
    """Add the `gate` command."""
    p = sub.add_parser("gate", help="release quality gate for a proposed change (exit 0/1/3)",
                       description="Decide pass / fail / escalate for a proposed production change: "
                                   "coverage, risk score, open Sev1, change freezes. Exit 0 pass, "
                                   "1 fail, 3 escalate.")
    p.add_argument("--service", required=True, metavar="S", help="service being deployed")
    p.add_argument("--lines-changed", type=int, required=True, metavar="N")
    p.add_argument("--files-changed", type=int, required=True, metavar="N")
    p.add_argument("--coverage", type=float, required=True, metavar="X", help="test coverage, percent")
    p.add_argument("--emergency", action="store_true", help="emergency fix: bypass, validate within 72 h")
    p.add_argument("--at", type=parse_timestamp, metavar="TIMESTAMP",
                   help="decision time (naive = UTC; default now)")
    add_format_argument(p, ("table", "json"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Score the change, apply the gate, print the decision and return its exit code."""
    for flag, value in (("--lines-changed", args.lines_changed), ("--files-changed", args.files_changed)):
        if value < 0:
            raise CliError(f"{flag} must be zero or more, got {value}")
    if not 0 <= args.coverage <= 100:
        raise CliError(f"--coverage must be a percentage in [0, 100], got {args.coverage:g}")
    from analytics.reports import ReportError
    from analytics.reports.gate import gate

    engine = engine_from(args)
    at = args.at or datetime.now(UTC).replace(tzinfo=None)
    try:
        result = gate(engine, service=args.service, lines_changed=args.lines_changed,
                      files_changed=args.files_changed, coverage=args.coverage,
                      emergency=args.emergency, at=at)
    except ReportError as exc:
        raise CliError(str(exc)) from None
    emit(result, args.format)
    return EXIT_CODES[result["decision"]]
