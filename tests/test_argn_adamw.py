"""argn's own AdamW and plateau halving (lookalike.models._adamw): the steps of torch.optim's, without the import
of torch._dynamo that any torch.optim.Optimizer call makes."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

from lookalike.models._adamw import FusedAdamW, PlateauHalving

SRC = Path(__file__).resolve().parents[1] / "src"


def _params(seed: int) -> list[torch.nn.Parameter]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(shape, generator=gen)) for shape in ((5, 3), (7,), (2, 4, 3))]


def test_steps_and_rate_schedule_equal_torch_optims():
    ours, theirs = _params(0), _params(0)
    opt, ref = FusedAdamW(ours, lr=0.01, weight_decay=0.01), torch.optim.AdamW(theirs, lr=0.01, weight_decay=0.01,
                                                                                 fused=True)
    sched = PlateauHalving(opt, factor=0.5, patience=1, min_lr=0.01 / 16, threshold=0.002)
    ref_sched = torch.optim.lr_scheduler.ReduceLROnPlateau(ref, factor=0.5, patience=1, min_lr=0.01 / 16,
                                                           threshold=0.002, threshold_mode="rel")
    gen = torch.Generator().manual_seed(1)
    scores = [10.0, 9.0, 8.995, 8.99, 8.989, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0]
    for epoch, score in enumerate(scores):
        for _ in range(3):
            for group in (ours, theirs):
                for p in group:
                    p.grad = None
            targets = [torch.randn(p.shape, generator=gen) for p in ours]
            skip = epoch % 4 == 1  # a parameter without a gradient is left alone by both
            for group in (ours, theirs):
                loss = sum(((p - t) ** 2).sum() for i, (p, t) in enumerate(zip(group, targets)) if not (skip and i == 1))
                loss.backward()
            opt.step()
            ref.step()
            for a, b in zip(ours, theirs):
                assert torch.equal(a, b)
        sched.step(score)
        ref_sched.step(score)
        assert opt.param_groups[0]["lr"] == ref.param_groups[0]["lr"]
    assert opt.param_groups[0]["lr"] == 0.01 / 16  # the schedule reached its floor: every branch was taken


def test_a_narrow_argn_fit_never_imports_torch_dynamo():
    """Importing torch._dynamo cost 1.2-3 CPU seconds of every fit (benchmarks/RESULTS.md, narrow-fit-cpu)."""
    code = (
        "import sys, numpy as np, torch\n"
        "from lookalike.models.argn import ARGN\n"
        "rng = np.random.default_rng(0)\n"
        "x = rng.integers(0, 4, (300, 3))\n"
        "ARGN(max_epochs=2, seed=0).fit(x, [4, 4, 4], [[0], [1], [2]])\n"
        "print('torch._dynamo' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"},
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
