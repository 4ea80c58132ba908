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
