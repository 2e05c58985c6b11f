"""`export openslo`: the store's SLO definitions as OpenSLO v1 YAML (the reverse of `import openslo`).

Writes to standard output, or to ``--out FILE``; ``--service`` keeps the SLOs of some services.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analytics.cli.common import CliError, engine_from


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `export` command."""
    p = sub.add_parser("export", help="export SLO definitions as OpenSLO v1 YAML",
                       description="Export the store's SLO definitions as multi-document "
                                   "OpenSLO v1 YAML (kind SLO), which `import openslo` reads back.")
    p.add_argument("format", choices=("openslo",), help="export format")
    p.add_argument("--service", action="append", metavar="NAME",
                   help="only the SLOs of this service (repeatable)")
    p.add_argument("--out", type=Path, metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the YAML; an empty store or an unknown service is a clear error."""
    import yaml

    from analytics.ingest.openslo import to_documents
    from analytics.store import queries

    slos = queries.slos(engine_from(args))
    if args.service:
        unknown = sorted(set(args.service) - set(slos["service"].drop_nulls().to_list()))
        if unknown:
            raise CliError(f"--service: no SLO belongs to {', '.join(map(repr, unknown))}")
        slos = slos.filter(slos["service"].is_in(args.service))
    if slos.height == 0:
        raise CliError("the store holds no SLO definition (import some with `import openslo FILE`)")
    text = yaml.safe_dump_all(to_documents(slos), sort_keys=False)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        args.out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"--out: cannot write {str(args.out)!r}: {exc.strerror}") from None
    print(f"wrote {slos.height} SLO definition(s) to {args.out}", file=sys.stderr)
    return 0
