"""Command-line interface: ``python -m analytics [--db URL] COMMAND …``.

Each command lives in its own module with ``register(subparsers)``; reports plug into
``analytics.cli.report``. Output is a readable table for people, ``--format json`` for machines.
Bad arguments and bad input exit 2 with one clear line on stderr.

Start-up is kept cheap: :func:`main` imports only the module of the command asked for (the
others get a stand-in parser carrying their one-line help, which is all ``--help`` lists), and
command modules import their implementation inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from analytics.cli.common import CliError, WorkbenchParser

# Every command, in the order `--help` lists them: name → (module, one-line help). The help must
# equal the one the module registers (tests/cli/test_cli.py checks).
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("analytics.cli.init", "create or migrate the database schema"),
    "demo": ("analytics.cli.demo", "load the demo organisation (or --show-truth)"),
    "import": ("analytics.cli.imports",
               "import files (canonical CSV/Parquet/JSON lines, tool payloads, datasets)"),
    "export": ("analytics.cli.export", "export SLO definitions as OpenSLO v1 YAML"),
    "report": ("analytics.cli.report", "compute a report"),
    "serve": ("analytics.cli.serve", "serve the app (streamlit run app.py)"),
    "experiment": ("analytics.cli.experiment", "analyse an A/B/n test from a CSV file"),
    "gate": ("analytics.cli.gate", "release quality gate for a proposed change (exit 0/1/3)"),
    "attribute": ("analytics.cli.attribute", "store incident → deployment attribution (§1.1)"),
    "audit": ("analytics.cli.audit", "verify the audit log's keyed hash chain (exit 0/1)"),
    "evidence": ("analytics.cli.evidence",
                 "build the evidence pack for auditors (zip with HTML report)"),
    "snapshot": ("analytics.cli.snapshot", "archive a month's reports; verify or list snapshots"),
    "purge": ("analytics.cli.purge", "redact personal text past its retention (--dry-run/--apply)"),
    "compliance": ("analytics.cli.compliance",
                   "compliance lists (post-mortems, emergency validations, change approvals); "
                   "validate a fix"),
    "improve": ("analytics.cli.improve",
                "continual-improvement register: list, add, update, candidates, validate"),
    "definitions": ("analytics.cli.definitions",
                    "change control: list, propose, approve, reject definition changes; "
                    "version history"),
    "validate-source": ("analytics.cli.validate_source",
                        "quarterly data-source checklist (rows, coverage, quality, "
                        "reconciliation); sign it off"),
    "notify": ("analytics.cli.notify",
               "signals → notifications: evaluate rules, queue in the outbox, deliver (--dry-run)"),
    "contracts": ("analytics.cli.contracts",
                  "agreements and vendors: tree, gaps, targets, reviews due, vendor scorecards, "
                  "finance"),
    "review": ("analytics.cli.review",
               "monthly service review pack (trends, breaches, credits, vendors, CSAT) as HTML"),
}


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; complete when ``argv`` is None (tests check every command's --help),
    else with only the command ``argv`` names built in full."""
    from analytics.auth import os_user

    user, source = os_user()
    parser = WorkbenchParser(prog="python -m analytics",
                             description="Service Level Workbench: reliability and customer-impact analytics.",
                             epilog=f"Audit log actor of commands that write: {user} (from {source}; "
                                    "set WORKBENCH_USER to name someone else).")
    parser.add_argument("--db", metavar="URL",
                        help="database URL (default: $DATABASE_URL or sqlite:///data/workbench.db)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=WorkbenchParser)
    sub.required = True
    chosen = None if argv is None else positionals(argv)
    for name, (module, help_) in COMMANDS.items():
        if chosen is None or chosen[:1] == [name]:
            mod = importlib.import_module(module)
            if name == "report":
                mod.register(sub, only=None if chosen is None else chosen[1:2])
            else:
                mod.register(sub)
        else:
            sub.add_parser(name, help=help_)
    return parser


def positionals(argv: Sequence[str]) -> list[str]:
    """The words of ``argv`` that are not options (nor the value of ``--db``).

    >>> positionals(["--db", "sqlite://", "report", "summary", "--format", "json"])[:2]
    ['report', 'summary']
    """
    words: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--db":
            skip = True
        elif not arg.startswith("-"):
            words.append(arg)
    return words


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except BrokenPipeError:
        return 0
