"""Every report and command taking --from/--to states the one default period rule
(analytics.cli.common.PERIOD_HELP) in its --help (issue 15 point 12)."""

from __future__ import annotations

import argparse

from analytics.cli import COMMANDS, build_parser
from analytics.cli.common import PERIOD_HELP
from analytics.cli.report import REPORTS
from analytics.settings import DEFAULT_PERIOD_DAYS

# Taking --from/--to but with another period rule, stated in its own help.
OTHER_RULE = {("report", "mttr-baselines"): "its look-back is --months ending --to"}


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _parsers() -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every command's parser and its sub-commands' (`report NAME`, `improve add` …)."""
    found: dict[tuple[str, ...], argparse.ArgumentParser] = {}
    todo = [((name,), p) for name, p in _subparsers(build_parser()).items()]
    while todo:
        path, p = todo.pop()
        found[path] = p
        if any(isinstance(a, argparse._SubParsersAction) for a in p._actions):
            todo += [((*path, n), q) for n, q in _subparsers(p).items()]
    return found


def _optional_period(parser: argparse.ArgumentParser) -> bool:
    """--from or --to, not required (a command requiring both has no default period)."""
    return any(set(a.option_strings) & {"--from", "--to"} and not a.required
               for a in parser._actions)


def test_every_period_taking_parser_states_the_rule():
    parsers = _parsers()
    assert {p[0] for p in parsers} == set(COMMANDS)
    assert {p[1] for p in parsers if p[0] == "report" and len(p) == 2} == set(REPORTS)
    rule = " ".join(PERIOD_HELP.split())
    taking = [path for path, p in parsers.items() if _optional_period(p)]
    # The reports known to take a period are all found (the walk is not vacuous).
    assert {("report", n) for n in ("delivery", "scorecard", "rollbacks", "csat", "weekday",
                                    "threshold-replay", "rollback-replay", "kpi-outcomes")} <= set(taking)
    missing = [" ".join(path) for path in taking if path not in OTHER_RULE
               and rule not in " ".join(parsers[path].format_help().split())]
    assert missing == []
    for path in OTHER_RULE:  # not claiming a rule it does not follow
        assert rule not in " ".join(parsers[path].format_help().split())


def test_the_sentence_names_the_rule_and_the_cap():
    assert f"at most its last {DEFAULT_PERIOD_DAYS} days" in PERIOD_HELP
    assert "bulk of the data" in PERIOD_HELP and "as on the pages" in PERIOD_HELP
