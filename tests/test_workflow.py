"""The workflow module called directly, as a notebook or the REST service would, on the bundled ANES table."""
from __future__ import annotations

import inspect
import json
import logging
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pandas as pd
import pytest

from lookalike import workflow
from lookalike.errors import LookalikeError


@pytest.fixture(scope="module")
def anes() -> pd.DataFrame:
    return pd.read_csv(str(files("lookalike") / "data" / "anes96.csv")).sample(300, random_state=1).reset_index(drop=True)


@pytest.fixture(scope="module")
def judged(anes):
    seen = []
    result = workflow.synthesize(anes, model="copula", seed=3, holdout_share=0.2, target="vote",
                                 progress=lambda f, m: seen.append((f, m)))
    return result, seen


def test_split_is_disjoint_complete_and_reproducible(anes):
    rows = anes.assign(row=range(len(anes)))
    train, holdout = workflow.split_holdout(rows, share=0.2, seed=5)
    assert len(holdout) == 60 and len(train) == 240
    assert set(train["row"]).isdisjoint(holdout["row"])
    assert sorted([*train["row"], *holdout["row"]]) == list(range(len(anes)))
    assert list(train.index) == list(range(240)) and list(holdout.index) == list(range(60))
    again_train, again_holdout = workflow.split_holdout(rows, share=0.2, seed=5)
    pd.testing.assert_frame_equal(train, again_train)
    pd.testing.assert_frame_equal(holdout, again_holdout)
    assert set(workflow.split_holdout(rows, share=0.2, seed=6)[1]["row"]) != set(holdout["row"])


def test_split_tells_rows_apart_by_position_not_index(anes):
    rows = anes.assign(row=range(len(anes)))
    rows.index = [0] * len(rows)  # one repeated label: dropping by label would drop every row
    train, holdout = workflow.split_holdout(rows, share=0.2, seed=0)
    assert len(train) + len(holdout) == len(rows)
    assert set(train["row"]).isdisjoint(holdout["row"])


def test_split_refuses_small_tables_and_odd_shares(anes):
    with pytest.raises(LookalikeError, match="at least 50 rows, the data has 49"):
        workflow.split_holdout(anes.head(49))
    for share in (0, 1, 1.5, -0.2):
        with pytest.raises(LookalikeError, match="between 0 and 1"):
            workflow.split_holdout(anes, share=share)


def test_synthesize_judges_against_the_holdout(judged, anes):
    result, _ = judged
    assert len(result.train) == 240 and len(result.holdout) == 60
    assert len(result.synthetic) == 240  # as many rows as it trained on
    assert list(result.synthetic.columns) == list(anes.columns)
    assert result.output is None and result.fit_seconds > 0 and result.judge_seconds > 0
    m = result.report.metrics
    for key in ("univariate_accuracy_holdout", "bivariate_accuracy_holdout", "discriminator_auc_holdout",
                "dcr_share", "tstr_score", "trtr_score"):
        assert m[key] is not None, key
    assert set(result.summary) == set(workflow.SUMMARY_KEYS)
    assert result.summary["privacy_verdict"] in ("pass", "review", "fail")
    json.dumps(result.summary)  # plain values, ready for the service


def test_progress_covers_the_stages_in_order_and_ends_at_one(judged):
    _, seen = judged
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    stages = [m.split(":")[0] for _, m in seen if m != "done"]
    assert [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s] == ["fitting", "sampling", "judging"]
    spans = workflow.stage_spans(judging=True)
    for f, m in seen:
        stage = m.split(":")[0]
        if stage in spans:
            assert spans[stage][0] <= f <= spans[stage][1], (f, m)


def test_same_seed_same_output_other_seed_other_output(anes):
    def run(seed):
        return workflow.synthesize(anes, n=100, model="copula", seed=seed, holdout_share=0.2, report=False)

    first, again, other = run(7), run(7), run(8)
    assert first.report is None and first.summary == {}
    pd.testing.assert_frame_equal(first.synthetic, again.synthetic)
    pd.testing.assert_frame_equal(first.holdout, again.holdout)
    assert not first.synthetic.equals(other.synthetic)


def test_streaming_to_a_file_and_judging_what_was_written(anes, tmp_path):
    out = tmp_path / "synthetic.parquet"
    result = workflow.synthesize(anes, n=150, output=out, model="copula", report=True)
    assert result.synthetic is None and result.output == out and result.holdout is None
    assert len(pd.read_parquet(out)) == 150
    assert result.report is not None and result.summary["univariate_accuracy_holdout"] is None
    with pytest.raises(LookalikeError, match="--force"):
        workflow.synthesize(anes, output=out, model="copula")
    workflow.synthesize(anes, n=10, output=out, model="copula", force=True)
    assert len(pd.read_parquet(out)) == 10


def test_judge_works_on_its_own(judged):
    result, _ = judged
    report = workflow.judge(result.train, result.synthetic, None, None)
    summary = workflow.summary(report)
    assert summary["univariate_accuracy"] is not None and summary["univariate_accuracy_holdout"] is None


def test_bad_arguments_are_one_clear_error(anes):
    with pytest.raises(LookalikeError, match="unknown column 'nope'"):
        workflow.synthesize(anes, model="copula", target="nope")
    with pytest.raises(LookalikeError, match="positive number of rows"):
        workflow.synthesize(anes, model="copula", n=0)
    with pytest.raises(LookalikeError, match="unknown model 'nosuch'"):
        workflow.synthesize(anes, model="nosuch")
    with pytest.raises(LookalikeError, match="DataFrame"):
        workflow.synthesize("data.csv")


def test_model_params_reach_the_generator(anes):
    from lookalike.synthesizer import Synthesizer

    if "model_params" not in inspect.signature(Synthesizer).parameters:
        pytest.skip("Synthesizer(model_params=...) is not in this tree yet")
    result = workflow.synthesize(anes, n=20, model="copula", model_params={"shrinkage": 0.5})
    assert result.synthesizer.model_.shrinkage == 0.5
    with pytest.raises(LookalikeError, match="nosuch"):
        workflow.synthesize(anes, n=20, model="copula", model_params={"nosuch": 1})


def test_verbose_training_goes_to_logging_not_stdout(anes, caplog, capsys):
    pytest.importorskip("torch")
    with caplog.at_level(logging.INFO, logger="lookalike"):
        workflow.synthesize(anes.head(100), n=10, model="argn", max_epochs=1, verbose=True)
    assert any("argn epoch 1" in r.getMessage() for r in caplog.records)
    assert capsys.readouterr().out == ""


def test_importing_lookalike_changes_no_environment_variable(tmp_path):
    src = Path(__file__).resolve().parents[1] / "src"
    code = ("import os, json; before = dict(os.environ); import lookalike, lookalike.synthesizer, lookalike.workflow; "
            "import lookalike.models.argn; "
            "print(json.dumps({k: v for k, v in os.environ.items() if before.get(k) != v} | "
            "{k: None for k in before if k not in os.environ}))")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(src), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {}
