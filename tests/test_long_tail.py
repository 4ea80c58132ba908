"""Issue 24: a long-tailed category keeps its tail's share and dependence without writing a real rare value.

The table: five frequent job titles (600 rows each) and 2,000 titles seen once, built from words every title
shares; income is higher in the tail's rows than in the frequent titles' rows."""
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from lookalike import Synthesizer
from lookalike.encoding import tail
from lookalike.encoding.categorical import CategoricalCodec
from lookalike.errors import LookalikeError
from lookalike.schema.columns import TableSchema

ADJ = ("Senior Junior Lead Principal Chief Assistant Associate Deputy Regional Global Acting Interim Staff Head "
       "Executive Field Remote Night Floor Master").split()
FIELD = ("Data Sales Marketing Software Finance Network Quality Safety Payroll Logistics Research Design Legal "
         "Product Security Support Training Audit Facilities Procurement").split()
ROLE = ("Engineer Analyst Manager Officer Coordinator Specialist Consultant Architect Planner Technician Advisor "
        "Director Supervisor Administrator Scientist").split()
PLACE = "Operations Europe Asia Retail Wholesale Claims Imaging Cloud Payments Lending Mobile Ventures".split()
FREQUENT = ["Teacher", "Nurse", "Driver", "Cashier", "Cook"]
TAIL_SHARE = 0.4


def long_tail_table(seed=0, n_rare=2000):
    rng = np.random.default_rng(seed)
    rare: list[str] = []
    seen: set[str] = set()
    while len(rare) < n_rare:
        title = f"{rng.choice(ADJ)} {rng.choice(FIELD)} {rng.choice(ROLE)} of {rng.choice(PLACE)}"
        if title not in seen:
            seen.add(title)
            rare.append(title)
    titles = list(np.repeat(FREQUENT, 600)) + rare
    in_tail = np.r_[np.zeros(3000, bool), np.ones(n_rare, bool)]
    income = np.where(in_tail, rng.normal(90, 12, len(titles)), rng.normal(50, 10, len(titles))).round(1)
    df = pd.DataFrame({"title": titles, "income": income, "region": rng.choice(["north", "south", "east"], len(titles))})
    return df.sample(frac=1, random_state=seed).reset_index(drop=True), rare


@pytest.fixture(scope="module")
def data():
    return long_tail_table()


@pytest.fixture(scope="module")
def copulas(data):
    df, _ = data
    return {rare: Synthesizer(model="copula", seed=0, rare=rare).fit(df) for rare in ("generate", "placeholder", "drop")}


@pytest.fixture(scope="module")
def argn(data):
    return Synthesizer(model="argn", seed=0, max_epochs=10).fit(data[0])


def tail_rows(out):
    return ~out["title"].isin(FREQUENT)


@pytest.mark.parametrize("rare", ["generate", "placeholder"])
def test_the_tail_keeps_its_share(copulas, rare):
    out = copulas[rare].sample(20_000, seed=1)
    assert abs(tail_rows(out).mean() - TAIL_SHARE) < 0.02
    if rare == "placeholder":
        assert set(out["title"][tail_rows(out)]) == {"(other)"}
    else:
        assert out["title"][tail_rows(out)].nunique() > 500  # varied values, not one token


def test_drop_keeps_todays_behaviour(copulas):
    out = copulas["drop"].sample(20_000, seed=1)
    assert tail_rows(out).sum() == 0  # every tail row became a frequent title
    assert out["title"].value_counts(normalize=True).max() > 1.3 * (1 - TAIL_SHARE) / 5


def test_no_real_value_in_100k_rows_of_a_copula(copulas, data):
    _, rare = data
    out = copulas["generate"].sample(100_000, seed=2)
    titles = set(out["title"])
    assert not titles & set(rare)
    assert not {tail.normal_form(t) for t in titles} & {tail.normal_form(t) for t in rare}
    new = out["title"][tail_rows(out)]
    assert new.str.match(r"^\w+ \w+ \w+ of \w+$").mean() > 0.95  # they look like the column's values


