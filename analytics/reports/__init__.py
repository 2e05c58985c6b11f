"""Reports: one module per report. Each reads the store with the margins its definition needs
(padding, lookbacks, windows: declared in that module, once), calls ``metrics``/``studies`` and
returns a typed result that pages, the CLI and notebooks all render.

A report takes an engine and typed arguments (``Filters``, window hours, a month …), never
argparse or streamlit. When there is nothing to compute it raises :class:`NoData` with a plain
sentence; a bad argument (unknown service, impossible month) raises :class:`BadRequest`. The CLI
turns both into exit status 2, a page into ``st.info`` / ``st.error``.
"""

from __future__ import annotations


class ReportError(Exception):
    """A report could not answer; the message is one plain sentence for a person."""


class NoData(ReportError):
    """The store holds nothing the report can compute for these filters."""


class BadRequest(ReportError):
    """An argument names something the store does not have, or is out of range."""
