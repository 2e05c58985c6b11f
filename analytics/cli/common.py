"""Pieces every command shares: the parser class, the engine, filters and output formats.

Imported by every command at start-up, so its top level stays light (stdlib and settings): the
store, polars and SQLAlchemy are imported inside the functions that need them.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from analytics.settings import DEFAULT_PERIOD_DAYS, get_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from analytics.store.queries import Filters


class CliError(Exception):
    """A problem the user can fix; printed as one line, exit code ``code`` (default 2)."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


class WorkbenchParser(argparse.ArgumentParser):
    """argparse, but a usage error is one clear line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see --help)\n")


_AT_ONCE: list[bool] = []


def end_at_once() -> None:
    """Let ``python -m analytics`` end as soon as this command returns (:func:`exit_process`)."""
    _AT_ONCE.append(True)


def exit_process(code: int) -> NoReturn:
    """End ``python -m analytics`` with ``code``.

    After a command that asked (:func:`end_at_once`: an import, which holds frames of every row
    to the end) the interpreter's teardown is skipped: freeing every object and module one by
    one took 0.25 s after 584k deployments, 0.47 s after 2.5M tickets, once the summary was
    printed. The exit handlers still run and the store's connections are closed first (SQLite
    checkpoints and removes its WAL on the last close), then the output is flushed.
    """
    if not _AT_ONCE:
        sys.exit(code)
    import atexit
    import os

    from analytics.store.db import dispose_engines

    dispose_engines()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    os._exit(code)


def engine_from(args: argparse.Namespace, *, migrate_first: bool = True) -> Engine:
    """The engine for ``--db`` (or the settings), with the schema migrated to head."""
    from analytics.store.db import get_engine, migrate

    url = getattr(args, "db", None) or get_settings().database_url
    try:
        engine = get_engine(url)
        if migrate_first:
            migrate(engine)
    except Exception as exc:  # an unreachable or malformed URL is a user problem
        raise CliError(f"cannot open database {url!r}: {exc.__class__.__name__}: "
                       f"{str(exc).splitlines()[0]}") from exc
    return engine


def parse_day(value: str) -> date:
    """argparse type for YYYY-MM-DD."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid date {value!r}, expected YYYY-MM-DD") from None



def positive_hours(value: str) -> float:
    """argparse type for --window-hours.

    >>> positive_hours("24")
    24.0
    """
    try:
        hours = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid hours {value!r}, expected a number") from None
    if not hours > 0:
        raise argparse.ArgumentTypeError(f"--window-hours must be positive, got {value}")
    return hours


def parse_timestamp(value: str) -> datetime:
    """argparse type: ISO 8601; a naive value is UTC, an offset is converted to UTC.

    >>> parse_timestamp("2026-03-01T13:00+01:00")
    datetime.datetime(2026, 3, 1, 12, 0)
    """
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid timestamp {value!r}, expected ISO 8601 (e.g. 2026-03-01T12:00)") from None
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo else ts

# The default period's rule (analytics.reports.periods), in the --help of every report and
# command taking --from/--to (tests/cli/test_default_period_help.py checks).
PERIOD_HELP = (f"Without --from/--to the period is the default one, as on the pages: the bulk of "
               f"the data (sparse leading and trailing months left out), at most its last "
               f"{DEFAULT_PERIOD_DAYS} days, ending at the newest day of the bulk; with only "
               f"--to, at most the {DEFAULT_PERIOD_DAYS} days ending there.")


def state_default_period(parser: argparse.ArgumentParser) -> None:
    """Add :data:`PERIOD_HELP` to the parser's ``--help`` (after the options)."""
    parser.epilog = f"{parser.epilog}\n\n{PERIOD_HELP}" if parser.epilog else PERIOD_HELP


def add_filter_arguments(parser: argparse.ArgumentParser, *, environment: bool = True,
                         default_period: bool = True) -> None:
    """--from/--to (inclusive whole days in $WORKBENCH_TIMEZONE), --service/--team (repeatable),
    --env; ``default_period`` states the default period's rule in ``--help``."""
    if default_period:
        state_default_period(parser)
    parser.add_argument("--from", dest="start", type=parse_day, metavar="DATE",
                        help="first day, inclusive (YYYY-MM-DD, in $WORKBENCH_TIMEZONE, default UTC)")
    parser.add_argument("--to", dest="end", type=parse_day, metavar="DATE",
                        help="last day, inclusive (YYYY-MM-DD, in $WORKBENCH_TIMEZONE, default UTC)")
    parser.add_argument("--service", action="append", default=[], metavar="S",
                        help="only this service (repeatable)")
    parser.add_argument("--team", action="append", default=[], metavar="T",
                        help="only this team (repeatable)")
    if environment:
        parser.add_argument("--env", default="production", metavar="E",
                            help="environment (default production)")