def test_argn_learns_the_tail_jointly_and_writes_no_real_value(argn, data):
    df, rare = data
    out = argn.sample(20_000, seed=3)
    assert not set(out["title"]) & set(rare)
    assert abs(tail_rows(out).mean() - TAIL_SHARE) < 0.02
    # the tail's income, binned by the deciles of the real income (DESIGN.md's binning of numbers)
    edges = np.quantile(df["income"], np.linspace(0, 1, 11)[1:-1])

    def freq(x):
        return np.bincount(np.searchsorted(edges, x, side="right"), minlength=10) / len(x)

    real, synth = df["income"][tail_rows(df)], out["income"][tail_rows(out)]
    assert 0.5 * np.abs(freq(real) - freq(synth)).sum() < 0.05


def test_the_model_file_holds_no_real_rare_value(copulas, data, tmp_path):
    _, rare = data
    for mode, syn in copulas.items():
        path = syn.save(tmp_path / f"{mode}.lookalike")
        with zipfile.ZipFile(path) as zf:
            blob = b"".join(zf.read(name) for name in zf.namelist())
        text = blob.decode("utf-8", "replace").casefold()
        assert not [t for t in rare if t.casefold() in text], mode
        loaded = Synthesizer.load(path)
        pd.testing.assert_frame_equal(loaded.sample(500, seed=4), syn.sample(500, seed=4))


# -- the codec and its pool --------------------------------------------------------------------------------
def test_the_pool_depends_on_the_data_and_seed_but_is_reproducible(data):
    df, _ = data
    a = CategoricalCodec(k=5, rare="generate").fit(df["title"])
    assert a.rare_mode_ == "generate" and len(a.pool_) >= tail.MIN_POOL
    assert a.pool_ == CategoricalCodec(k=5, rare="generate").fit(df["title"]).pool_
    assert a.pool_ != CategoricalCodec(k=5, rare="generate", seed=1).fit(df["title"]).pool_
    other = df["title"].copy()
    other.iloc[0] = "Teacher" if other.iloc[0] != "Teacher" else "Nurse"  # one row differs
    assert a.pool_ != CategoricalCodec(k=5, rare="generate").fit(other).pool_
    assert a.pool_ == sorted(a.pool_)  # stored sorted: the draw order is not kept


