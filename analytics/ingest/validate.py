"""Vectorised validation of imported columns, collecting every problem with its location.

Every importer turns its input into string columns, then these checks turn the strings into
typed columns. A value that does not parse becomes a :class:`Problem` naming the file, the row,
the column (as the source calls it) and the offending value; the import is refused when any
problem was found (all or nothing).

Timestamps: ISO 8601 (``T`` or space, optional seconds and fractions) or, for day-first sources,
``d-m-yyyy H:MM[:SS]`` / ``d/m/yyyy``. A value with an offset (``Z``, ``+02:00``, ``+0200``) is
converted with it; a naive value is read in the import's time zone. The result is naive UTC,
as the store keeps it. A local time that does not exist (the spring-forward gap) is a problem,
unless the source asks to shift it forward by the gap (real datasets recorded wall-clock times).
The parsing itself is :mod:`analytics.ingest.times`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from analytics.ingest.times import fast_parse, is_zone, local_to_utc, parse_parts

ROW = "__row"
FILE = "__file"
MAX_LISTED = 20
TRUE_WORDS = ("true", "1", "yes", "y")
FALSE_WORDS = ("false", "0", "no", "n")
# A column with at most this many distinct values (booleans, statuses, environments) is read
# value by value: each distinct string is stripped and converted once, then mapped onto the rows
# (584k deployments: the five such columns in 0.07 instead of 0.2 CPU-s).
FEW = 64
NOT_BOOLEAN = "not a boolean (expected true/false, 1/0 or yes/no)"



@dataclass(frozen=True)
class Problem:
    """One invalid value: where it is and why it was refused."""

    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.value is not None:
            where.append(f"value {self.value!r}")
        return f"{', '.join(where)}: {self.message}"


class InvalidImport(Exception):
    """The input has problems; nothing was written. ``str()`` lists up to 20, then a count."""

    def __init__(self, problems: list[Problem], total: int | None = None) -> None:
        self.problems = problems
        self.total = max(total or 0, len(problems))
        super().__init__(self.describe())

    def describe(self) -> str:
        """The message shown to the user."""
        lines = [f"{self.total} problem(s); nothing was imported:"]
        lines += [f"  {p}" for p in self.problems[:MAX_LISTED]]
        if self.total > MAX_LISTED:
            lines.append(f"  … and {self.total - MAX_LISTED} more problem(s)")
        return "\n".join(lines)


@dataclass
class Checker:
    """Collects problems for one string frame (with ``__file`` and ``__row`` columns).

    ``labels`` maps a column to the name the user knows it by (the source's header or field).
    """

    frame: pl.DataFrame
    labels: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    total: int = 0
    _raw: dict[str, pl.Series] = field(default_factory=dict, repr=False)
    _few: dict[str, pl.DataFrame | None] = field(default_factory=dict, repr=False)

    def label(self, column: str) -> str:
        """The user-facing name of ``column``."""
        return self.labels.get(column, column)

    def flag(self, bad: pl.Series, column: str | None, message: str,
             values: pl.Series | None = None) -> None:
        """Record every row where ``bad`` is true (only the first few are kept in detail)."""
        bad = bad.fill_null(False)
        n = int(bad.sum())
        if n == 0:
            return
        self.total += n
        room = MAX_LISTED + 1 - len(self.problems)
        if room <= 0:
            return
        idx = bad.arg_true().head(room)
        files = self.frame[FILE].gather(idx).to_list()
        rows = self.frame[ROW].gather(idx).to_list()
        vals = values.gather(idx).to_list() if values is not None else [None] * len(rows)
        for f, r, v in zip(files, rows, vals, strict=True):
            self.problems.append(Problem(f, r, self.label(column) if column else None,
                                         None if v is None else str(v), message))

    def fork(self) -> Checker:
        """An empty checker over the same frame (to check columns in parallel, then ``absorb``)."""
        return Checker(self.frame, self.labels)

    def absorb(self, other: Checker) -> None:
        """Add ``other``'s problems after this one's, as if they had been found here."""
        self.total += other.total
        room = MAX_LISTED + 1 - len(self.problems)
        self.problems += other.problems[:max(room, 0)]

    def flag_frame(self, message: str) -> None:
        """A problem with the file as a whole (e.g. a missing column)."""
        f = self.frame[FILE][0] if self.frame.height else "input"
        self.total += 1
        if len(self.problems) <= MAX_LISTED:
            self.problems.append(Problem(f, None, None, None, message))

    def raw(self, column: str) -> pl.Series:
        """The stripped string values of ``column`` (empty strings become null)."""
        if column not in self._raw:
            s = self.frame[column].cast(pl.String).str.strip_chars()
            self._raw[column] = s.set(s == "", None) if s.len() else s
        return self._raw[column]

    def distinct(self, column: str) -> pl.DataFrame | None:
        """Each distinct value of a text ``column`` as read (``value``) and as :meth:`raw` reads
        it (``raw``), when it has at most :data:`FEW` of them; None otherwise.

        >>> ck = Checker(pl.DataFrame({"ok": [" yes", "no", None, " "]}))
        >>> ck.distinct("ok").sort("value", nulls_last=True).rows()
        [(' ', None), (' yes', 'yes'), ('no', 'no'), (None, None)]
        """
        if column not in self._few:
            col = self.frame[column]
            found = None
            # A sample settles a column of many values without hashing all of it.
            if col.dtype == pl.String and col.head(4 * FEW).n_unique() <= FEW:
                values = col.unique()
                if values.len() <= FEW:
                    s = values.str.strip_chars()
                    found = pl.DataFrame({"value": values, "raw": s.set(s == "", None)})
            self._few[column] = found
        return self._few[column]

    def mapped(self, column: str, convert: Callable[[pl.Series], pl.Series]) -> tuple[pl.Series, pl.Series] | None:
        """``convert`` applied to the distinct values of ``column`` (as :meth:`raw` reads them)
        and mapped onto its rows, when it has few (:meth:`distinct`; None otherwise): the
        converted column and the values as read whose conversion is null (to flag).

        >>> ck = Checker(pl.DataFrame({"env": ["Prod", " prod ", None]}))
        >>> out, bad = ck.mapped("env", lambda raw: raw.str.to_lowercase())
        >>> out.to_list(), bad.to_list()
        (['prod', 'prod', None], [])
        """
        few = self.distinct(column)
        if few is None:
            return None
        conv = convert(few["raw"])
        known = few["value"].is_not_null()
        out = self.frame[column].replace_strict(few["value"].filter(known), conv.filter(known),
                                                default=None, return_dtype=conv.dtype)
        return out, few["value"].filter(few["raw"].is_not_null() & conv.is_null())

    def missing(self, column: str) -> pl.Series:
        """True on the rows where ``column`` is empty (null, or only white space)."""
        few = None if column in self._raw else self.distinct(column)
        if few is None:
            return self.raw(column).is_null()
        col = self.frame[column]
        blank = few["value"].filter(few["raw"].is_null() & few["value"].is_not_null())
        return col.is_null() | col.is_in(blank.to_list()) if blank.len() else col.is_null()

    def required(self, column: str, values: pl.Series | None = None) -> None:
        """Flag rows where a required column is empty (``values``: its :meth:`raw` values, when
        the caller has them)."""
        self.flag(self.missing(column) if values is None else values.is_null(), column,
                  "required value is missing")

    # ---------------------------------------------------------------- typed parsers

    def datetime(self, column: str, tz: str = "UTC", *, dayfirst: bool = False,
                 shift_gap: bool = False) -> pl.Series:
        """Parse timestamps to naive UTC (see the module docstring)."""
        raw = self.raw(column)
        fast = None if dayfirst else fast_parse(raw)
        if fast is not None:
            # One format throughout and every value parsed: either all in UTC ("Z") or all naive.
            parsed, utc = fast
            if utc:
                return parsed.alias(column)
            local = local_to_utc(parsed, tz, shift_gap)
            self.flag(parsed.is_not_null() & local.is_null(), column,
                      f"this local time does not exist in {tz} (daylight-saving gap)", raw)
            return local.alias(column)
        parsed, offset_min = parse_parts(raw, dayfirst)
        self.flag(raw.is_not_null() & parsed.is_null(), column,
                  "not a date-time (expected ISO 8601, e.g. 2024-05-01T13:45:00Z)"
                  if not dayfirst else "not a day-first date-time (expected d-m-yyyy H:MM)", raw)
        with_offset = offset_min.is_not_null()
        utc_from_offset = parsed - (offset_min.fill_null(0) * 60_000_000).cast(pl.Duration("us"))
        local = local_to_utc(parsed, tz, shift_gap)
        self.flag(parsed.is_not_null() & ~with_offset & local.is_null(), column,
                  f"this local time does not exist in {tz} (daylight-saving gap)", raw)
        out = pl.select(pl.when(with_offset).then(utc_from_offset).otherwise(local)).to_series()
        return out.alias(column)

    def boolean(self, column: str) -> pl.Series:
        """true/false/1/0/yes/no (any case); empty stays null."""
        return self._converted(column, _boolean, NOT_BOOLEAN)

    def integer(self, column: str, lo: int | None = None, hi: int | None = None) -> pl.Series:
        """Whole numbers, optionally within [lo, hi]; ``3.0`` is accepted as 3."""
        raw = self.raw(column)
        plain = raw.cast(pl.Int64, strict=False)
        if plain.null_count() == raw.null_count():  # every value a plain integer: one cast
            self._range(column, plain.alias(column), raw, lo, hi)
            return plain.alias(column)
        as_float = raw.str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
        whole = as_float.is_not_null() & (as_float == as_float.floor()) & as_float.is_finite()
        self.flag(raw.is_not_null() & ~whole, column, "not a whole number", raw)
        out = pl.select(pl.when(whole).then(as_float)).to_series().cast(pl.Int64).alias(column)
        self._range(column, out, raw, lo, hi)
        return out

    def number(self, column: str, lo: float | None = None, hi: float | None = None,
               *, decimal_comma: bool = False) -> pl.Series:
        """Decimal numbers (a decimal comma when the source uses one), optionally within [lo, hi]."""
        raw = self.raw(column)
        text = raw.str.replace(",", ".", literal=True) if decimal_comma else raw
        out = text.cast(pl.Float64, strict=False)
        self.flag(raw.is_not_null() & (out.is_null() | out.is_nan()), column, "not a number", raw)
        out = out.alias(column)
        self._range(column, out, raw, lo, hi)
        return out

    def _range(self, column: str, values: pl.Series, raw: pl.Series,
               lo: float | None, hi: float | None) -> None:
        if lo is not None and hi is not None:
            self.flag(values < lo, column, f"must be between {lo} and {hi}", raw)
            self.flag(values > hi, column, f"must be between {lo} and {hi}", raw)
        elif lo is not None:
            self.flag(values < lo, column, f"must be at least {lo}", raw)

    def choice(self, column: str, allowed: tuple[str, ...],
               aliases: dict[str, str] | None = None) -> pl.Series:
        """One of ``allowed`` (case-insensitive; ``aliases`` map other spellings)."""
        mapping = {a: a for a in allowed} | (aliases or {})

        def convert(raw: pl.Series) -> pl.Series:
            return raw.str.to_lowercase().replace_strict(mapping, default=None, return_dtype=pl.String)

        return self._converted(column, convert, f"not one of {', '.join(allowed)}")

    def _converted(self, column: str, convert: Callable[[pl.Series], pl.Series],
                   message: str) -> pl.Series:
        """``convert`` applied to the :meth:`raw` values of ``column`` (to each distinct value
        once when it has few, :meth:`mapped`); a value it turns into null is flagged with
        ``message``."""
        few = self.mapped(column, convert)
        if few is not None:
            out, bad = few
            if bad.len():
                self.flag(self.frame[column].is_in(bad.to_list()), column, message, self.raw(column))
            return out.alias(column)
        raw = self.raw(column)
        out = convert(raw).alias(column)
        self.flag(raw.is_not_null() & out.is_null(), column, message, raw)
        return out

    def keyword(self, column: str, max_len: int, aliases: dict[str, str]) -> pl.Series:
        """Text of few values (an environment): stripped, lower-cased, ``aliases`` replaced;
        longer than ``max_len`` is a problem.

        >>> Checker(pl.DataFrame({"env": [" Prod", "staging"]})).keyword("env", 32, {"prod": "production"}).to_list()
        ['production', 'staging']
        """
        def convert(raw: pl.Series) -> pl.Series:
            return raw.str.to_lowercase().replace(aliases)

        few = self.distinct(column)
        if few is not None and (few["raw"].str.len_chars().max() or 0) <= max_len:  # type: ignore[operator]
            out, _ = self.mapped(column, convert)  # type: ignore[misc]
            return out.alias(column)
        return convert(self.text(column, max_len)).alias(column)

    def text(self, column: str, max_len: int | None = None) -> pl.Series:
        """Free text, stripped; longer than ``max_len`` is a problem."""
        raw = self.raw(column)
        # A value has at least as many bytes as characters: when no value has more bytes than
        # the limit (read from the offsets, no UTF-8 decoding), no value can be too long.
        longest = raw.str.len_bytes().max() or 0
        if max_len is not None and longest > max_len:  # type: ignore[operator]
            self.flag(raw.str.len_chars() > max_len, column,
                      f"longer than {max_len} characters", raw.str.slice(0, 40) + "…")
        return raw.alias(column)

    def timezone(self, column: str) -> pl.Series:
        """An IANA time zone name."""
        raw = self.raw(column)
        names = raw.drop_nulls().unique().to_list()
        bad = {n for n in names if not is_zone(n)}
        self.flag(raw.is_in(sorted(bad)), column, "not an IANA time zone (e.g. Europe/Amsterdam)", raw)
        return raw.alias(column)

    @staticmethod
    def all_distinct(key: pl.Series) -> bool:
        """True when no non-null value of ``key`` repeats (one hash pass).

        >>> Checker.all_distinct(pl.Series(["a", None, None])), Checker.all_distinct(pl.Series(["a", "a"]))
        (True, False)
        """
        return key.n_unique() == key.len() - max(key.null_count() - 1, 0)

    def unique(self, key: pl.Series, column: str, known: bool | None = None) -> None:
        """Flag every repeat of a key (the first occurrence is fine); ``known``: the result of
        :meth:`all_distinct` for ``key``, when already computed."""
        if known if known is not None else self.all_distinct(key):
            return  # one hash pass settles the usual case; locating repeats costs three
        dup = key.is_duplicated() & ~key.is_first_distinct() & key.is_not_null()
        self.flag(dup, column, "duplicate id (appears earlier in the input)", key)

    def raise_if_any(self) -> None:
        """Raise :class:`InvalidImport` when a problem was recorded."""
        if self.total:
            raise InvalidImport(self.problems, self.total)


def _boolean(raw: pl.Series) -> pl.Series:
    """True/False for stripped words of TRUE_WORDS/FALSE_WORDS (any case), else null."""
    low = raw.str.to_lowercase()
    return pl.select(pl.when(low.is_in(TRUE_WORDS)).then(True)
                     .when(low.is_in(FALSE_WORDS)).then(False).otherwise(None)).to_series()


