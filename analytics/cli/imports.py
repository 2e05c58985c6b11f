"""`import KIND PATH…`: validate and load files into the store, all or nothing, idempotently."""

from __future__ import annotations

import argparse
import json
import sys

from analytics.cli.common import CliError, end_at_once, engine_from

PARSE_SWITCH_S = 0.0005

# Issue 19: the agreement hierarchy (TOML), vendor-reported availability and billed credits (CSV).
CONTRACT_KINDS = ("contracts", "vendor-data", "billed-credits")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `import` command."""
    from analytics.ingest.reading import KINDS  # not importer: no store modules for --help

    # SLA contracts are TOML terms rather than event rows; their importer keeps its own shape.
    all_kinds = (*KINDS, "sla-contracts", *CONTRACT_KINDS)
    p = sub.add_parser(
        "import", help="import files (canonical CSV/Parquet/JSON lines, tool payloads, datasets)",
        description="Import files or folders as KIND. Any invalid row aborts the whole import "
                    "(exit 2, nothing written); importing the same file twice changes nothing. "
                    "Prints {kind, files, inserted, updated, unchanged, rejected, batch_id} as JSON.")
    p.add_argument("kind", metavar="KIND", choices=all_kinds, help=f"one of: {', '.join(all_kinds)}")
    p.add_argument("paths", metavar="PATH", nargs="+", help="a file (plain or .gz) or a folder")
    p.add_argument("--tz", default="UTC", metavar="ZONE",
                   help="IANA time zone of timestamps without an offset (default UTC)")
    p.add_argument("--source", metavar="NAME",
                   help="source name the rows are kept under (default: 'canonical' for canonical "
                        "files, else the KIND)")
    p.add_argument("--dry-run", action="store_true",
                   help="validate and count, but write nothing")
    p.add_argument("--map", dest="mapping", metavar="FILE",
                   help="TOML column mapping for canonical files whose headers differ")
    p.add_argument("--encoding", metavar="NAME",
                   help="text encoding of files that are not UTF-8 (e.g. cp1252, latin-1)")
    p.add_argument("--follow-symlinks", action="store_true",
                   help="read files that PATH names through a symbolic link (refused otherwise; "
                        "a folder's links must still point inside it)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Import and print the JSON summary; warnings go to stderr."""
    from analytics.ingest.validate import InvalidImport

    end_at_once()  # the process ends when this returns, without freeing every frame first
    if args.kind in CONTRACT_KINDS:
        return _contracts(engine_from(args), args)
    if args.kind == "sla-contracts":
        return _sla_contracts(engine_from(args), args)
    from analytics.ingest.reading import input_bytes, read_ahead
    from analytics.settings import get_settings
    from analytics.store import sqlite_child

    # The files are read and parsed on a thread while the store's modules load and the store
    # opens (polars parses without the GIL): ~0.3 s of a process's start off an import's wall.
    # Meanwhile the imports hold the GIL for long stretches; a 0.5 ms switch interval (5 ms by
    # default) hands it back to the parse's many short polars calls sooner (deployments: parsed
    # ~0.04 s sooner, measured twice).
    switch = sys.getswitchinterval()
    sys.setswitchinterval(PARSE_SWITCH_S)
    try:
        ahead = read_ahead(args.kind, args.paths, tz=args.tz, mapping=args.mapping,
                           encoding=args.encoding, follow_symlinks=args.follow_symlinks)
        url = getattr(args, "db", None) or get_settings().database_url
        if url.startswith("sqlite") and input_bytes(args.paths) >= sqlite_child.SPARE_BYTES:
            sqlite_child.start_spare()  # the staging child starts meanwhile too
        from analytics.ingest.importer import import_files

        engine = engine_from(args)
    finally:
        sys.setswitchinterval(switch)  # the modules are loaded (or the store would not open)
    try:
        result = import_files(engine, args.kind, args.paths, tz=args.tz, source=args.source,
                              dry_run=args.dry_run, mapping=args.mapping,
                              encoding=args.encoding, follow_symlinks=args.follow_symlinks,
                              on_wait=_waiting, ahead=ahead)
    except InvalidImport as exc:
        raise CliError(exc.describe()) from None
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(json.dumps(result.summary(), indent=2))
    return 0


def _sla_contracts(engine, args: argparse.Namespace) -> int:
    from analytics.ingest.sla_contracts import import_contracts
    from analytics.ingest.validate import InvalidImport
    from analytics.settings import get_settings

    if len(args.paths) != 1 or args.dry_run or args.mapping:
        raise CliError("import sla-contracts takes exactly one TOML file and no --dry-run/--map")
    try:
        summary = import_contracts(engine, args.paths[0], actor=get_settings().user)
    except InvalidImport as exc:
        raise CliError(exc.describe()) from None
    print(json.dumps(summary, indent=2))
    return 0


def _contracts(engine, args: argparse.Namespace) -> int:
    from analytics.ingest.agreements import import_agreements
    from analytics.ingest.contract_csv import import_csv
    from analytics.ingest.validate import InvalidImport
    from analytics.settings import get_settings

    if len(args.paths) != 1 or args.dry_run or args.mapping:
        raise CliError(f"import {args.kind} takes exactly one file and no --dry-run/--map")
    actor = get_settings().user
    try:
        if args.kind == "contracts":
            summary = import_agreements(engine, args.paths[0], actor=actor)
        else:
            summary = import_csv(engine, args.kind, args.paths[0], actor=actor)
    except InvalidImport as exc:
        raise CliError(exc.describe()) from None
    print(json.dumps(summary, indent=2))
    return 0


def _waiting() -> None:
    print("waiting for another import into this store to finish…", file=sys.stderr, flush=True)
