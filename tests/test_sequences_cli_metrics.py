"""Sequence metrics (evaluate with entity/order) and the CLI's --entity/--order/--context."""
import pandas as pd
import pytest

from lookalike.cli import main
from lookalike.evaluate import evaluate
from lookalike.evaluate.sequences import sequence_metrics
from lookalike.workflow import split_holdout_entities
from sequence_data import events, panel


def test_holdout_split_keeps_entities_whole():
    df = events(50)
    train, holdout = split_holdout_entities(df, "account_id", 0.3, seed=0)
    assert not set(train["account_id"]) & set(holdout["account_id"])
    assert len(train) + len(holdout) == len(df)


def test_sequence_metrics_real_against_real_are_near_their_ceiling():
    df = panel(120)
    train, holdout = split_holdout_entities(df, "person", 0.5, seed=0)
    m = sequence_metrics(train, holdout, holdout, "person", "year", target="sex")
    assert m["length_tv"] == m["length_tv_holdout"] and m["length_tv"] < 0.2
    assert m["transition_accuracy"] == pytest.approx(m["transition_accuracy_holdout"])
    assert m["entity_discriminator_auc_holdout"] < 0.75
    assert m["copied_sequence_share"] == 0.0 and m["copied_sequence_share_holdout"] == 0.0
    assert sequence_metrics(train, train, None, "person", "year")["copied_sequence_share"] == 1.0
    assert m["details"]["autocorrelation"]["wage"]["train"] > 0.5


def test_shuffled_steps_lose_transitions_and_autocorrelation():
    df = panel(120)
    train, holdout = split_holdout_entities(df, "person", 0.5, seed=0)
    broken = holdout.copy()
    broken["wage"] = broken["wage"].sample(frac=1.0, random_state=0).to_numpy()  # right marginal, no sequence
    good = sequence_metrics(train, holdout, None, "person", "year")
    bad = sequence_metrics(train, broken, None, "person", "year")
    assert bad["details"]["transitions"]["wage"]["synthetic"] < good["details"]["transitions"]["wage"]["synthetic"]
    assert bad["autocorrelation_gap"] > good["autocorrelation_gap"] + 0.3
    assert bad["entity_discriminator_auc"] > good["entity_discriminator_auc"]


def test_evaluate_adds_a_sequences_section_and_html():
    df = panel(80)
    train, holdout = split_holdout_entities(df, "person", 0.3, seed=0)
    report = evaluate(train, holdout, holdout, entity="person", order="year")
    assert "sequences" in report.details
    assert report.metrics["sequence_length_tv"] == report.metrics["sequence_length_tv_holdout"]
    assert "person" not in report.details["univariate"]
    assert "Sequences" in report.to_html()


def test_cli_fit_sample_and_synth_with_entity(tmp_path):
    df = events(60)
    data = tmp_path / "events.csv"
    df.to_csv(data, index=False)
    model = tmp_path / "m.lookalike"
    assert main(["fit", str(data), "-o", str(model), "--entity", "account_id", "--order", "timestamp",
                 "--model", "copula"]) == 0
    out = tmp_path / "s.csv"
    assert main(["sample", str(model), "-n", "12", "-o", str(out), "--where", "segment=retail"]) == 0
    fake = pd.read_csv(out)
    assert fake["account_id"].nunique() == 12 and (fake["segment"] == "retail").all()
    synth = tmp_path / "synth.csv"
    report = tmp_path / "r.html"
    assert main(["synth", str(data), "-o", str(synth), "--entity", "account_id", "--order", "timestamp",
                 "--model", "copula", "--report", str(report)]) == 0
    assert report.exists() and "Sequences" in report.read_text()


def test_cli_fit_with_entity_at_default_model_says_what_auto_picked(tmp_path, capsys):
    # the default --model is auto: the CLI names the events' generator and why, and exits 0
    data = tmp_path / "events.csv"
    events(40).to_csv(data, index=False)
    assert main(["fit", str(data), "-o", str(tmp_path / "m.lookalike"), "--entity", "account_id",
                 "--order", "timestamp", "--max-time", "5"]) == 0
    assert "--model auto picked" in capsys.readouterr().out


def test_cli_sequence_options_need_entity(tmp_path, capsys):
    data = tmp_path / "e.csv"
    events(20).to_csv(data, index=False)
    assert main(["fit", str(data), "-o", str(tmp_path / "m.lookalike"), "--order", "timestamp"]) == 1
    assert "give --entity too" in capsys.readouterr().err
