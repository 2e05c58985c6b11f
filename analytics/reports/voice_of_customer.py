"""Voice of customer (REFERENCE §4, voice-of-customer row): themes in the period's ticket texts,
their weekly trend and impact-weighted size, the themes that rose after a release, and the most
typical scrubbed tickets per theme. The Voice-of-customer page and notebooks call these.

Texts are scrubbed of e-mail addresses, phone numbers and names before anything is fitted or
shown (:func:`analytics.studies.themes.scrub`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl
from sqlalchemy import Engine

from analytics.reports import NoData
from analytics.store import queries
from analytics.store.queries import Filters
from analytics.studies.themes import ThemeModel, fit_themes, rising_themes, theme_severity, theme_volume

# At most this many tickets are fitted (a seeded sample): NMF time and memory grow with it.
SAMPLE_MAX = 50_000
SEED = 0
EXAMPLES = 3  # typical tickets shown per theme
FIT_COLUMNS = ("id", "service", "opened_at", "user_role", "transaction_criticality", "text")


@dataclass(frozen=True)
class ThemeFit:
    """The fitted model, the number of tickets in the period (``total``) and of those fitted."""

    model: ThemeModel
    total: int
    n_themes: int

    @property
    def sampled(self) -> int:
        """Tickets the themes were fitted on (``total`` unless above SAMPLE_MAX)."""
        return self.model.documents.height


def fit(engine: Engine, *, filters: Filters, n_themes: int) -> ThemeFit:
    """TF-IDF + NMF themes of the period's tickets (at most SAMPLE_MAX, a seeded sample).

    Tickets have no environment (``filters.environment`` is ignored). Raises :class:`NoData`
    when there is no ticket, or too little text to find ``n_themes`` themes.
    """
    tickets = queries.tickets(engine, filters, with_text=True)
    total = tickets.height
    if total == 0:
        raise NoData("No tickets in this period for these filters. Widen the period or clear filters.")
    sample = tickets.sample(SAMPLE_MAX, seed=SEED) if total > SAMPLE_MAX else tickets
    try:
        model = fit_themes(sample.select(FIT_COLUMNS), n_themes=n_themes, seed=SEED)
    except ValueError as exc:
        raise NoData(f"Cannot find themes: {exc}.") from None
    return ThemeFit(model, total, n_themes)


def theme_table(result: ThemeFit) -> pl.DataFrame:
    """One row per theme: theme, name, top_terms (joined by ", "), documents, share, weighted
    (Σ user-role × transaction-criticality weight, the release-impact weights), mean_weight."""
    model = result.model
    return (model.themes.with_columns(top_terms=pl.col("top_terms").list.join(", "))
            .join(theme_severity(model).select("theme", "weighted", "mean_weight"), on="theme"))


def weekly_volume(result: ThemeFit, *, tz: str) -> pl.DataFrame:
    """Documents and share per theme per ISO week in ``tz`` (a week without tickets is a gap)."""
    return theme_volume(result.model, "opened_at", "week", tz)


def examples(result: ThemeFit, *, per_theme: int = EXAMPLES) -> pl.DataFrame:
    """The ``per_theme`` most typical (highest-weight) distinct scrubbed tickets of each theme:
    theme, opened_at, service, text."""
    return (result.model.documents.filter(pl.col("theme").is_not_null())
            .sort("weight", descending=True, maintain_order=True)  # ties: first ticket
            .unique(["theme", "text"], keep="first", maintain_order=True)
            .group_by("theme", maintain_order=True).head(per_theme)
            .select("theme", "opened_at", "service", "text").sort("theme"))


def rising(result: ThemeFit, *, release_at: datetime, service: str | None, days: int) -> pl.DataFrame:
    """Themes whose share rose in the ``days`` after a release vs the ``days`` before (one-sided
    Fisher exact, Benjamini–Hochberg q; only ``service``'s tickets unless None).

    Raises :class:`NoData` when either window holds no ticket.
    """
    try:
        return rising_themes(result.model, release_at, window=timedelta(days=days), service=service)
    except ValueError as exc:
        raise NoData(f"Cannot compare: {exc}.") from None
