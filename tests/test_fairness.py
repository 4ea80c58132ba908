"""Fair synthesis (issue 21): parity across sensitive groups on the shipped anes96 table, errors for bad input,
the CLI's --fair and the report's before/after section."""
from __future__ import annotations

from importlib.resources import files

import numpy as np
import pandas as pd
import pytest

from lookalike import Synthesizer
from lookalike.cli import main
from lookalike.errors import LookalikeError
from lookalike.fairness import draw_with_shares

FAIR = {"target": "vote", "sensitive": ["education"]}
FAST = {"n_threads": 1}


@pytest.fixture(scope="module")
def anes() -> pd.DataFrame:
    return pd.read_csv(files("lookalike") / "data" / "anes96.csv")


@pytest.fixture(scope="module")
def fitted(anes) -> Synthesizer:
    return Synthesizer(model="argn", seed=1, max_epochs=4, fairness=FAIR, model_params=FAST).fit(anes)


def shares(frame: pd.DataFrame, target: str, positive, group: str, min_rows: int = 20) -> pd.Series:
    counts = frame[group].value_counts()
    kept = frame[frame[group].isin(counts.index[counts >= min_rows])]
    return kept.groupby(group)[target].apply(lambda s: (s == positive).mean())


def test_fair_target_has_parity_across_groups_and_nothing_else_changes(anes, fitted):
    real = shares(anes, "vote", "Dole", "education")
    assert real.max() - real.min() > 0.15  # the real table has the dependence to remove
    fair = fitted.sample(3000, seed=5)
    plain = fitted.sample(3000, seed=5, fair=False)
    rates = shares(fair, "vote", "Dole", "education")
    sizes = fair["education"].value_counts()
    overall = (fair["vote"] == "Dole").mean()
    for group, rate in rates.items():  # exact counts per group: off by less than one row
        assert abs(rate - overall) <= 1 / sizes[group] + 1e-9, group
    plain_rates = shares(plain, "vote", "Dole", "education")
    assert plain_rates.max() - plain_rates.min() > 3 * (rates.max() - rates.min())
    others = [c for c in anes.columns if c != "vote"]
    pd.testing.assert_frame_equal(fair[others], plain[others])  # only the target is redrawn
    assert abs(overall - (anes["vote"] == "Dole").mean()) < 0.06  # the overall share stays the real one


def test_fair_sampling_is_reproducible_and_survives_save_and_load(fitted, tmp_path):
    a = fitted.sample(500, seed=3)
    pd.testing.assert_frame_equal(a, fitted.sample(500, seed=3))
    path = fitted.save(tmp_path / "fair.lookalike")
    loaded = Synthesizer.load(path)
    assert loaded.get_params()["fairness"] == FAIR
    pd.testing.assert_frame_equal(a, loaded.sample(500, seed=3))


def test_parity_holds_when_a_group_is_fixed_by_conditions(anes, fitted):
    """The fair share is the pooled one, learnt once from the generator: a batch of one group gets it too."""
    overall = fitted.fairness_.shares_[fitted.encoder_.label_tokens("vote", ["Dole"])[0]]
    for group in ("High school graduate", "College degree"):
        out = fitted.sample(800, seed=2, conditions={"education": group})
        assert abs((out["vote"] == "Dole").mean() - overall) <= 1 / 800 + 1e-9


def test_numeric_target_has_parity_by_quantile_classes(anes):
    syn = Synthesizer(model="argn", seed=2, max_epochs=3, model_params=FAST,
                      fairness={"target": "population_k", "sensitive": "vote", "bins": 4}).fit(anes)
    out = syn.sample(2000, seed=1)
    fair = syn.fairness_
    classes = fair.class_of_token_[syn.encoder_.encode_column("population_k", out)[:, 0]]
    assert fair.n_classes_ == 4
    table = pd.crosstab(out["vote"], classes, normalize="index")
    # exact at the token level; read back from the written numbers, a few values snapped to their rounding unit
    # land in the next class, hence the 0.01 rather than one row
    assert (table.max() - table.min()).max() <= 0.01
    assert out["population_k"].between(*syn.encoder_.value_range("population_k")).all()


