"""Voice-of-the-customer themes from ticket texts and CSAT comments (REFERENCE §4).

Personal data is scrubbed first; then TF-IDF + NMF (``init="nndsvda"``, fixed seed). Agent
boilerplate would otherwise dominate the topics, so greetings and sign-off words are stop words
and terms in more than ``max_df`` of the documents are dropped.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl
from scipy import stats

from analytics.metrics.csat import EVERY, local_time
from analytics.studies.experiments import benjamini_hochberg
from analytics.studies.nmf_dedup import fit_nmf

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d ().\-]{6,}\d(?!\w)")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_WORD = r"[A-ZÀ-Þ][A-Za-zÀ-ÿ'’]*[a-zß-ÿ](?:-[A-ZÀ-Þ]?[A-Za-zÀ-ÿ'’]*[a-zß-ÿ])*"  # Jo, O'Neil, McKay, Jean-Luc
# Lower-case family-name particles may sit between capitalised words ("Anna de Vries").
_PARTICLE = r"(?:van|von|de|der|den|del|da|das|dos|di|du|la|le|ter|ten|bin|al)"
_NAME = rf"{_WORD}(?:[ \t]+(?:{_PARTICLE}[ \t]+)*{_WORD}){{0,2}}"
NAME_FORMS = (
    # (lower-case words one of which must occur for the form to apply, pattern). Only the lead-in
    # ignores case: the name itself must be capitalised ("my name is wrong" stays).
    (("name",), re.compile(rf"(\b(?i:name)\s*[:=]\s*){_NAME}")),
    (("my name is",), re.compile(rf"(\b(?i:my name is)\s+){_NAME}")),
    (("regards", "wishes", "thank", "cheers", "sincerely"),
     re.compile(rf"(\b(?i:(?:kind |best |warm )?(?:regards|wishes|thanks|thank you|cheers|sincerely))"
                rf"\s*[,.!-]?\s*){_NAME}(?=\s*$|\s*[\n.,])")),
    (("hi", "hello", "dear"), re.compile(rf"(\b(?i:hi|hello|dear)\s+){_NAME}(?=\s*,)")),
)
PLACEHOLDER = re.compile(r"\[(?:email|phone|name)\]")
BOILERPLATE = frozenset("""hi hello dear thanks thank regards kind best cheers sincerely please
team support agent customer ticket case issue problem help hope wishes sorry apologies
inconvenience contacting reaching reached let know update updated""".split())


TOKEN = re.compile(r"\b[a-z]{3,}\b")


def stem(word: str) -> str:
    """A light suffix stripper so that inflections share one term (Porter-like, much smaller).

    >>> [stem(w) for w in ("notifications", "released", "release", "slowly", "replies", "status")]
    ['notification', 'releas', 'releas', 'slow', 'reply', 'status']
    """
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix, shortest in (("ing", 3), ("ed", 3), ("ly", 4)):
        if word.endswith(suffix) and len(word) - len(suffix) >= shortest:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


class _Terms:
    """TF-IDF analyzer: words of 3+ letters, minus stop words and placeholders, stemmed. It
    remembers each stem's spellings so a theme is named by words, not stems.

    Ticket texts repeat (templates, copied replies): each distinct text is tokenised once and
    its later calls only counted; the spellings are tallied from those counts when first asked
    for, in the order the texts were first seen, so ``spell`` names a stem exactly as tallying
    every call would (``Counter.most_common`` breaks ties by first insertion).

    >>> t = _Terms(frozenset({"the"}))
    >>> t("Released the release"), t("released"), t("Released the release")
    (['releas', 'releas'], ['releas'], ['releas', 'releas'])
    >>> t.spell("releas")
    'released'
    """

    def __init__(self, stop_words: frozenset[str]) -> None:
        self.stop_words = stop_words
        self._seen: dict[str, tuple[list[str], list[str]]] = {}  # text -> (terms, words)
        self._calls: Counter[str] = Counter()
        self._spellings: dict[str, Counter[str]] | None = None
        self._kept: dict[str, Counter[str]] = {}  # tallied before the last ``done``

    def __call__(self, text: str) -> list[str]:
        self._calls[text] += 1
        self._spellings = None
        found = self._seen.get(text)
        if found is None:
            words = [w for w in TOKEN.findall(PLACEHOLDER.sub(" ", text.lower()))
                     if w not in self.stop_words]
            found = self._seen[text] = ([stem(w) for w in words], words)
        return list(found[0])

    @property
    def spellings(self) -> dict[str, Counter[str]]:
        """Each stem's spellings with how often they occurred."""
        if self._spellings is None:
            tally: dict[str, Counter[str]] = defaultdict(Counter)
            for term, kept in self._kept.items():
                tally[term].update(kept)
            for text, (terms, words) in self._seen.items():
                n = self._calls[text]
                for term, word in zip(terms, words, strict=True):
                    tally[term][word] += n
            self._spellings = tally
        return self._spellings

    def done(self) -> None:
        """Keep the spellings, drop the per-text memo (the model is cached with the analyzer)."""
        self._kept = dict(self.spellings)
        self._seen, self._calls = {}, Counter()

    def spell(self, term: str) -> str:
        """The commonest spelling of a stem."""
        return self.spellings[term].most_common(1)[0][0] if term in self.spellings else term


