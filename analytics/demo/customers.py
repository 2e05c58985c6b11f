"""The demo organisation's customer side: support tickets with free text, and CSAT/NPS answers.

Planted effects:
- tickets arrive with hour-of-week seasonality; for 48 h after a failed production deployment the
  service's ticket rate is multiplied by 1.8 (the excess tickets speak of the release);
- CSAT (share of 4–5 scores) drops from 0.82 to 0.62 in the 7 days after a customer-facing
  incident on the service.
- the first response to a ticket comes after a delay in business hours (Mon–Fri 09:00–17:00 UTC):
  most within the hour (exponential, mean ``RESPONSE_MEAN_HOURS``), a share ``RESPONSE_LATE_SHARE``
  late (log-normal around ``RESPONSE_LATE_MEDIAN_HOURS``); never after the ticket's closing. Drawn
  from its own stream (``first_responses``), so every other demo figure is as before.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import numpy as np
import polars as pl

TICKET_RATE_RATIO_FAILED = 1.8
TICKET_WINDOW_HOURS = 48
CSAT_BASE = 0.82
CSAT_AFTER_INCIDENT = 0.62
CSAT_DROP_DAYS = 7
RESPONSE_MEAN_HOURS = 0.35
RESPONSE_LATE_SHARE = 0.2
RESPONSE_LATE_MEDIAN_HOURS = 2.5

THEMES: dict[str, tuple[str, ...]] = {
    "login": ("I cannot log in, the password reset email never arrives",
              "Login page keeps saying invalid password after reset",
              "Locked out of my account, two factor code not accepted"),
    "payment": ("Payment declined at checkout although my card is valid",
                "I was charged twice for the same order, please refund",
                "Invoice amount is wrong, payment failed with card error"),
    "performance": ("The dashboard is very slow and pages time out",
                    "Everything loads slowly, search takes a minute to respond",
                    "Timeouts all morning, the site is painfully slow"),
    "export": ("Report export to CSV fails and the file is empty",
               "Exported spreadsheet is missing columns in the download",
               "Cannot download my data export, the export job never finishes"),
    "notifications": ("I am not receiving email notifications any more",
                      "Push notifications stopped arriving on my phone",
                      "Notification settings are ignored, alerts never sent"),
}
RELEASE_THEME = ("Since the latest update the save button is broken with an error 500",
                 "After the new version was released the page shows an error screen",
                 "New release broke the form, error message after update")
FIRST = ("Anna", "Jan", "Maria", "Pieter", "Sofia", "Lucas", "Emma", "Daan", "Julia", "Noah")
LAST = ("de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos")
ROLES = ("end_user", "admin", "agent", "executive")
CRITICALITY = ("low", "medium", "high", "critical")
CHANNELS = ("email", "phone", "chat", "portal")


def _season(hours: np.ndarray, first: date) -> np.ndarray:
    """Hour-of-week profile: busy on weekday business hours, quiet at night and weekends."""
    dow = (first.weekday() + hours // 24) % 7
    hod = hours % 24
    day = np.where((hod >= 8) & (hod < 18), 1.8, np.where((hod >= 6) & (hod < 22), 0.8, 0.25))
    return day * np.where(dow >= 5, 0.4, 1.0)


def _texts(rng: np.random.Generator, theme_idx: np.ndarray, release: np.ndarray) -> list[str]:
    names = list(THEMES)
    out = []
    pii = rng.random(theme_idx.size)
    variant = rng.integers(0, 3, theme_idx.size)
    who = rng.integers(0, len(FIRST), theme_idx.size)
    fam = rng.integers(0, len(LAST), theme_idx.size)
    for t, rel, p, v, f, l in zip(theme_idx, release, pii, variant, who, fam, strict=True):
        body = RELEASE_THEME[v] if rel else THEMES[names[t]][v]
        name = f"{FIRST[f]} {LAST[l]}"
        # Real tickets carry personal data; the themes study must scrub it first.
        if p < 0.15:
            body += f". Contact me at {FIRST[f].lower()}.{LAST[l].split()[-1].lower()}@example.com"
        elif p < 0.25:
            body += f". Call me on +31 6 {1000 + f * 37:04d} {2000 + l * 91:04d}"
        if p > 0.7:
            body += f". Regards, {name}"
        out.append(body)
    return out


def tickets(rng: np.random.Generator, svc: pl.DataFrame, dep: pl.DataFrame, inc: pl.DataFrame,
            first: date, days: int) -> pl.DataFrame:
    """Hourly Poisson ticket arrivals per service with the planted post-failure uplift."""
    n_svc, hours = svc.height, days * 24
    base = rng.uniform(0.25, 0.75, n_svc)
    lam = base[:, None] * _season(np.arange(hours), first)[None, :]
    fails = dep.filter((pl.col("environment") == "production") & ~pl.col("is_rollback")
                       & (pl.col("status") != "success"))
    start = np.datetime64(first, "h")
    f_hour = ((fails["finished_at"].to_numpy().astype("datetime64[h]") - start)
              .astype(np.int64)) + 1  # first full hour after the release
    f_svc = fails["service_id"].to_numpy() - 1
    uplift = np.zeros((n_svc, hours + TICKET_WINDOW_HOURS + 1), dtype=np.int32)
    np.add.at(uplift, (f_svc, f_hour), 1)
    np.add.at(uplift, (f_svc, f_hour + TICKET_WINDOW_HOURS), -1)
    elevated = np.cumsum(uplift, axis=1)[:, :hours] > 0
    # Overlapping windows do not compound: the rate is 1.8x while any failure's window is open.
    lam = lam * np.where(elevated, TICKET_RATE_RATIO_FAILED, 1.0)
    counts = rng.poisson(lam)
    s_idx, h_idx = np.nonzero(counts)
    reps = counts[s_idx, h_idx]
    s_idx, h_idx = np.repeat(s_idx, reps), np.repeat(h_idx, reps)
    el = np.repeat(elevated[counts > 0], reps)
    n = s_idx.size
    opened = start.astype("datetime64[s]") + (h_idx * 3600 + rng.integers(0, 3600, n)).astype("timedelta64[s]")
    release = el & (rng.random(n) < (1 - 1 / TICKET_RATE_RATIO_FAILED))
    theme_idx = rng.integers(0, len(THEMES), n)
    close = np.exp(rng.normal(np.log(8 * 3600), 1.2, n)).astype("timedelta64[s]")
    frame = pl.DataFrame({
        "service_id": s_idx + 1, "opened_at": opened.astype("datetime64[us]"),
        "closed_at": (opened + close).astype("datetime64[us]"),
        "severity": rng.choice([1, 2, 3, 4], n, p=[0.03, 0.17, 0.5, 0.3]).astype(np.int64),
        "user_role": rng.choice(ROLES, n, p=[0.7, 0.15, 0.1, 0.05]),
        "transaction_criticality": rng.choice(CRITICALITY, n, p=[0.4, 0.35, 0.2, 0.05]),
        "channel": rng.choice(CHANNELS, n, p=[0.4, 0.2, 0.25, 0.15]),
        "customer_id": [f"cust-{c:06x}" for c in rng.integers(0, 30_000, n)],
        "text": _texts(rng, theme_idx, release),
        "theme": np.where(release, "release", np.array(list(THEMES))[theme_idx]),
    }).sort("opened_at", "service_id")
    frame = _link_incidents(frame, inc)
    return frame.with_columns(
        id=pl.int_range(1, frame.height + 1), source=pl.lit("demo"),
        external_id=pl.format("TKT{}", pl.int_range(1, frame.height + 1)))


def first_responses(tickets: pl.DataFrame, seed: int) -> pl.DataFrame:
    """``tickets`` with ``first_response_at``: opened_at plus a business-hours delay, capped at
    closed_at. Its own generator (seeded from ``response-{seed}``) leaves the other streams alone.
    """
    from analytics.metrics import intervals as iv
    from analytics.metrics.business_hours import HOUR_US, BusinessCalendar, _Clock

    if tickets.height == 0:
        return tickets.with_columns(first_response_at=pl.lit(None, pl.Datetime("us")))
    rng = np.random.default_rng(int.from_bytes(
        hashlib.sha256(f"response-{seed}".encode()).digest()[:8], "little"))
    n = tickets.height
    late = rng.random(n) < RESPONSE_LATE_SHARE
    delay = np.where(late, np.exp(rng.normal(np.log(RESPONSE_LATE_MEDIAN_HOURS), 0.9, n)),
                     rng.exponential(RESPONSE_MEAN_HOURS, n))
    opened = tickets["opened_at"].cast(pl.Datetime("us")).to_numpy().astype(np.int64)
    first, last = iv.from_us(int(opened.min())).date(), iv.from_us(int(opened.max())).date()
    clock = _Clock(BusinessCalendar.office("UTC").spans(first - timedelta(days=3),
                                                        last + timedelta(days=60)))
    answered = clock.when(clock.worked(opened) + (delay * HOUR_US).astype(np.int64))
    closed = tickets["closed_at"].cast(pl.Datetime("us")).to_numpy().astype(np.int64)
    answered = answered // 1_000_000 * 1_000_000  # whole seconds, like the other timestamps
    answered = np.where(closed >= opened, np.minimum(answered, closed), answered)
    return tickets.with_columns(first_response_at=pl.Series(answered).cast(pl.Datetime("us")))


def _link_incidents(tickets: pl.DataFrame, inc: pl.DataFrame) -> pl.DataFrame:
    """Tickets opened while an incident of their service is open point to it (the latest one)."""
    open_inc = inc.filter(pl.col("service_id").is_not_null()).select(
        related_incident_id="id", service_id="service_id", inc_opened="opened_at",
        inc_resolved="resolved_at").sort("inc_opened")
    joined = tickets.join_asof(open_inc, left_on="opened_at", right_on="inc_opened",
                               by="service_id", strategy="backward", check_sortedness=False)
    return joined.with_columns(
        related_incident_id=pl.when(pl.col("opened_at") <= pl.col("inc_resolved"))
        .then(pl.col("related_incident_id")).otherwise(None)).drop("inc_opened", "inc_resolved")


def csat(rng: np.random.Generator, svc: pl.DataFrame, inc: pl.DataFrame, first: date,
         days: int) -> pl.DataFrame:
    """Daily survey answers per service; lower scores in the week after customer-facing incidents."""
    n_svc = svc.height
    counts = rng.poisson(3.0, (n_svc, days))
    s_idx, d_idx = np.nonzero(counts)
    reps = counts[s_idx, d_idx]
    s_idx, d_idx = np.repeat(s_idx, reps), np.repeat(d_idx, reps)
    n = s_idx.size
    at = (np.datetime64(first, "s") + (d_idx * 86400 + rng.integers(0, 86400, n))
          .astype("timedelta64[s]")).astype("datetime64[us]")
    frame = pl.DataFrame({"service_id": s_idx + 1, "responded_at": at}).sort("responded_at")
    cf = inc.filter(pl.col("customer_facing") & pl.col("service_id").is_not_null()).select(
        "service_id", inc_at="opened_at").sort("inc_at")
    frame = frame.join_asof(cf, left_on="responded_at", right_on="inc_at", by="service_id",
                            strategy="backward", check_sortedness=False)
    after = ((pl.col("responded_at") - pl.col("inc_at")) <= pl.duration(days=CSAT_DROP_DAYS)).fill_null(False)
    frame = frame.with_columns(after_incident=after).drop("inc_at")
    p_good = np.where(frame["after_incident"].to_numpy(), CSAT_AFTER_INCIDENT, CSAT_BASE)
    good = rng.random(n) < p_good
    score = np.where(good, rng.choice([4, 5], n, p=[0.55, 0.45]), rng.choice([1, 2, 3], n, p=[0.2, 0.3, 0.5]))
    nps = np.where(good, rng.choice([7, 8, 9, 10], n, p=[0.15, 0.25, 0.3, 0.3]),
                   rng.integers(0, 8, n))
    has_nps = rng.random(n) < 0.6
    comment_theme = rng.integers(0, len(THEMES), n)
    comments = [None if r > 0.3 else ("Great service, quick and helpful" if g else
                                      list(THEMES.values())[t][0])
                 for r, g, t in zip(rng.random(n), good, comment_theme, strict=True)]
    return frame.with_columns(
        id=pl.int_range(1, n + 1), score=pl.Series(score.astype(np.int64)),
        nps=pl.Series(np.where(has_nps, nps, -1).astype(np.int64)),
        segment=pl.Series(rng.choice(["enterprise", "smb", "consumer"], n, p=[0.2, 0.3, 0.5])),
        customer_id=pl.Series([f"cust-{c:06x}" for c in rng.integers(0, 30_000, n)]),
        comment=pl.Series(comments, dtype=pl.String), source=pl.lit("demo"),
        external_id=pl.format("CSAT{}", pl.int_range(1, n + 1)),
    ).drop("after_incident").with_columns(nps=pl.when(pl.col("nps") < 0).then(None).otherwise(pl.col("nps")))