def test_candidates_that_are_real_in_any_spelling_or_too_likely_never_enter_the_pool():
    class Fixed:  # a generator with a few very likely values and many unlikely ones
        def __init__(self):
            self.i = 0

        def draw(self, rng):
            self.i += 1
            if self.i % 2:
                return ["Alpha Beta", "Gamma Delta"][self.i % 4 // 2], 0.25
            return f"Value {int(rng.integers(10**9))}", 1e-9

    real = {tail.normal_form(v) for v in ["alpha  BETA", "Value 5"]}
    pool = tail.build_pool(Fixed(), real, seed=0, draws=2000)
    assert "Alpha Beta" not in pool and "Gamma Delta" not in pool  # real, and too likely (p > EPSILON / draws)
    assert len(pool) > 900 and all(p.startswith("Value ") for p in pool)


def test_a_tail_without_shared_words_becomes_the_placeholder_or_is_dropped_when_small():
    rng = np.random.default_rng(1)
    ids = [f"{w}{i}" for i, w in enumerate(rng.choice(["qx", "zv", "kw"], 400))]  # no word seen in k rows
    big = pd.Series(["red"] * 600 + ["blue"] * 400 + [f"hue {x}" for x in ids] * 1, dtype=object)
    codec = CategoricalCodec(k=5, rare="generate").fit(big)
    assert codec.rare_mode_ == "placeholder" and codec.blocked_tokens == []
    small = pd.Series(["red"] * 600 + ["blue"] * 400 + ["teal", "plum"], dtype=object)
    codec = CategoricalCodec(k=5, rare="generate").fit(small)
    assert codec.rare_mode_ == "drop" and codec.blocked_tokens == [codec.rare_token]


def test_placeholder_is_named_in_the_schema_and_may_not_be_a_real_value(data):
    df, _ = data
    schema = Synthesizer(model="copula").fit(df.head(200)).schema_.to_dict()
    schema["columns"][0].update(rare="placeholder", placeholder="(another title)")
    out = Synthesizer(model="copula", schema=schema).fit(df).sample(2000, seed=0)
    assert set(out["title"][tail_rows(out)]) == {"(another title)"}
    with pytest.raises(LookalikeError, match="placeholder 'Nurse' is one of the column's real values"):
        CategoricalCodec(k=5, rare="placeholder", placeholder="Nurse").fit(df["title"])
    schema["columns"][0]["rare"] = "sometimes"
    with pytest.raises(LookalikeError, match="rare must be one of generate, placeholder, drop"):
        TableSchema.from_dict(schema)
    with pytest.raises(LookalikeError, match="rare must be one of"):
        Synthesizer(rare="hide")


def test_the_rare_parameter_is_a_plain_estimator_parameter(copulas):
    from sklearn.base import clone

    syn = copulas["placeholder"]
    assert syn.get_params()["rare"] == "placeholder" and clone(syn).rare == "placeholder"
    assert syn.schema_.value_protection["rare"] == "placeholder"
    assert json.loads(json.dumps(syn.encoder_.get_state()[0]))["codecs"]["title"]["rare_mode"] == "placeholder"


def test_the_report_counts_the_tail_as_one_bin_and_says_so(copulas, data):
    from lookalike.evaluate import evaluate

    df, _ = data
    holdout, _ = long_tail_table(seed=5)  # fresh rows: its own titles seen once
    scores = {}
    for mode in ("generate", "drop"):
        report = evaluate(df[["title"]], copulas[mode].sample(len(df), seed=6)[["title"]],
                          holdout=holdout[["title"]], schema=copulas[mode].schema_)
        uni = report.details["univariate"]["title"]
        assert uni["labels"][-2:] == ["(rare or new)", "(missing)"]
        assert uni["real"][-2] == pytest.approx(TAIL_SHARE)  # 2,000 titles seen once: one bin
        scores[mode] = (uni["accuracy"], uni["accuracy_holdout"], report.details["coverage"]["title"]["coverage"])
    accuracy, ceiling, cover = scores["generate"]
    assert abs(accuracy - ceiling) < 0.02 and cover == 1.0
    assert scores["drop"][0] < 0.7 and scores["drop"][2] < 1.0  # the tail's share went to frequent titles
    html = report.to_html()
    assert "count as one" in html and "rare or new" in html


def test_the_command_line_takes_rare(data, tmp_path):
    from lookalike.cli import main

    df, rare = data
    df.to_csv(tmp_path / "jobs.csv", index=False)
    assert main(["synth", str(tmp_path / "jobs.csv"), "-o", str(tmp_path / "out.csv"), "--model", "copula",
                 "--rare", "placeholder", "-n", "3000"]) == 0
    out = pd.read_csv(tmp_path / "out.csv")
    assert abs((out["title"] == "(other)").mean() - TAIL_SHARE) < 0.04
    assert main(["fit", str(tmp_path / "jobs.csv"), "-o", str(tmp_path / "m.lookalike"), "--model", "copula"]) == 0
    assert main(["sample", str(tmp_path / "m.lookalike"), "-o", str(tmp_path / "gen.csv"), "-n", "3000"]) == 0
    gen = pd.read_csv(tmp_path / "gen.csv")["title"]
    assert abs(tail_rows(gen.to_frame()).mean() - TAIL_SHARE) < 0.04 and not set(gen) & set(rare)
    assert main(["fit", str(tmp_path / "jobs.csv"), "-o", str(tmp_path / "x.lookalike"), "--rare", "hide"]) != 0