def test_draw_with_shares_gives_exact_counts_and_follows_row_probabilities():
    rng = np.random.default_rng(0)
    p = np.column_stack([np.linspace(0.05, 0.95, 400), 1 - np.linspace(0.05, 0.95, 400)])
    hits = np.zeros(400)
    for _ in range(300):
        out = draw_with_shares(p, np.array([0.5, 0.5]), rng)
        assert (out == 0).sum() == 200
        hits += out == 0
    assert np.corrcoef(hits / 300, p[:, 0])[0, 1] > 0.97


def test_draw_with_shares_rounds_every_threshold_to_the_nearest_row():
    """A small group is as close to the overall share above every class boundary as its row count allows."""
    rng = np.random.default_rng(1)
    shares = rng.dirichlet(np.ones(12))
    for m in (20, 23, 37, 101):
        p = rng.dirichlet(np.ones(12), size=m)
        out = draw_with_shares(p, shares, rng)
        below = np.array([(out <= k).sum() for k in range(12)])
        assert np.abs(below - np.cumsum(shares) * m).max() <= 0.5 + 1e-9, m


@pytest.mark.parametrize("fairness, message", [
    ({"target": "vote"}, "needs 'sensitive'"),
    ({"sensitive": ["education"]}, "needs 'target'"),
    ({"target": "vote", "sensitive": ["vote"]}, "also a sensitive column"),
    ({"target": "vote", "sensitive": ["education"], "bins": 1}, "integer >= 2"),
    ({"target": "vote", "sensitive": ["education"], "colour": 1}, "unknown key"),
    ({"target": "vote", "sensitive": ["education"], "mode": "equal-odds"}, "demographic-parity"),
    ("vote:education", "must be a dict"),
])
def test_malformed_fairness_fails_when_the_synthesizer_is_made(fairness, message):
    with pytest.raises(LookalikeError, match=message):
        Synthesizer(fairness=fairness)


def test_fairness_is_refused_for_sequences():
    with pytest.raises(LookalikeError, match="single tables only"):
        Synthesizer(entity="account", fairness=FAIR)


def test_fairness_needs_argn():
    with pytest.raises(LookalikeError, match="needs model='argn'"):
        Synthesizer(model="copula", fairness=FAIR)
    assert Synthesizer(fairness=FAIR)._model_name() == "argn"  # auto picks it


@pytest.mark.parametrize("fairness, message", [
    ({"target": "income", "sensitive": ["education"]}, "target column 'income' is not in the table"),
    ({"target": "vote", "sensitive": ["race"]}, "sensitive column 'race' is not in the table"),
    ({"target": "vote", "sensitive": ["age"]}, "sensitive column 'age' is numeric.*pd.cut"),
])
def test_bad_columns_fail_at_fit_before_training(anes, fairness, message):
    with pytest.raises(LookalikeError, match=message):
        Synthesizer(model="argn", max_epochs=1, fairness=fairness).fit(anes)


def test_a_rare_group_is_protected_and_pooled(anes):
    """A sensitive category seen in fewer than k rows never appears; its rows form the one rare group."""
    df = anes.copy()
    df.loc[:2, "education"] = "Unschooled (3 rows)"
    syn = Synthesizer(model="argn", seed=1, max_epochs=2, fairness=FAIR, model_params=FAST).fit(df)
    out = syn.sample(1000, seed=1)
    assert "Unschooled (3 rows)" not in set(out["education"])


def test_the_target_cannot_also_be_fixed(fitted):
    with pytest.raises(LookalikeError, match="generated fairly"):
        fitted.sample(10, conditions={"vote": "Dole"})
    fitted.sample(10, conditions={"vote": "Dole"}, fair=False)  # without fairness it can


