"""benchmarks/text.py gives mostlyai-engine's LANGUAGE model a text budget never below our text model's."""
import importlib.util
from pathlib import Path

from lookalike.models.text_lm import CPU_CAP_PER_10K, MIN_CPU_CAP

SPEC = importlib.util.spec_from_file_location("text_bench", Path(__file__).parents[1] / "benchmarks" / "text.py")
text_bench = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(text_bench)


def test_peer_budget_covers_the_lm_safety_stop_with_nothing_cached():
    # trump_tweets' 4,000 train texts: the lm may take up to 240 CPU s; the old rule gave 108 s
    assert text_bench.mostly_text_seconds(4000, []) == CPU_CAP_PER_10K * 4000 / 10_000
    assert text_bench.mostly_text_seconds(10, []) == MIN_CPU_CAP


def test_peer_budget_covers_the_slowest_cached_lm_fit_in_cpu_seconds():
    # the budget is CPU seconds (the engine's clock is pointed at CPU time): an lm fit's wall time does not count
    fits = [{"wall": 392.0, "cpu": 136.0}, {"wall": 900.0, "cpu": 300.0}]
    assert text_bench.mostly_text_seconds(4000, fits) == 300.0
    assert text_bench.mostly_text_seconds(100, [{"wall": 50.0, "cpu": 70.0}]) == 70.0


def test_class_aucs_are_recorded_per_class_and_weighted_by_holdout_rows_in_the_note():
    """text.py keeps the text-to-column classifier's AUC class by class (TSTR and TRTR, with each class's holdout
    rows), and the report weighs them by those rows beside the macro figure: on trump_tweets four of the eleven
    classes have 2-3 holdout rows, so the macro TSTR/TRTR moves with a handful of texts."""
    import pandas as pd

    words = {"a": "apple pie sweet", "b": "bolt nut steel", "c": "cloud rain wind"}
    train = pd.DataFrame({"y": list("aaaabbbbcc") * 6})
    train["t"] = [f"{words[y]} {i}" for i, y in enumerate(train["y"])]
    holdout = pd.DataFrame({"y": list("aaabbc"), "t": [words[y] for y in "aaabbc"]})
    synth = train.copy()
    synth.loc[synth["y"] == "c", "t"] = "apple pie sweet"  # class c written with a's words: its TSTR AUC falls
    got = text_bench.class_aucs(train, synth, holdout, "t", "y")
    assert got["holdout_rows"] == {"a": 3, "b": 2, "c": 1}
    assert got["trtr"] == {"a": 1.0, "b": 1.0, "c": 1.0} and got["tstr"]["b"] == 1.0 and got["tstr"]["c"] < 0.6
    rec = {"seed": 1, "classes": {**got, "tstr": {"a": 0.9, "b": 0.8, "c": 0.2}, "trtr": {"a": 1.0, "b": 1.0, "c": 1.0}}}
    note = " ".join(text_bench.class_note([rec]))
    assert "a (3 rows) 0.90 / 1.00; b (2 rows) 0.80 / 1.00; c (1 rows) 0.20 / 1.00" in note
    assert "TSTR/TRTR is 0.750" in note  # (3 * 0.9 + 2 * 0.8 + 0.2) / 6; the macro figure would be 0.633


def test_text_tuning_judges_tstr_class_by_class_and_on_all_real_texts():
    """benchmarks/text_tuning.py (``--table-model argn``, text.py's own table model for the synthetic rows): TSTR
    class by class on the judged rows, and its macro AUC on every real text of the split (fitted and judged), whose
    rare classes hold more rows than the judged part's."""
    import sys

    import pandas as pd

    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    spec = importlib.util.spec_from_file_location("text_tuning", Path(__file__).parents[1] / "benchmarks" /
                                                  "text_tuning.py")
    tuning = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tuning)
    words = {"a": "apple pie sweet", "b": "bolt nut steel", "c": "cloud rain wind"}
    fit = pd.DataFrame({"y": list("aaaabbbbcc") * 6})
    fit["t"] = [f"{words[y]} {i}" for i, y in enumerate(fit["y"])]
    judge = pd.DataFrame({"y": list("aabbc"), "t": [words[y] for y in "aabbc"]})
    synth = fit.copy()
    synth.loc[synth["y"] == "c", "t"] = "apple pie sweet"  # class c written with a's words
    got = tuning.classes(synth, fit, judge, "t", "y")
    assert got["tstr_classes"]["b"] == 1.0 and got["tstr_classes"]["c"] < 0.6
    per = tuning.text_to_column_class_aucs(synth["t"], synth["y"], pd.concat([fit, judge])["t"],
                                           pd.concat([fit, judge])["y"], fit["y"])
    assert abs(got["tstr_all"] - sum(per.values()) / 3) < 1e-12 and per["c"] < 0.6
