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
                       description="Decide pass / fail / escalate for a proposed production change "
                                   "under the gate policy (data): coverage, risk score, open Sev1, "
                                   "error-budget rules, change freezes with risk acceptances; with "
                                   "an SLA impact assessment. decided_by names the rule. Exit 0 "
                                   "pass, 1 fail, 3 escalate.")
    p.add_argument("--service", required=True, metavar="S", help="service being deployed")
    p.add_argument("--lines-changed", type=int, required=True, metavar="N")
    p.add_argument("--files-changed", type=int, required=True, metavar="N")
    p.add_argument("--coverage", type=float, required=True, metavar="X", help="test coverage, percent")
    p.add_argument("--emergency", action="store_true",
                   help="emergency fix: bypass the gate; records a validation item due in 72 h")
    p.add_argument("--fix", action="store_true",
                   help="the change fixes a defect (allowed while the error budget is exhausted)")
    p.add_argument("--policy", metavar="FILE",
                   help="gate policy TOML (default $WORKBENCH_GATE_POLICY or the built-in policy)")
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
                      emergency=args.emergency, at=at, fix=args.fix, policy=args.policy)
    except ReportError as exc:
        raise CliError(str(exc)) from None
    if args.format == "json":
        emit(result, "json")
    else:
        print_decision(result)
    return EXIT_CODES[result["decision"]]


def print_decision(result: dict) -> None:
    """The decision, the rule that decided, the reasons and the SLA impact, for people."""
    by = result["decided_by"]
    print(f"decision: {result['decision']}   (decided by {by['rule']}: {by['detail']})")
    print(f"risk score: {result['risk']:.3f}")
    for reason in result["reasons"]:
        print(f"  - {reason}")
    if "validation_item" in result:
        item = result["validation_item"]
        print(f"validation item #{item['id']} recorded: due {item['due_at']}")
    sla = result["sla_impact"]
    median = sla["median_failure_minutes"]
    print(f"SLA impact: median failure duration "
          f"{'unknown (no failed deployment)' if median is None else f'{median:.0f} min'} "
          f"over {sla['failures']} failed deployment(s)")
    for c in sla["contracts"]:
        exposure = "—" if c["exposure"] is None else f"{c['exposure']:,.2f} {c['currency']}"
        print(f"  {c['contract']} ({c['customer']}, target {c['target_pct']:g}%, {c['month']}): "
              f"allowance left {c['allowance_left_minutes']:.1f} of {c['allowance_minutes']:.1f} "
              f"min; credit exposure {exposure}")
    if not sla["contracts"]:
        print("  no SLA contract covers this service")
