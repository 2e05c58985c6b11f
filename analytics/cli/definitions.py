"""`definitions`: change control of KPI definitions, thresholds, SLOs and alert/rollback rules.

``list`` shows the versions in force and the pending proposals; ``propose`` records a change
(old → new, reason); ``approve`` / ``reject`` decide one — never by its proposer (four eyes:
exit 2); ``history KEY`` lists every version of a KPI or SLO. The actor is ``WORKBENCH_USER``
or the OS user, and every command says which.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from analytics.cli.common import CliError, add_format_argument, emit, engine_from, parse_timestamp

HELP = "change control: list, propose, approve, reject definition changes; version history"
KINDS = ("kpi", "threshold", "slo", "alert_rule", "rollback_rule")


def register(sub: argparse._SubParsersAction) -> None:
    """Add `definitions` and its verbs."""
    p = sub.add_parser("definitions", help=HELP,
                       description="Changes to a KPI definition, its thresholds, an SLO or an "
                                   "alert/rollback rule are proposals that an admin other than "
                                   "the proposer approves (with an effective date) or rejects. "
                                   "The actor is WORKBENCH_USER or the OS user.")
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    ls = verbs.add_parser("list", help="versions in force and proposals",
                          description="The version in force of every definition, then the "
                                      "proposals (pending only, unless --all).")
    ls.add_argument("--all", action="store_true", help="every proposal, decided ones too")
    add_format_argument(ls, ("table", "json"))
    ls.set_defaults(func=run_list)
    pr = verbs.add_parser("propose", help="propose a change (old → new, reason)",
                          description="Record a proposed change; nothing changes until another "
                                      "admin approves it.")
    pr.add_argument("--kind", choices=KINDS, required=True, help="what the change is to")
    pr.add_argument("--key", required=True,
                    help="catalogue KPI key (kpi, threshold), SLO name (slo) or rule name")
    pr.add_argument("--new", required=True, metavar="JSON",
                    help='the fields that change, e.g. \'{"warn": 0.12, "critical": 0.2}\'')
    pr.add_argument("--reason", required=True, help="why")
    add_format_argument(pr, ("table", "json"))
    pr.set_defaults(func=run_propose)
    ap = verbs.add_parser("approve", help="approve a proposal (not your own)",
                          description="Approve a pending proposal from an effective date "
                                      "(default now); creates the definition's next version.")
    ap.add_argument("id", type=int, help="the proposal's id")
    ap.add_argument("--effective", type=parse_timestamp, metavar="WHEN",
                    help="when the new version takes effect (ISO date or time, UTC; default now)")
    ap.add_argument("--note", help="a note kept with the decision")
    add_format_argument(ap, ("table", "json"))
    ap.set_defaults(func=run_approve)
    rj = verbs.add_parser("reject", help="reject a proposal (not your own)",
                          description="Reject a pending proposal, saying why.")
    rj.add_argument("id", type=int, help="the proposal's id")
    rj.add_argument("--reason", required=True, help="why it is rejected")
    add_format_argument(rj, ("table", "json"))
    rj.set_defaults(func=run_reject)
    hi = verbs.add_parser("history", help="every version of a KPI or SLO",
                          description="Every version of a KPI (catalogue key) or SLO (name), "
                                      "with its effective date, who and why; then its proposals.")
    hi.add_argument("key", help="catalogue KPI key or SLO name")
    add_format_argument(hi, ("table", "json"))
    hi.set_defaults(func=run_history)


def _actor() -> str:
    from analytics.settings import get_settings

    user = get_settings().user
    print(f"acting as {user} (WORKBENCH_USER or the OS user)", file=sys.stderr)
    return user


def _decided(args: argparse.Namespace, decide: Any, **kwargs: Any) -> int:
    from sqlmodel import Session

    from analytics.governance.changes import ChangeControlError, proposals

    engine = engine_from(args)
    actor = _actor()
    with Session(engine) as session:
        try:
            row = decide(session=session, actor=actor, **kwargs)
        except ChangeControlError as exc:
            raise CliError(str(exc)) from None
        session.commit()
        out = next(p for p in proposals(session=session) if p["id"] == row.id)
    emit(out, args.format)
    return 0


def run_propose(args: argparse.Namespace) -> int:
    """Record one proposal."""
    from analytics.governance.changes import propose

    try:
        new = json.loads(args.new)
    except json.JSONDecodeError as exc:
        raise CliError(f"--new is not valid JSON: {exc.msg}") from None
    return _decided(args, propose, kind=args.kind, key=args.key, new=new, reason=args.reason)


def run_approve(args: argparse.Namespace) -> int:
    """Approve one proposal (four eyes)."""
    from analytics.governance.changes import approve

    return _decided(args, approve, proposal_id=args.id, effective_from=args.effective,
                    note=args.note)


def run_reject(args: argparse.Namespace) -> int:
    """Reject one proposal (four eyes)."""
    from analytics.governance.changes import reject

    return _decided(args, reject, proposal_id=args.id, note=args.reason)


def run_list(args: argparse.Namespace) -> int:
    """Versions in force, then proposals."""
    from sqlmodel import Session

    from analytics.governance.changes import apply_due, effective_versions, owners, proposals

    engine = engine_from(args)
    with Session(engine) as session:
        if apply_due(session=session):  # approved SLO versions whose date has come
            session.commit()
        rows = proposals(session=session, status=None if args.all else "pending")
    versions, teams = effective_versions(engine), owners(engine)
    if args.format == "json":
        emit({"definitions": versions, "owner_teams": teams, "proposals": rows}, "json")
        return 0
    emit([{"definition": k, "version": v, "owner_team": teams.get(k) or ""}
          for k, v in versions.items()], "table")
    print(f"\n{'proposals' if args.all else 'pending proposals'}: {len(rows)}")
    if rows:
        emit([{k: r[k] for k in ("id", "kind", "key", "status", "proposed_by", "proposed_at",
                                 "reason")} | {"new": json.dumps(r["new"], sort_keys=True)}
              for r in rows], "table")
    return 0


def run_history(args: argparse.Namespace) -> int:
    """Every version of one KPI or SLO."""
    from sqlmodel import Session

    from analytics.governance.changes import history, proposals

    engine = engine_from(args)
    with Session(engine) as session:
        versions = history(session=session, key=args.key)
        props = proposals(session=session, key=args.key)
    if not versions and not props:
        raise CliError(f"no KPI or SLO named {args.key!r} has a stored definition")
    if args.format == "json":
        emit({"key": args.key, "versions": versions, "proposals": props}, "json")
        return 0
    emit([{k: v for k, v in r.items() if k not in ("definition", "thresholds")}
          for r in versions], "table")
    print(f"\nproposals: {len(props)}")
    if props:
        emit([{k: r[k] for k in ("id", "kind", "status", "proposed_by", "decided_by",
                                 "effective_from", "version")} for r in props], "table")
    return 0
