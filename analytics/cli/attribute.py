"""`attribute`: store incident → deployment attribution with the rule used (REFERENCE §1.1).

Attributes every incident of the store (production deployments by default) for one observation
window, replaces the stored links of that window in one transaction, appends an audit entry and
prints the counts per rule (explicit / window / unattributed).
"""

from __future__ import annotations

import argparse

from analytics.cli.common import add_format_argument, emit, engine_from, positive_hours
from analytics.settings import DEFAULT_WINDOW_HOURS


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `attribute` command."""
    p = sub.add_parser("attribute", help="store incident → deployment attribution (§1.1)",
                       description="Attribute every incident to a deployment (explicit link, "
                                   "else the latest deployment of the service within the "
                                   "observation window, else unattributed) and store the links "
                                   "with the rule used.")
    p.add_argument("--window-hours", type=positive_hours, metavar="H",
                   help=f"observation window, hours (default $WORKBENCH_WINDOW_HOURS or {DEFAULT_WINDOW_HOURS:g})")
    p.add_argument("--env", default="production", metavar="E",
                   help="environment of the candidate deployments (default production)")
    add_format_argument(p, ("table", "json"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Compute, store and audit the attribution; print the counts per rule."""
    # Heavy imports here, not at the top: `python -m analytics --help` stays fast.
    from sqlmodel import Session

    from analytics.metrics.attribution import attribute
    from analytics.settings import get_settings
    from analytics.governance.events import AttributeEvent
    from analytics.store import audit, queries
    from analytics.store.attributions import save_attributions
    from analytics.store.readcopy import refresh_quietly
    from analytics.store.queries import Filters

    engine = engine_from(args)
    window = args.window_hours if args.window_hours is not None else get_settings().window_hours
    everything = Filters()
    links = attribute(queries.incidents(engine, everything), queries.deployments(engine, everything),
                      queries.changes(engine, everything), window_hours=window,
                      environments=(args.env,))
    with Session(engine) as session:
        counts = save_attributions(session=session, attribution=links, window_hours=window)
        # The audit entry joins the same transaction: links and their audit commit together.
        audit.record(session, AttributeEvent(
                     actor=get_settings().user, entity_id=f"{window:g}h",
                     detail={"window_hours": window, "environment": args.env, **counts}))
        session.commit()
    refresh_quietly(engine, {"incident_attribution"})
    emit({"window_hours": window, "environment": args.env, "incidents": links.height, **counts},
         args.format)
    return 0