def test_cli_fair_writes_fair_rows_and_a_before_after_report(anes, tmp_path, capsys):
    data = tmp_path / "anes.csv"
    anes.head(400).to_csv(data, index=False)  # fewer rows: the report's privacy attacks dominate the time
    out, report = tmp_path / "fair.csv", tmp_path / "report.html"
    code = main(["synth", str(data), "-o", str(out), "--fair", "vote:education", "--model", "argn",
                 "--max-epochs", "3", "--seed", "1", "--report", str(report), "--target", "vote"])
    assert code == 0, capsys.readouterr().err
    fair = pd.read_csv(out)
    rates = shares(fair, "vote", "Dole", "education")
    sizes = fair["education"].value_counts()
    assert (rates - (fair["vote"] == "Dole").mean()).abs().max() <= 1 / sizes[rates.index].min() + 1e-9
    html = report.read_text()
    assert "Fair synthesis: before and after" in html and "plain synthetic" in html


@pytest.mark.parametrize("args, message", [
    (["--fair", "vote"], "TARGET:SENSITIVE"),
    (["--fair", "vote:nowhere"], "unknown column 'nowhere'"),
    (["--fair", "vote:education", "--model", "copula"], "needs model='argn'"),
])
def test_cli_bad_fair_option_fails_clearly(anes, tmp_path, args, message, capsys):
    data = tmp_path / "anes.csv"
    anes.to_csv(data, index=False)
    code = main(["synth", str(data), "-o", str(tmp_path / "o.csv"), *args])
    assert code != 0
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()


def test_numeric_target_by_default_has_parity_above_any_threshold(anes):
    """Default classes are the codec's value tokens: the share above the median (or any quartile) is equal."""
    syn = Synthesizer(model="argn", seed=2, max_epochs=3, model_params=FAST,
                      fairness={"target": "population_k", "sensitive": "vote"}).fit(anes)
    out = syn.sample(3000, seed=1)
    for q in (0.25, 0.5, 0.75):
        cut = anes["population_k"].quantile(q)
        above = out.groupby("vote")["population_k"].apply(lambda s: (s > cut).mean())
        assert above.max() - above.min() <= 0.015, (q, above.to_dict())


def test_fair_batches_drawn_one_by_one_match_the_whole_sample(fitted):
    """Sharded sampling (--ray) draws batches on their own; fairness must hold there as in sample()."""
    parts = [fitted.sample_batch(i, 700, seed=4, batch_size=300) for i in range(3)]
    batched = pd.concat(list(fitted.sample_batches(700, seed=4, batch_size=300)), ignore_index=True)
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), batched)
    plain = fitted.sample_batch(0, 700, seed=4, batch_size=300, fair=False)
    assert not plain["vote"].equals(parts[0]["vote"])  # fair=False really is the plain sample


def test_ranks_within_groups_give_decisions_with_exact_parity():
    """The benchmark's 'parity's own cost' row: scores ranked within their group decide at equal rates."""
    from lookalike.evaluate.fairness import decision_gaps, within_group_ranks

    rng = np.random.default_rng(3)
    groups = np.array(["a"] * 600 + ["b"] * 400, dtype=object)
    scores = rng.random(1000) + (groups == "a") * 0.5  # group a scores higher: a biased classifier
    truth = rng.random(1000) < scores / 1.5
    assert decision_gaps(scores, truth, groups, 0.3, 0)["parity_gap"] > 0.3
    ranked = within_group_ranks(scores, groups)
    assert decision_gaps(ranked, truth, groups, 0.3, 0)["parity_gap"] <= 1 / 400 + 1e-9
    for g in ("a", "b"):  # each group keeps its own order
        m = groups == g
        assert (np.argsort(ranked[m], kind="stable") == np.argsort(scores[m], kind="stable")).all()
    coarse = np.round(scores, 1)  # few distinct scores: ties are broken at random, parity still holds
    assert decision_gaps(within_group_ranks(coarse, groups), truth, groups, 0.3, 0)["parity_gap"] <= 1 / 400 + 1e-9


