"""`notify run`: evaluate the signal rules, queue notifications in the outbox, deliver them.

Exit 0 when the run completed — delivery failures are reported (and retried on the next run),
not fatal; exit 2 only on a configuration error (bad TOML, unknown channel or kind, missing
URL, an unset secret variable). ``--dry-run`` evaluates and shows what would be queued,
writing nothing.
"""

from __future__ import annotations

import argparse
from typing import Any

from analytics.cli.common import CliError, add_format_argument, emit, engine_from, parse_timestamp

HELP = "signals → notifications: evaluate rules, queue in the outbox, deliver (--dry-run)"


def register(sub: argparse._SubParsersAction) -> None:
    """Add `notify` and its `run` sub-command."""
    p = sub.add_parser("notify", help=HELP,
                       description="Evaluate the signal rules over the store, route each signal "
                                   "to its owner team's channels through the outbox (one row "
                                   "per notification and channel, deduplicated), and deliver.")
    nsub = p.add_subparsers(dest="action", metavar="ACTION")
    nsub.required = True
    r = nsub.add_parser("run", help="evaluate, queue and deliver (a rerun sends nothing twice)",
                        description="Evaluate the rules, write new notifications to the outbox "
                                    "and deliver pending ones with retries and backoff.")
    r.add_argument("--dry-run", action="store_true",
                   help="evaluate and count what would be queued; write and send nothing")
    r.add_argument("--rules", metavar="FILE", help="signal rules TOML (default: the shipped "
                                                   "analytics/loop/signals.toml)")
    r.add_argument("--channels", metavar="FILE", help="channels and routes TOML (default: "
                                                      "analytics/loop/channels.toml)")
    r.add_argument("--at", type=parse_timestamp, metavar="TIME",
                   help="evaluate at this UTC instant (default: the end of the store's data)")
    add_format_argument(r, ("table", "json"))
    r.set_defaults(func=run)


def _counts(items: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for k in items:
        out[k] = out.get(k, 0) + 1
    return dict(sorted(out.items()))


def run(args: argparse.Namespace) -> int:
    """Evaluate, queue, deliver; print counts per signal kind and per channel."""
    from sqlmodel import Session

    from analytics.loop import channels as channel_config
    from analytics.loop import outbox, signals_rules
    from analytics.reports import ReportError
    from analytics.reports.signals import open_signals
    from analytics.settings import get_settings

    try:
        rules = signals_rules.load(args.rules)
        config = channel_config.load(args.channels)
    except signals_rules.ConfigError as exc:
        raise CliError(f"configuration: {exc}") from None
    engine = engine_from(args)
    try:
        report = open_signals(engine, rules, at=args.at)
    except ReportError as exc:
        raise CliError(str(exc)) from None
    out: dict[str, Any] = {"at": report.at, "rules_version": report.rules_version,
                           "dry_run": args.dry_run,
                           "signals": {"total": len(report.signals), **report.counts()}}
    with Session(engine) as session:
        if args.dry_run:
            todo = outbox.plan(session, report, config)
            deliveries: list[outbox.Delivery] = []
        else:
            todo = outbox.enqueue(session=session, report=report, config=config)
            session.commit()
            deliveries = outbox.deliver(session=session, config=config,
                                        actor=get_settings().user or "notify")
    out["queued" if not args.dry_run else "would_queue"] = {"total": len(todo.new),
                                                            **todo.per_channel()}
    out["already_in_outbox"] = todo.existing
    out["unrouted_signals"] = len(todo.unrouted)
    out["sent"] = {"total": sum(d.state == "sent" for d in deliveries),
                   **_counts([d.channel for d in deliveries if d.state == "sent"])}
    out["failed"] = {"total": sum(d.state == "failed" for d in deliveries),
                     **_counts([d.channel for d in deliveries if d.state == "failed"])}
    out["errors"] = [{"outbox_id": d.id, "channel": d.channel, "attempts": d.attempts,
                      "error": d.error} for d in deliveries if d.error]
    out["notes"] = report.notes
    emit(out, args.format)
    return 0
