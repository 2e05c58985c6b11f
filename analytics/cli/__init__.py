"""Command-line interface: ``python -m analytics [--db URL] COMMAND …``.

Each command lives in its own module with ``register(subparsers)``; reports plug into
``analytics.cli.report``. Output is a readable table for people, ``--format json`` for machines.
Bad arguments and bad input exit 2 with one clear line on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from analytics.cli.common import CliError, WorkbenchParser

# Command modules, in the order `--help` lists them.
COMMAND_MODULES = (
    "analytics.cli.init",
    "analytics.cli.demo",
    "analytics.cli.imports",
    "analytics.cli.export",
    "analytics.cli.report",
    "analytics.cli.serve",
    "analytics.cli.experiment",
    "analytics.cli.gate",
    "analytics.cli.attribute",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used by tests to check every command has --help)."""
    parser = WorkbenchParser(prog="python -m analytics",
                             description="Service Level Workbench: reliability and customer-impact analytics.")
    parser.add_argument("--db", metavar="URL",
                        help="database URL (default: $DATABASE_URL or sqlite:///data/workbench.db)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=WorkbenchParser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except BrokenPipeError:
        return 0
