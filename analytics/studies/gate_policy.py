"""The release gate's policy as data: thresholds, error-budget rules, and a change calendar of
freezes, seasonal relaxations and documented risk acceptances.

The policy is a TOML file (default ``gate_policy.toml`` beside this module; the report layer
lets ``WORKBENCH_GATE_POLICY`` or ``gate --policy`` name another). Its ``calendar`` key names the
calendar file, relative to the policy: TOML (``[[freeze]]``, ``[[relaxation]]``,
``[[acceptance]]``) or iCalendar (each ``VEVENT`` is a freeze: ``DTSTART``/``DTEND``/``SUMMARY``,
``UID`` as its id; acceptances then come from the policy file's own ``[[acceptance]]``).

Dates: a TOML date (``2026-12-20``) is one day; ``"12-20"`` (MM-DD) recurs every year, and a
range whose end is before its start wraps the year. An iCalendar ``DTEND`` is exclusive.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from analytics.studies.gates import BudgetRule, Freeze, Gate, Relaxation, RiskAcceptance

DEFAULT_POLICY = Path(__file__).with_name("gate_policy.toml")
BUDGET_ACTIONS = ("fixes-only", "approval")


def _day(value: Any, year: int) -> date:
    """A TOML date, an ISO date string, or ``MM-DD`` in ``year``."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    return date(year, int(text[:2]), int(text[3:5])) if len(text) == 5 else date.fromisoformat(text)


def _acceptance(entry: dict[str, Any], where: str) -> RiskAcceptance:
    missing = [k for k in ("by", "why", "until") if not entry.get(k)]
    if missing:
        raise ValueError(f"{where}: a risk acceptance needs who (by), why and until; missing "
                         f"{', '.join(missing)}")
    return RiskAcceptance(freeze=str(entry.get("freeze", "")), service=str(entry.get("service", "*")),
                          by=str(entry["by"]), why=str(entry["why"]),
                          until=_day(entry["until"], 1970))


def freezes_from_toml(entries: list[dict[str, Any]], at: date) -> list[Freeze]:
    """Freezes of a calendar's ``[[freeze]]`` tables; yearly ones around ``at`` (last year's,
    which may run into this one, and this year's)."""
    out = []
    for i, e in enumerate(entries):
        fid, reason = str(e.get("id") or f"freeze-{i + 1}"), str(e.get("reason", ""))
        if isinstance(e["start"], str) and len(e["start"]) == 5:
            for year in (at.year - 1, at.year):
                start, end = _day(e["start"], year), _day(e["end"], year)
                end = end if end >= start else _day(e["end"], year + 1)
                out.append(Freeze(start, end, reason, id=fid))
        else:
            out.append(Freeze(_day(e["start"], at.year), _day(e["end"], at.year), reason, id=fid))
    return out


def _unfold(text: str) -> list[str]:
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += raw[1:]  # RFC 5545 §3.1: a folded line continues the previous one
        elif raw.strip():
            lines.append(raw)
    return lines


def _ics_value(value: str) -> str:
    return (value.replace("\\n", " ").replace("\\N", " ").replace("\\,", ",")
            .replace("\\;", ";").replace("\\\\", "\\"))


def _ics_day(value: str, params: str, end: bool) -> date:
    day = date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    if not end:
        return day
    # DTEND is exclusive: an all-day event ending on the 3rd covers up to the 2nd; a timed one
    # ending at 00:00 likewise, later in the day covers that day.
    timed = "T" in value and value.split("T")[1].rstrip("Z")[:6] not in ("", "000000")
    return day if timed else day - timedelta(days=1)


