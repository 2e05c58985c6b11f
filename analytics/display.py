"""Page text that needs no Streamlit: user data made inert for Markdown, a docstring as a Method
section, report column names as table headings, a line naming the filters. ``analytics.ui``
re-exports each, so pages call ``ui.plain``, ``ui.headings`` and so on.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import polars as pl

from analytics.store.queries import Filters


def plain(text: object) -> str:
    r"""``text`` (user data: a service, file, theme or problem value) made inert for st.markdown,
    st.caption, st.error or a metric label: every ASCII punctuation mark is backslash-escaped, so
    a link, an image or emphasis in a name shows as the characters typed.

    >>> print(plain("[x](https://evil.example) ![i](http://127.0.0.1:9/t.png)"))
    \[x\]\(https\:\/\/evil\.example\) \!\[i\]\(http\:\/\/127\.0\.0\.1\:9\/t\.png\)
    >>> print(plain("a_b <b>"))
    a\_b \<b\>
    """
    # Characters Markdown or HTML can act on; a backslash makes each one literal.
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", str(text))


# A Sphinx cross-reference role in a docstring: :func:`name`, :meth:`~pkg.Cls.name`, ...
_ROLE = re.compile(r":(?:py:)?(?:func|meth|class|mod|attr|data|obj|exc):`~?([^`]+)`")


def method_text(doc: str | None) -> str:
    """A docstring as the Markdown of a page's Method section: dedented (an indented line
    would be a code block, whose highlighter costs the browser ~0.5 CPU-s) and Sphinx roles
    shown as the code names they point to, not as ``:func:`` markup.

    >>> print(method_text("Rates.\\n\\n    From :func:`pkg.attribute` and :meth:`~Panel.flags`."))
    Rates.
    <BLANKLINE>
    From `pkg.attribute` and `Panel.flags`.
    """
    return _ROLE.sub(r"`\1`", inspect.cleandoc(doc or ""))


def describe(filters: Filters) -> str:
    """One line naming the window and filters, for tile captions."""
    parts = [f"{filters.start} – {filters.end} ({filters.timezone}, inclusive)"]
    parts.append(f"teams: {', '.join(filters.teams)}" if filters.teams else "all teams")
    parts.append(f"services: {', '.join(filters.services)}" if filters.services else "all services")
    if filters.environment:
        parts.append(f"environment: {filters.environment}")
    return " · ".join(parts)


# Column-name endings shown as units in a table heading (checked in this order).
_UNITS = (("_pct", " %"), ("_minutes", " (min)"), ("_min", " (min)"), ("_hours", " (h)"),
          ("_amount", ""))


def heading(column: str) -> str:
    """A report column's name as a table heading: words, with its unit.

    >>> [heading(c) for c in ("contracted_pct", "downtime_minutes", "credit_amount", "month")]
    ['contracted %', 'downtime (min)', 'credit', 'month']
    """
    for end, unit in _UNITS:
        if column.endswith(end) and len(column) > len(end):
            return column[: -len(end)].replace("_", " ") + unit
    return column.replace("_", " ")


def headings(frame: pl.DataFrame, **named: Any) -> dict[str, Any]:
    """``column_config`` for ``st.dataframe`` that shows every column of ``frame`` under its
    :func:`heading`; ``named`` overrides some (a label or a ``st.column_config`` column)."""
    return {c: named.get(c, heading(c)) for c in frame.columns}