def test_generator_rows_rank_uniformly_within_their_group(fitted):
    """group_ranks is the benchmark's check of the generator's rows of a group against the real ones: on the
    generator's own rows every group's mean rank is 0.5."""
    from lookalike.models.constrained import sample_tokens

    fair = fitted.fairness_
    tokens = sample_tokens(fitted.model_, 6000, seed=11)
    u = fair.group_ranks(fitted.model_, tokens)
    assert ((u > 0) & (u < 1)).all()
    keys = fair._keys(tokens)
    for key in fair.groups_reference_:
        assert abs(u[keys == key].mean() - 0.5) < 0.05, key


def test_numeric_sub_columns_come_from_the_pooled_reference_not_the_row():
    """Inside a value token, the position in the bin is drawn as the generator draws it over all rows (so it
    cannot follow the group); a token the reference never drew is redrawn given the row."""
    from lookalike.fairness import FairTarget

    fair = FairTarget.__new__(FairTarget)
    fair.column, fair.group = 0, [0, 1]
    reference = np.array([[0, 5], [0, 6], [1, 7], [0, 5]])  # token 0: sub 5 twice, 6 once; token 1: sub 7
    order = np.argsort(reference[:, 0], kind="stable")
    fair.sub_tokens_ = reference[order][:, 1:]
    fair.sub_start_ = np.searchsorted(reference[order, 0], np.arange(3 + 1))
    part = np.array([[0, -1]] * 3000 + [[1, -1]] * 10 + [[2, -1]] * 5)
    asked = []

    def redraw(ask, seed):
        asked.append(ask.copy())
        return np.column_stack([ask[:, 0], np.full(len(ask), 9)])

    out = fair._fill_sub_tokens(part.copy(), np.random.default_rng(0), redraw)
    zero = out[:3000, 1]
    assert set(zero) == {5, 6} and abs((zero == 5).mean() - 2 / 3) < 0.03
    assert (out[3000:3010, 1] == 7).all()
    assert (out[3010:, 1] == 9).all() and len(asked) == 1 and (asked[0][:, 1] == -1).all()


def test_small_groups_get_reference_rows_of_their_own():
    """A group's ranks are read off its own reference: a small group gets further rows drawn until it has
    GROUP_REFERENCE_ROWS (or MAX_REFERENCE_ROWS are drawn in all), so its ranks are not off by sampling error."""
    from lookalike.fairness import GROUP_REFERENCE_ROWS, MAX_REFERENCE_ROWS, REFERENCE_ROWS, FairTarget

    keys = np.array([0] * 19_000 + [1] * 1_000)  # a 5% group: 20,000 x 10 rows wanted, capped at 200,000
    batches = FairTarget._more_rows(keys)
    assert sum(batches) == MAX_REFERENCE_ROWS - REFERENCE_ROWS and max(batches) <= REFERENCE_ROWS
    assert FairTarget._more_rows(np.array([0] * 12_000 + [1] * 8_000)) == [5_000]  # 8,000 -> 10,000 rows
    assert FairTarget._more_rows(np.array([0] * 10_000 + [1] * 10_000)) == []  # every group has enough
    assert FairTarget._more_rows(np.array([0] * 19_990 + [1] * 10)) == []  # a group too rare to align anyway
    assert GROUP_REFERENCE_ROWS * 20 <= MAX_REFERENCE_ROWS


def test_the_fitted_reference_of_the_smallest_group_is_large(fitted):
    from lookalike.fairness import GROUP_REFERENCE_ROWS, MAX_REFERENCE_ROWS

    fair = fitted.fairness_
    total = sum(fair.reference_group_rows_.values())
    smallest = min(len(r) for r in fair.groups_reference_.values())
    assert smallest >= 0.9 * GROUP_REFERENCE_ROWS or total == MAX_REFERENCE_ROWS
    assert total == MAX_REFERENCE_ROWS  # anes' smallest aligned group (the pooled rare one) is under 5% of rows
    assert smallest > 2_000  # 20,000 rows alone would hold about 270 of it


