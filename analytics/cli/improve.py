"""`improve`: the continual-improvement register — list, add, update (Plan–Do–Check–Act, root
cause notes, links, lessons), candidates proposed from the data, and before/after validation.

Argparse and output only: writes are :mod:`analytics.loop.improvements` (audited), candidates
:mod:`analytics.loop.csi_candidates`, validation :mod:`analytics.reports.improvements`.
"""

from __future__ import annotations

import argparse
from typing import Any

from analytics.cli.common import (CliError, add_format_argument, emit, engine_from, parse_day)

HELP = "continual-improvement register: list, add, update, candidates, validate"


def _level(value: str) -> int:
    """argparse type for a 1–5 risk factor level."""
    try:
        level = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid level {value!r}, expected 1 to 5") from None
    if not 1 <= level <= 5:
        raise argparse.ArgumentTypeError(f"a level runs from 1 to 5, got {value}")
    return level


def _pair(value: str) -> tuple[str, str]:
    """argparse type for KIND:VALUE (links, fishbone notes).

    >>> _pair("problems:PRB-001-2")
    ('problems', 'PRB-001-2')
    """
    kind, sep, rest = value.partition(":")
    if not sep or not kind.strip() or not rest.strip():
        raise argparse.ArgumentTypeError(f"expected KIND:VALUE, got {value!r}")
    return kind.strip(), rest.strip()


def _links(pairs: list[tuple[str, str]] | None) -> dict[str, list[str]] | None:
    if not pairs:
        return None
    out: dict[str, list[str]] = {}
    for kind, value in pairs:
        out.setdefault(kind, []).append(value)
    return out


def register(sub: argparse._SubParsersAction) -> None:
    """Add `improve` and its actions."""
    p = sub.add_parser("improve", help=HELP, description=HELP + ".")
    p.set_defaults(func=lambda args: p.error("choose an action: list, add, update, candidates, "
                                             "validate"))
    isub = p.add_subparsers(dest="action", metavar="ACTION")

    ls = isub.add_parser("list", help="the register, highest risk first")
    add_format_argument(ls, ("table", "json", "csv"))
    ls.set_defaults(func=run_list)

    a = isub.add_parser("add", help="add an improvement (Plan stage); audited")
    a.add_argument("--title", required=True)
    a.add_argument("--service", action="append", required=True, metavar="NAME",
                   help="a service it is for (repeat for several)")
    a.add_argument("--owner", required=True)
    a.add_argument("--kpi", action="append", default=[], metavar="KEY",
                   help="a KPI key it should move (repeat), e.g. change_failure_rate")
    a.add_argument("--impact", type=_level, required=True, help="business impact 1–5")
    a.add_argument("--recurrence", type=_level, required=True, help="recurrence 1–5")
    a.add_argument("--remediation", type=_level, required=True,
                   help="cost of remediation 1 (trivial) – 5 (very large)")
    a.add_argument("--expected", type=float, metavar="SHARE",
                   help="expected relative change of the KPI, e.g. -0.3 for 30%% lower")
    a.add_argument("--cost", type=float, help="what it costs, in WORKBENCH_VALUE_CURRENCY")
    a.add_argument("--description")
    a.add_argument("--link", action="append", type=_pair, metavar="KIND:VALUE",
                   help="incidents:INC12, problems:PRB-001-2, themes:…, slos:… (repeat)")
    a.add_argument("--by", metavar="NAME", help="who adds it (default WORKBENCH_USER)")
    add_format_argument(a, ("table", "json"))
    a.set_defaults(func=run_add)

    u = isub.add_parser("update", help="move an improvement through Plan–Do–Check–Act, add "
                                       "notes, links, lessons; audited")
    u.add_argument("id", type=int)
    u.add_argument("--stage", choices=("plan", "do", "check", "act", "closed", "abandoned"))
    u.add_argument("--intervention", type=parse_day, metavar="YYYY-MM-DD",
                   help="the day the change took effect (validation splits here)")
    u.add_argument("--why", action="append", metavar="TEXT",
                   help="the 5 whys in order (repeat; replaces the earlier list)")
    u.add_argument("--fishbone", action="append", type=_pair, metavar="CATEGORY:NOTE")
    u.add_argument("--link", action="append", type=_pair, metavar="KIND:VALUE")
    u.add_argument("--lessons", metavar="TEXT", help="lessons learned (also for a failed fix)")
    u.add_argument("--outcome", choices=("succeeded", "failed", "inconclusive"))
    u.add_argument("--cost", type=float)
    u.add_argument("--owner")
    u.add_argument("--expected", type=float, metavar="SHARE")
    u.add_argument("--by", metavar="NAME")
    add_format_argument(u, ("table", "json"))
    u.set_defaults(func=run_update)

    c = isub.add_parser("candidates", help="improvements proposed from the data, with evidence")
    c.add_argument("--no-themes", action="store_true",
                   help="skip the voice-of-customer themes (the slow part)")
    add_format_argument(c, ("table", "json", "csv"))
    c.set_defaults(func=run_candidates)

    v = isub.add_parser("validate", help="before/after validation of an improvement: "
                                         "segmented regression, difference-in-differences, ROI")
    v.add_argument("id", type=int)
    v.add_argument("--kpi", metavar="KEY", help="the KPI to validate (default: its first)")
    v.add_argument("--no-roi", action="store_true", help="skip the ROI (SLA months are slow)")
    add_format_argument(v, ("table", "json"))
    v.set_defaults(func=run_validate)