def parse_ics(text: str) -> list[Freeze]:
    """Each VEVENT as a freeze (inclusive days; SUMMARY as reason, UID — else SUMMARY — as id).

    >>> ics = ("BEGIN:VCALENDAR\\nBEGIN:VEVENT\\nUID:q4\\nSUMMARY:Quarter close\\n"
    ...        "DTSTART;VALUE=DATE:20261228\\nDTEND;VALUE=DATE:20270101\\nEND:VEVENT\\nEND:VCALENDAR")
    >>> parse_ics(ics)
    [Freeze(start=datetime.date(2026, 12, 28), end=datetime.date(2026, 12, 31), reason='Quarter close', exceptions={}, id='q4')]
    """
    out: list[Freeze] = []
    event: dict[str, tuple[str, str]] | None = None
    for line in _unfold(text):
        name_params, _, value = line.partition(":")
        name, _, params = name_params.partition(";")
        name = name.upper()
        if name == "BEGIN" and value.strip().upper() == "VEVENT":
            event = {}
        elif name == "END" and value.strip().upper() == "VEVENT" and event is not None:
            if "DTSTART" not in event:
                raise ValueError("an iCalendar VEVENT has no DTSTART")
            start = _ics_day(*event["DTSTART"], end=False)
            end = _ics_day(*event["DTEND"], end=True) if "DTEND" in event else start
            summary = _ics_value(event.get("SUMMARY", ("", ""))[0])
            uid = _ics_value(event.get("UID", (summary, ""))[0])
            out.append(Freeze(start, max(start, end), summary, id=uid or summary))
            event = None
        elif event is not None:
            event[name] = (value.strip(), params)
    return out


def load_policy(path: Path | str | None, at: date) -> tuple[Gate, dict[str, str]]:
    """(the gate in force around ``at``, {policy, calendar} paths) from the policy file; a
    ``ValueError`` names the file and what is wrong."""
    policy_path = Path(path) if path else DEFAULT_POLICY
    try:
        data = tomllib.loads(policy_path.read_text())
    except OSError as exc:
        raise ValueError(f"cannot read the gate policy {policy_path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"gate policy {policy_path} is not valid TOML: {exc}") from None
    rules = []
    for i, r in enumerate(data.get("error_budget", [])):
        if r.get("action") not in BUDGET_ACTIONS or "below" not in r:
            raise ValueError(f"{policy_path}: error_budget rule {i + 1} needs below (a share of "
                             f"the budget) and action ({' or '.join(BUDGET_ACTIONS)})")
        rules.append(BudgetRule(str(r.get("id", f"budget-{i + 1}")), float(r["below"]),
                                r["action"], str(r.get("why", ""))))
    acceptances = [_acceptance(a, str(policy_path)) for a in data.get("acceptance", [])]
    freezes: list[Freeze] = []
    relaxations: list[Relaxation] = []
    calendar = data.get("calendar")
    cal_path = (policy_path.parent / calendar) if calendar else None
    if cal_path is not None:
        try:
            text = cal_path.read_text()
        except OSError as exc:
            raise ValueError(f"cannot read the change calendar {cal_path}: {exc.strerror}") from None
        if cal_path.suffix.lower() == ".ics":
            freezes = parse_ics(text)
        else:
            cal = tomllib.loads(text)
            freezes = freezes_from_toml(cal.get("freeze", []), at)
            acceptances += [_acceptance(a, str(cal_path)) for a in cal.get("acceptance", [])]
            for i, r in enumerate(cal.get("relaxation", [])):
                acc = _acceptance(r, f"{cal_path}: relaxation {r.get('id', i + 1)}")
                relaxations.append(Relaxation(str(r["start"]), str(r["end"]), str(r.get("reason", "")),
                                              min_coverage=r.get("min_coverage"),
                                              risk_limit=r.get("risk_limit"), acceptance=acc))
    gate = Gate(min_coverage=float(data.get("min_coverage", 85.0)),
                risk_limit=float(data.get("risk_limit", 0.25)),
                block_on_open_sev1=bool(data.get("block_on_open_sev1", True)),
                freezes=tuple(freezes), relaxations=tuple(relaxations),
                budget_rules=tuple(rules), acceptances=tuple(acceptances))
    return gate, {"policy": str(policy_path), "calendar": str(cal_path) if cal_path else ""}
