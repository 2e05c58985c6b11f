"""`audit verify`: check the keyed audit chain and its checkpoint (exit 0 intact, 1 broken)."""

from __future__ import annotations

import argparse
import sys

from analytics.cli.common import add_format_argument, emit, engine_from


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `audit` command."""
    p = sub.add_parser("audit", help="verify the audit log's keyed hash chain (exit 0/1)",
                       description="Audit log checks.")
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    v = verbs.add_parser("verify", help="verify the chain and its checkpoint",
                         description="Recompute every entry's HMAC-SHA256 (SHA-256 for entries "
                                     "from before the keyed chain), compare the head with the "
                                     "last checkpoint, then append the head to the checkpoint "
                                     "file. Exit 0 and print the head, or exit 1 naming the "
                                     "first bad entry or the missing tail.")
    add_format_argument(v, ("table", "json"))
    v.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Verify and print the verdict."""
    from analytics.store import audit

    engine = engine_from(args)
    v = audit.verify(engine)
    result = {"ok": v.ok, "entries": v.entries, "head": v.head_id, "head_hash": v.head_hash,
              "bad_entry": v.bad_id, "problem": v.problem or None,
              "checkpoints": str(audit.checkpoint_path(engine))}
    if args.format == "json":
        emit(result, "json")
    elif v.ok:
        print(f"audit log intact: {v.entries} entries, head #{v.head_id} {v.head_hash}")
        print(f"head checkpointed in {result['checkpoints']}")
    else:
        print(f"audit log BROKEN: {v.problem}", file=sys.stderr)
    return 0 if v.ok else 1