def _actor(args: argparse.Namespace) -> str:
    from analytics.settings import get_settings

    return args.by or get_settings().user


def run_list(args: argparse.Namespace) -> int:
    """Print the register."""
    from analytics.reports.improvements import register as register_rows

    rows = register_rows(engine_from(args))
    if rows.height == 0:
        raise CliError("The register is empty; add one with `improve add`.")
    cols = rows.columns if args.format != "table" else [
        "id", "priority", "risk_score", "status", "title", "services", "owner", "kpis",
        "expected_impact", "intervention_at", "outcome", "cost"]
    emit(rows.select(cols).to_dicts(), args.format)
    return 0


def _show_row(row: Any, fmt: str) -> None:
    emit({k: v for k, v in row.model_dump().items()}, fmt)


def run_add(args: argparse.Namespace) -> int:
    """Add one improvement (and its audit entry) in one transaction."""
    from sqlmodel import Session

    from analytics.loop.improvements import add_improvement

    with Session(engine_from(args)) as session:
        try:
            row = add_improvement(
                session=session, actor=_actor(args), title=args.title, services=args.service,
                owner=args.owner, kpis=args.kpi, business_impact=args.impact,
                recurrence=args.recurrence, remediation_cost=args.remediation,
                expected_impact=args.expected, cost=args.cost, description=args.description,
                links=_links(args.link))
        except ValueError as exc:
            raise CliError(str(exc)) from None
        session.commit()
        _show_row(row, args.format)
    return 0


def run_update(args: argparse.Namespace) -> int:
    """Change one improvement (and write its audit entry) in one transaction."""
    from sqlmodel import Session

    from analytics.loop.improvements import update_improvement

    with Session(engine_from(args)) as session:
        try:
            row = update_improvement(
                session=session, actor=_actor(args), improvement_id=args.id, stage=args.stage,
                intervention=args.intervention, whys=args.why,
                fishbone=dict(args.fishbone) if args.fishbone else None,
                links=_links(args.link), lessons=args.lessons, outcome=args.outcome,
                cost=args.cost, owner=args.owner, expected_impact=args.expected)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        session.commit()
        _show_row(row, args.format)
    return 0


def run_candidates(args: argparse.Namespace) -> int:
    """Print the candidates with their evidence."""
    from analytics.loop.csi_candidates import candidates

    rows = candidates(engine_from(args), themes=not args.no_themes)
    if rows.height == 0:
        raise CliError("No candidate: nothing in the data calls for an improvement.")
    emit(rows.to_dicts(), args.format)
    return 0


def run_validate(args: argparse.Namespace) -> int:
    """Print both comparisons, the verdicts and the ROI."""
    from analytics.reports import ReportError
    from analytics.reports.improvements import validate

    try:
        result = validate(engine_from(args), args.id, kpi=args.kpi, with_roi=not args.no_roi)
    except ReportError as exc:
        raise CliError(str(exc)) from None
    out = result.to_dict()
    if args.format == "json":
        emit(out, "json")
        return 0
    roi = out.pop("roi")
    verdicts = out.pop("verdicts")
    emit(out, "table")
    print("\nverdicts")
    for line in verdicts:
        print(f"- {line}")
    if roi is not None:
        print(f"\nROI (yearly value {roi['yearly_value']:,.0f} {roi['currency']}, cost "
              f"{roi['cost'] if roi['cost'] is not None else 'unknown'}, ROI "
              f"{'n/a' if roi['roi'] is None else format(roi['roi'], '.1f')})")
        emit(roi["rows"], "table")
    return 0