def scrub(text: str | None) -> str:
    """Replace e-mail addresses, phone numbers and written-out names with placeholders.

    Phone numbers are runs of 9–15 digits with spaces, dots, dashes or brackets (an ISO date
    is not one); names are recognised in the forms "Name: …", "my name is …", a sign-off such
    as "Regards, …" and a greeting "Hi …,".

    >>> scrub("Regards, Jane Doe")
    'Regards, [name]'
    >>> scrub("call +44 20 7946 0958 or mail jane.doe@example.com on 2026-01-15")
    'call [phone] or mail [email] on 2026-01-15'
    """
    if not text:
        return ""
    # Cheap substring checks first: the regexes dominate the cost on 200k texts.
    out = EMAIL.sub("[email]", text) if "@" in text else text
    out = PHONE.sub(_phone, out)
    low = out.lower()
    for words, form in NAME_FORMS:
        if any(w in low for w in words):
            out = form.sub(r"\1[name]", out)
    return out


def _phone(match: re.Match[str]) -> str:
    s = match.group(0)
    digits = sum(ch.isdigit() for ch in s)
    if ISO_DATE.match(s) or not 9 <= digits <= 15:
        return s
    return "[phone]"


@dataclass(frozen=True)
class ThemeModel:
    """Fitted themes (one row each: theme, name, top_terms, documents, share) and the documents
    with their scrubbed text, dominant ``theme`` (null when no term matched) and its ``weight``."""

    themes: pl.DataFrame
    documents: pl.DataFrame
    vectorizer: object
    nmf: object