def test_reweighing_makes_the_outcome_independent_of_the_group_under_the_weights():
    """The benchmark's Kamiran-Calders baseline: weights P(g) P(y) / P(g, y) equalise the weighted outcome
    share across groups, keep the total weight, and give rows without a target weight 0."""
    from lookalike.evaluate.fairness import TargetLabels, reweighing_weights

    rng = np.random.default_rng(5)
    group = np.where(rng.random(1000) < 0.3, "b", "a")
    y = np.where(rng.random(1000) < np.where(group == "a", 0.7, 0.2), "yes", "no").astype(object)
    y[:10] = None
    frame = pd.DataFrame({"g": group, "y": y})
    labels = TargetLabels(frame, "y", "categorical", positive="yes")
    w = reweighing_weights(frame, labels, ["g"])
    known = frame["y"].notna().to_numpy()
    assert (w[~known] == 0).all() and (w[known] > 0).all()
    assert abs(w.sum() - known.sum()) < 1e-6
    pos = (frame["y"] == "yes").to_numpy()
    rates = [np.sum(w[(group == g) & pos]) / np.sum(w[(group == g) & known]) for g in ("a", "b")]
    assert abs(rates[0] - rates[1]) < 1e-9
    assert abs(rates[0] - pos[known].mean()) < 1e-9  # the overall share, as in the data
    raw = [pos[(group == g) & known].mean() for g in ("a", "b")]
    assert raw[0] - raw[1] > 0.3  # the unweighted data had the dependence


def test_ranks_with_ties_kept_decide_by_whole_cells():
    """The benchmark's 'ties kept' reference: rows with the same score get the same rank, so with few distinct
    scores a group's decision rate moves in whole cells and parity holds only up to those steps."""
    from lookalike.evaluate.fairness import decision_gaps, within_group_ranks

    rng = np.random.default_rng(4)
    groups = np.array(["a"] * 500 + ["b"] * 500, dtype=object)
    coarse = np.round(rng.random(1000) + (groups == "a") * 0.3, 1)
    truth = rng.random(1000) < 0.5
    ranked = within_group_ranks(coarse, groups, keep_ties=True)
    for g in ("a", "b"):  # one rank per distinct score in each group
        m = groups == g
        assert len(np.unique(ranked[m])) == len(np.unique(coarse[m]))
    random_ties = decision_gaps(within_group_ranks(coarse, groups), truth, groups, 0.37, 0)["parity_gap"]
    kept = decision_gaps(ranked, truth, groups, 0.37, 0)["parity_gap"]
    assert random_ties <= 1 / 500 + 1e-9 < kept


def test_exactly_fair_outcome_has_parity_and_follows_the_fitted_rule():
    """The benchmark's 'real rows, exactly fair labels': exact per-group shares, and within a group the rows
    the real classifier ranks higher are positive more often."""
    from lookalike.evaluate.fairness import TargetLabels, exactly_fair_outcome

    rng = np.random.default_rng(6)
    n = 1500
    g = np.where(rng.random(n) < 0.4, "b", "a")
    x = rng.normal(size=n) + (g == "a") * 0.8  # a proxy of the group
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-2 * x)), "yes", "no")
    frame = pd.DataFrame({"g": g, "x": x, "y": y})
    kinds = {"g": "categorical", "x": "numeric", "y": "categorical"}
    labels = TargetLabels(frame, "y", "categorical", positive="yes")
    known, out = exactly_fair_outcome(frame, kinds, labels, ["g"], seed=1)
    assert known.all()
    share = (y == "yes").mean()
    for key in ("a", "b"):
        m = g == key
        assert abs(out[m].mean() - share) <= 0.5 / m.sum() + 1e-9
        top = x[m] > np.median(x[m])
        assert out[m][top].mean() - out[m][~top].mean() > 0.3
    assert (y[g == "a"] == "yes").mean() - (y[g == "b"] == "yes").mean() > 0.2  # the real rows were biased
