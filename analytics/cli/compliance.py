"""`compliance`: the three compliance lists, and `compliance validate` to record the
retroactive validation of an emergency fix (audited).

Lists (see :mod:`analytics.reports.compliance`): customer-facing outages without a post-mortem,
emergency fixes not validated within 72 h, changes deployed without an approved change request
where the rule requires one.
"""

from __future__ import annotations

import argparse
from typing import Any

from analytics.cli.common import (CliError, add_filter_arguments, add_format_argument, emit,
                                  engine_from, filters_from)

HELP = "compliance lists (post-mortems, emergency validations, change approvals); validate a fix"


def register(sub: argparse._SubParsersAction) -> None:
    """Add `compliance` and its `validate` sub-command."""
    p = sub.add_parser("compliance", help=HELP,
                       description="Customer-facing outages without a post-mortem, emergency fixes "
                                   "not validated within 72 h, and changes deployed without an "
                                   "approved change request where one was required. "
                                   "`compliance validate` records a validation.")
    add_filter_arguments(p)
    add_format_argument(p, ("table", "json"))
    p.set_defaults(func=run)
    csub = p.add_subparsers(dest="action", metavar="ACTION")
    v = csub.add_parser("validate", help="record the retroactive validation of an emergency fix",
                        description="Record that an emergency deployment was validated "
                                    "(reviewed, tested) after it shipped; written to the audit log.")
    v.add_argument("--deployment", type=int, required=True, metavar="ID",
                   help="the deployment's id (the 'id' column of the list)")
    v.add_argument("--by", required=True, metavar="NAME", help="who validated it")
    v.add_argument("--note", required=True, metavar="TEXT", help="what was checked")
    add_format_argument(v, ("table", "json"))
    v.set_defaults(func=run_validate)


def run(args: argparse.Namespace) -> int:
    """Print the counts and the three lists."""
    from analytics.reports import ReportError
    from analytics.reports.compliance import compliance

    engine = engine_from(args)
    try:
        result = compliance(engine, filters_from(args, engine))
    except ReportError as exc:
        raise CliError(str(exc)) from None
    out: dict[str, Any] = {
        "at": result.at, "counts": result.counts(),
        "emergency": {"total": result.emergency_total, "pending": result.emergency_pending},
        "changes_requiring_approval": result.changes_required, "change_rule": result.rule,
        "outages_without_postmortem": result.outages_without_postmortem.to_dicts(),
        "emergency_unvalidated": result.emergency_unvalidated.to_dicts(),
        "unapproved_changes": result.unapproved_changes.to_dicts(),
        "gate_bypasses": result.gate_bypasses.to_dicts()}
    if args.format == "json":
        emit(out, "json")
        return 0
    lists = ("outages_without_postmortem", "emergency_unvalidated", "unapproved_changes",
             "gate_bypasses")
    emit({k: v for k, v in out.items() if k not in lists}, "table")
    for name in lists:  # each list as its own table, for people
        print(f"\n{name.replace('_', ' ')}")
        emit(out[name], "table")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    """Record one validation (and its audit entry) in one transaction."""
    from sqlmodel import Session

    from analytics.store.validations import validate_emergency

    engine = engine_from(args)
    with Session(engine) as session:
        try:
            row = validate_emergency(session=session, deployment_id=args.deployment, by=args.by,
                                     note=args.note)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        session.commit()
        emit({"deployment_id": row.deployment_id, "validated_by": row.validated_by,
              "validated_at": row.validated_at, "note": row.note}, args.format)
    return 0