def fit_themes(frame: pl.DataFrame, text_col: str = "text", n_themes: int = 8, *, top_n: int = 8,
               seed: int = 0, min_df: int | float = 2, max_df: float = 0.8,
               max_features: int = 20_000) -> ThemeModel:
    """Scrub, vectorise (TF-IDF of stemmed words) and factorise (NMF) a corpus.

    Each theme is named by its three top terms. Empty texts are kept in ``documents`` with a
    null theme; too few texts, or too small a vocabulary, raise a ValueError saying so.
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    if text_col not in frame.columns:
        raise ValueError(f"column {text_col!r} is missing (columns: {', '.join(frame.columns)})")
    if n_themes < 2:
        raise ValueError(f"n_themes must be at least 2, got {n_themes}")
    # Scrubbed once per distinct text: tickets repeat (a demo year has ~4k distinct texts in 200k).
    scrubbed: dict[str | None, str] = {}
    texts = [scrubbed[t] if t in scrubbed else scrubbed.setdefault(t, scrub(t))
             for t in frame[text_col].to_list()]
    present = [i for i, t in enumerate(texts) if t.strip()]
    need = max(2 * n_themes, 10)
    if len(present) < need:
        raise ValueError(f"{text_col}: need at least {need} non-empty texts to find {n_themes} themes, "
                         f"got {len(present)}")
    terms_of = _Terms(frozenset(ENGLISH_STOP_WORDS | BOILERPLATE))
    # Single stemmed words: on short tickets, word pairs make each sentence template its own topic.
    vectorizer = TfidfVectorizer(analyzer=terms_of, min_df=min_df, max_df=max_df,
                                 max_features=max_features, sublinear_tf=True, dtype=np.float32)
    try:
        x = vectorizer.fit_transform([texts[i] for i in present])
    except ValueError:
        x = None  # every term was pruned: reported below with the counts
    vocab = 0 if x is None else x.shape[1]
    if vocab < n_themes:
        raise ValueError(f"{text_col}: only {vocab} distinct terms remain after stop words and "
                         f"min_df={min_df}/max_df={max_df}; need at least {n_themes} for {n_themes} themes")
    # Fitted once per distinct text (equal texts give equal rows): see nmf_dedup.
    w, nmf = fit_nmf(x, [texts[i] for i in present], n_themes, seed=seed)
    terms = np.asarray(vectorizer.get_feature_names_out())
    top = [[terms_of.spell(t) for t in terms[np.argsort(row)[::-1][:top_n]]] for row in nmf.components_]
    terms_of.done()
    theme = np.full(len(texts), -1)
    weight = np.zeros(len(texts))
    has = w.max(axis=1) > 0
    theme[np.asarray(present)[has]] = w[has].argmax(axis=1)
    weight[present] = w.max(axis=1)
    docs = frame.with_columns(pl.Series(text_col, texts),
                              theme=pl.Series([int(t) if t >= 0 else None for t in theme], dtype=pl.Int64),
                              weight=pl.Series(weight))
    counts = docs.group_by("theme").len()
    themes = (pl.DataFrame({"theme": range(n_themes), "name": [" / ".join(t[:3]) for t in top],
                            "top_terms": top}, schema_overrides={"theme": pl.Int64})
              .join(counts, on="theme", how="left")
              .with_columns(documents=pl.col("len").fill_null(0).cast(pl.Int64)).drop("len")
              .with_columns(share=pl.col("documents") / len(present)))
    return ThemeModel(themes, docs, vectorizer, nmf)


def theme_volume(model: ThemeModel, time_col: str = "opened_at", every: str = "week",
                 tz: str = "UTC") -> pl.DataFrame:
    """Documents per theme per period: period, theme, name, documents, share of the period.

    A period without any document is a gap (documents and share null); within a period a
    theme with no document counts 0.
    """
    docs = model.documents
    if time_col not in docs.columns:
        raise ValueError(f"column {time_col!r} is missing (columns: {', '.join(docs.columns)})")
    if every not in EVERY:
        raise ValueError(f"every must be one of {tuple(EVERY)}, got {every!r}")
    dated = docs.filter(pl.col(time_col).is_not_null()).with_columns(
        period=local_time(time_col, tz).dt.date().dt.truncate(EVERY[every]))
    if dated.height == 0:
        raise ValueError(f"{time_col}: no dated documents")
    lo, hi = dated["period"].min(), dated["period"].max()
    grid = pl.DataFrame({"period": pl.date_range(lo, hi, "1d", eager=True)}).select(
        pl.col("period").dt.truncate(EVERY[every]).unique().sort())
    totals = dated.group_by("period").agg(total=pl.len())
    counts = dated.filter(pl.col("theme").is_not_null()).group_by("period", "theme").agg(documents=pl.len())
    return (grid.join(model.themes.select("theme", "name"), how="cross")
            .join(totals, on="period", how="left").join(counts, on=["period", "theme"], how="left")
            .with_columns(documents=pl.when(pl.col("total").is_not_null())
                          .then(pl.col("documents").fill_null(0)).cast(pl.Int64))
            .with_columns(share=pl.col("documents") / pl.col("total"))
            .drop("total").sort("period", "theme"))


def theme_severity(model: ThemeModel, weights: dict[str, dict[str, float]] | None = None,
                   ) -> pl.DataFrame:
    """Per theme: documents, impact-weighted volume and mean weight, heaviest first.

    A ticket weighs its user role × transaction criticality, with the same editable weights as the
    release-impact score (``analytics/studies/impact_weights.toml``), so a theme raised by
    executives about critical transactions ranks above one of the same size from end users.
    """
    from analytics.studies.release_panel import load_weights, ticket_weight

    docs = model.documents
    missing = [c for c in ("user_role", "transaction_criticality") if c not in docs.columns]
    if missing:
        raise ValueError(f"columns {missing} are missing: severity needs the tickets' user role and "
                         f"transaction criticality")
    weighted = (docs.filter(pl.col("theme").is_not_null())
                .with_columns(w=ticket_weight(weights or load_weights()))
                .group_by("theme").agg(weighted=pl.col("w").sum(), mean_weight=pl.col("w").mean()))
    return (model.themes.select("theme", "name", "documents").join(weighted, on="theme", how="left")
            .with_columns(pl.col("weighted", "mean_weight").fill_null(0.0))
            .sort("weighted", descending=True))


def rising_themes(model: ThemeModel, release_at: datetime, time_col: str = "opened_at", *,
                  window: timedelta = timedelta(days=7), service: str | None = None,
                  alpha: float = 0.05) -> pl.DataFrame:
    """Themes whose share of documents rose in [release, release + window) vs the window before.

    ``service`` keeps only that service's documents (the released one). One-sided Fisher exact
    test per theme (after share > before share), Benjamini–Hochberg across themes; ``rising``
    when q < alpha. Columns: theme, name, before, after, before_share, after_share, ratio,
    p_value, q_value, rising.
    """
    docs = model.documents
    for col in (time_col, *(["service"] if service is not None else [])):
        if col not in docs.columns:
            raise ValueError(f"column {col!r} is missing (columns: {', '.join(docs.columns)})")
    if service is not None:
        docs = docs.filter(pl.col("service") == service)
    ts = pl.col(time_col)
    before = docs.filter(ts.is_between(release_at - window, release_at, closed="left"))
    after = docs.filter(ts.is_between(release_at, release_at + window, closed="left"))
    for name, part in (("before", before), ("after", after)):
        if part.height == 0:
            raise ValueError(f"{time_col}: no documents in the {window / timedelta(days=1):g} days "
                             f"{name} the release at {release_at}")
    nb, na = before.height, after.height
    rows = []
    for theme, label in model.themes.select("theme", "name").iter_rows():
        kb = before.filter(pl.col("theme") == theme).height
        ka = after.filter(pl.col("theme") == theme).height
        p = stats.fisher_exact([[ka, na - ka], [kb, nb - kb]], alternative="greater").pvalue
        rows.append({"theme": theme, "name": label, "before": kb, "after": ka, "before_share": kb / nb,
                     "after_share": ka / na, "ratio": (ka / na) / (kb / nb) if kb else None, "p_value": float(p)})
    out = pl.DataFrame(rows, schema_overrides={"ratio": pl.Float64})
    return (out.with_columns(q_value=pl.Series(benjamini_hochberg(out["p_value"].to_list())))
            .with_columns(rising=(pl.col("q_value") < alpha) & (pl.col("after_share") > pl.col("before_share")))
            .sort("p_value"))