def filters_from(args: argparse.Namespace, engine: Engine | None = None) -> Filters:
    """Build Filters from parsed arguments; unknown services or teams are an error."""
    from analytics.store.queries import Filters

    if args.start and args.end and args.start > args.end:
        raise CliError(f"--from {args.start} is after --to {args.end}")
    if engine is not None and (args.service or args.team):
        from analytics.store.queries import services

        known = services(engine)
        for flag, values, column in (("--service", args.service, "service"),
                                     ("--team", args.team, "team")):
            missing = sorted(set(values) - set(known[column].to_list()))
            if missing:
                raise CliError(f"unknown {flag[2:]} {', '.join(missing)} ({flag})")
    return Filters(start=args.start, end=args.end, teams=tuple(args.team),
                   services=tuple(args.service), environment=getattr(args, "env", None),
                   timezone=get_settings().timezone)


def add_format_argument(parser: argparse.ArgumentParser, choices: tuple[str, ...] = ("table", "json", "csv")) -> None:
    """--format json|table|csv (table for people by default)."""
    parser.add_argument("--format", choices=choices, default="table",
                        help="output format (default table)")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 6)
    return value


def emit(data: Any, fmt: str, out: Any = None) -> None:
    """Print ``data`` (a dict or a list of dicts) as json, csv or a readable table."""
    out = out or sys.stdout
    if fmt == "json":
        out.write(json.dumps(data, indent=2, default=_plain) + "\n")
        return
    rows = data if isinstance(data, list) else None
    if fmt == "csv":
        # Cells a spreadsheet would run as a formula (service names are user data) get a leading '.
        from analytics.exports import neutralise

        rows = rows if rows is not None else [_flatten(data)]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(_flatten(rows[0])) if rows else [])
        writer.writeheader()
        for r in rows:
            writer.writerow({k: neutralise(_plain(v)) for k, v in _flatten(r).items()})
        out.write(buf.getvalue())
        return
    if rows is not None:
        out.write(_table([_flatten(r) for r in rows]))
    else:
        flat = _flatten(data)
        width = max((len(k) for k in flat), default=0)
        for k, v in flat.items():
            out.write(f"{k.ljust(width)}  {_show(v)}\n")


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for k, v in data.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            flat.update(_flatten(v, key + "."))
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            flat[key] = f"[{len(v)} rows]"
        else:
            flat[key] = v
    return flat


def _show(v: Any) -> str:
    """A value as table text: floats below 1,000 to four significant digits; larger ones as
    plain numbers with thousands separators and at most two decimals (never ``4.47e+04``).

    >>> [_show(x) for x in (44700.0, 44700.5, 1234.567, 0.012345, 2_500_000.4, 12, None)]
    ['44,700', '44,700.5', '1,234.57', '0.01235', '2,500,000', '12', '']
    """
    v = _plain(v)
    if isinstance(v, float):
        if abs(v) < 1000:
            return f"{v:,.4g}"
        if abs(v) < 1e6:
            return f"{v:,.2f}".rstrip("0").rstrip(".")
        return f"{v:,.0f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return "" if v is None else str(v)


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no rows)\n"
    cols = list(rows[0])
    cells = [[_show(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines) + "\n"


def lay_out(headings: list[str], cells: list[list[str]]) -> str:
    """A plain-text table for people: the headings, a rule, one line per row of ``cells``
    (already formatted text), columns as wide as their widest cell.

    >>> print(lay_out(["Service", "Rate"], [["checkout", "5.2%"]]), end="")
    Service   Rate
    --------  ----
    checkout  5.2%
    """
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h)
              for i, h in enumerate(headings)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headings, widths, strict=True)).rstrip(),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)).rstrip() for c in cells]
    return "\n".join(out) + "\n"

