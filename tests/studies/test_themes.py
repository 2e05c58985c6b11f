"""Voice-of-customer themes: scrubbing table, planted themes recovered, volumes and rises checked independently."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from analytics.studies.themes import fit_themes, rising_themes, scrub, theme_volume


@pytest.mark.parametrize(("text", "expected"), [
    ("Name: Jane Doe\nThe export fails", "Name: [name]\nThe export fails"),
    ("name = Seán O'Neil", "name = [name]"),
    ("Hello, my name is Jean-Luc Picard and the app crashed", "Hello, my name is [name] and the app crashed"),
    ("my name is wrong on the invoice", "my name is wrong on the invoice"),
    ("Kind regards,\nJane Doe", "Kind regards,\n[name]"),
    ("Thanks, Ian McKay.", "Thanks, [name]."),
    ("form broken. Regards, Anna de Vries", "form broken. Regards, [name]"),
    ("Kind regards, Jan van der Berg\nSent from my phone", "Kind regards, [name]\nSent from my phone"),
    ("Thanks, the app crashed", "Thanks, the app crashed"),
    ("Regards, API Team", "Regards, API Team"),
    ("Hi Anna, your refund is on its way", "Hi [name], your refund is on its way"),
    ("write to jane.doe+vip@mail.example.co.uk today", "write to [email] today"),
    ("call +44 20 7946 0958.", "call [phone]."),
    ("phone (555) 123-4567 please", "phone [phone] please"),
    ("failed at 2026-01-15 10:30 again", "failed at 2026-01-15 10:30 again"),
    ("ticket 12345 took 3.5 hours", "ticket 12345 took 3.5 hours"),
    ("", ""),
    (None, ""),
])
def test_scrub_table(text: str | None, expected: str) -> None:
    assert scrub(text) == expected


VOCAB = {
    "login": "login password reset locked account sso authentication expired".split(),
    "billing": "invoice charged twice refund payment card subscription price".split(),
    "export": "export csv report download spreadsheet columns missing slow".split(),
    "mobile": "mobile app crash android iphone notification battery screen".split(),
}
FILLER = "the a is not my we it when again today".split()
START = datetime(2026, 1, 5)  # a Monday


def _corpus(n: int, seed: int = 0, weeks: int = 4, boost: str | None = None) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.choice(sorted(VOCAB), n)
    hours = rng.integers(0, 24 * 7 * weeks, n)
    if boost:  # from week 3 on, half the tickets are about `boost`
        late = hours >= 24 * 7 * (weeks - 2)
        truth = np.where(late & (rng.random(n) < 0.5), boost, truth)
    texts = []
    for t in truth:
        words = [*rng.choice(VOCAB[t], 5), *rng.choice(FILLER, 4)]
        rng.shuffle(words)
        texts.append(f"Hi Anna, {' '.join(words)}. Name: Jane Doe, jane@example.com, +1 415 555 0100. "
                     f"Thanks for contacting support. Kind regards, Sam Taylor")
    return pl.DataFrame({"text": texts, "truth": truth,
                         "opened_at": [START + timedelta(hours=int(h)) for h in hours]})


def test_planted_themes_come_back_distinct_and_named_by_their_terms() -> None:
    model = fit_themes(_corpus(320), n_themes=4)
    docs = model.documents
    mapping = {}
    for truth, part in docs.group_by("truth"):
        top, count = Counter(part["theme"].to_list()).most_common(1)[0]
        assert count / part.height >= 0.95
        mapping[truth[0]] = top
    assert len(set(mapping.values())) == 4  # one found theme per planted theme
    for truth, theme in mapping.items():
        terms = model.themes.filter(pl.col("theme") == theme)["top_terms"][0][:3]
        assert all(any(w in VOCAB[truth] for w in term.split()) for term in terms)
    assert model.themes["documents"].sum() == 320
    assert model.themes["share"].sum() == pytest.approx(1.0)


def test_personal_data_and_boilerplate_never_reach_the_vocabulary() -> None:
    model = fit_themes(_corpus(200), n_themes=4)
    vocab = set(model.vectorizer.get_feature_names_out())
    for word in ("jane", "doe", "anna", "sam", "taylor", "example", "email", "phone", "name",
                 "contacting", "support", "thanks", "regards"):
        assert not any(word in term.split() for term in vocab), word
    assert "jane@example.com" not in model.documents["text"][0]
    assert "[email]" in model.documents["text"][0] and "[phone]" in model.documents["text"][0]


def test_fit_is_deterministic_and_empty_texts_get_no_theme() -> None:
    corpus = _corpus(120, seed=3).with_columns(
        text=pl.when(pl.int_range(pl.len()) < 3).then(pl.lit("")).otherwise(pl.col("text")))
    a, b = fit_themes(corpus, n_themes=4), fit_themes(corpus, n_themes=4)
    assert a.themes.equals(b.themes) and a.documents["theme"].equals(b.documents["theme"])
    assert a.documents["theme"].head(3).to_list() == [None, None, None]
    assert a.themes["share"].sum() == pytest.approx(1.0)  # shares of the 117 non-empty texts


@pytest.mark.parametrize(("frame", "kwargs", "message"), [
    (pl.DataFrame({"text": []}, schema={"text": pl.String}), {}, "need at least 16 non-empty texts to find 8 themes, got 0"),
    (pl.DataFrame({"text": ["printer jam"] * 9 + [""] * 20}), {"n_themes": 3}, "need at least 10 non-empty texts"),
    (pl.DataFrame({"text": ["the printer jams"] * 30}), {"n_themes": 3}, "only 0 distinct terms remain after stop words and min_df=2/max_df=0.8"),
    (pl.DataFrame({"body": ["x"]}), {}, "column 'text' is missing"),
    (pl.DataFrame({"text": ["x"]}), {"n_themes": 1}, "n_themes must be at least 2"),
])
def test_short_or_bad_corpus_has_a_clear_message(frame: pl.DataFrame, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit_themes(frame, **kwargs)


def test_theme_volume_counts_by_week_with_gaps() -> None:
    corpus = _corpus(160, seed=1, weeks=2)
    # Move the second week two weeks later: the weeks in between have no ticket at all.
    corpus = corpus.with_columns(pl.when(pl.col("opened_at") >= START + timedelta(weeks=1))
                                 .then(pl.col("opened_at") + timedelta(weeks=2)).otherwise(pl.col("opened_at")))
    model = fit_themes(corpus, n_themes=4)
    vol = theme_volume(model)
    assert vol["period"].unique().sort().to_list() == [date(2026, 1, 5) + timedelta(weeks=i) for i in range(4)]
    gaps = vol.filter(pl.col("period").is_in([date(2026, 1, 12), date(2026, 1, 19)]))
    assert gaps["documents"].null_count() == gaps.height == 8
    expected = Counter((START.date() + timedelta(weeks=(t - START).days // 7), th)
                       for t, th in zip(model.documents["opened_at"], model.documents["theme"], strict=True))
    for row in vol.drop_nulls("documents").iter_rows(named=True):
        assert row["documents"] == expected.get((row["period"], row["theme"]), 0)
    week1 = vol.filter(pl.col("period") == date(2026, 1, 5))
    assert week1["share"].sum() == pytest.approx(1.0)


def test_rising_theme_after_release_matches_fisher_and_bh() -> None:
    model = fit_themes(_corpus(600, seed=2, boost="billing"), n_themes=4)
    release = START + timedelta(weeks=2)
    out = rising_themes(model, release, window=timedelta(weeks=2))
    billing = model.documents.filter(pl.col("truth") == "billing")["theme"].mode()[0]
    assert out.filter(pl.col("rising"))["theme"].to_list() == [billing]
    docs = model.documents
    before = docs.filter(pl.col("opened_at") < release)
    after = docs.filter(pl.col("opened_at") >= release)
    for row in out.iter_rows(named=True):
        kb = before.filter(pl.col("theme") == row["theme"]).height
        ka = after.filter(pl.col("theme") == row["theme"]).height
        assert (row["before"], row["after"]) == (kb, ka)
        p = stats.fisher_exact([[ka, after.height - ka], [kb, before.height - kb]], alternative="greater").pvalue
        assert row["p_value"] == pytest.approx(p)
    assert out["q_value"].to_list() == pytest.approx(list(multipletests(out["p_value"].to_list(), method="fdr_bh")[1]))
    with pytest.raises(ValueError, match="opened_at: no documents in the 7 days after the release"):
        rising_themes(model, START + timedelta(weeks=4))
    with pytest.raises(ValueError, match="no documents in the 0.5 days before the release"):
        rising_themes(model, START - timedelta(days=1), window=timedelta(hours=12))


def test_rising_themes_for_one_service() -> None:
    corpus = pl.concat([_corpus(300, seed=4, boost="export").with_columns(service=pl.lit("api")),
                        _corpus(300, seed=5).with_columns(service=pl.lit("web"))])
    model = fit_themes(corpus, n_themes=4)
    export = model.documents.filter(pl.col("truth") == "export")["theme"].mode()[0]
    release = START + timedelta(weeks=2)
    api = rising_themes(model, release, window=timedelta(weeks=2), service="api")
    assert api["before"].sum() + api["after"].sum() == model.documents.filter(
        pl.col("service") == "api", pl.col("theme").is_not_null()).height
    assert api.filter(pl.col("rising"))["theme"].to_list() == [export]
    assert not rising_themes(model, release, window=timedelta(weeks=2), service="web")["rising"].any()
    with pytest.raises(ValueError, match="column 'service' is missing"):
        rising_themes(fit_themes(_corpus(100), n_themes=4), release, service="api")


def test_theme_severity_weights_by_role_and_criticality():
    """Weighted volume = Σ role weight × criticality weight, by hand with the default weights."""
    from analytics.studies.themes import ThemeModel, theme_severity

    themes = pl.DataFrame({"theme": [0, 1], "name": ["login", "payment"], "documents": [2, 1]})
    docs = pl.DataFrame({"theme": [0, 0, 1, None],
                         "user_role": ["end_user", "executive", "admin", "admin"],
                         "transaction_criticality": ["low", "critical", "unknown", "high"]})
    out = theme_severity(ThemeModel(themes, docs, None, None))
    # login: 1.0×1.0 + 3.0×8.0 = 25; payment: 2.0 × 1 (an unlisted criticality weighs 1) = 2
    assert out.select("name", "weighted", "mean_weight").rows() == [("login", 25.0, 12.5),
                                                                    ("payment", 2.0, 2.0)]
    with pytest.raises(ValueError, match="user role"):
        theme_severity(ThemeModel(themes, docs.drop("user_role"), None, None))


def test_terms_memo_matches_tallying_every_call():
    """The analyzer tokenises each distinct text once; its terms and the spelling that names each
    stem equal a plain per-call tally (ties broken by first occurrence), also after ``done``."""
    from analytics.studies.themes import TOKEN, _Terms, stem

    rng = np.random.default_rng(3)
    words = ["released", "release", "releases", "slowly", "slow", "replies", "reply", "payment",
             "payments", "the", "notifications", "notification"]
    pool = [" ".join(rng.choice(words, size=rng.integers(1, 7))) for _ in range(40)]
    calls = [pool[i] for i in rng.integers(0, len(pool), size=600)]
    terms = _Terms(frozenset({"the"}))
    plain: dict[str, Counter[str]] = {}
    for text in calls:
        expected = []
        for w in TOKEN.findall(text.lower()):
            if w != "the":
                plain.setdefault(stem(w), Counter())[w] += 1
                expected.append(stem(w))
        assert terms(text) == expected
    for term, spellings in plain.items():
        assert terms.spell(term) == spellings.most_common(1)[0][0]
        assert terms.spellings[term] == spellings
    terms.done()
    assert {t: terms.spell(t) for t in plain} == {t: c.most_common(1)[0][0] for t, c in plain.items()}
