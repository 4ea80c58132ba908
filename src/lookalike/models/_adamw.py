"""AdamW and plateau halving for argn's fit, without ``torch.optim``.

Every ``torch.optim.Optimizer`` method is wrapped in ``torch._disable_dynamo``, whose first call imports
``torch._dynamo``: 1.2-3 CPU seconds in a fresh process (one torch thread, loaded machine), paid inside every fit
and 10-20% of a small table's whole fit (Ecdat.Benefits; benchmarks/RESULTS.md, narrow-fit-cpu). These classes run
the same fused kernel ``torch.optim.AdamW(fused=True)`` runs, with its state laid out the same way, and
ReduceLROnPlateau's rule in ``mode="min"``, ``threshold_mode="rel"``, so a fit takes the same steps
(tests/test_argn_adamw.py compares them step by step)."""
from __future__ import annotations

import math
from typing import Iterable

import torch


class FusedAdamW:
    """``torch.optim.AdamW(params, lr, weight_decay=..., fused=True)`` with default betas and eps: the same
    ``torch._fused_adamw_`` call on the same state (a float32 step count per parameter, first and second
    moments), for parameters that have a gradient. ``param_groups[0]["lr"]`` is the rate, as torch's."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float, weight_decay: float = 0.01,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.params = [p for p in params if p.requires_grad]
        self.param_groups = [{"lr": float(lr)}]
        self.weight_decay, self.betas, self.eps = weight_decay, betas, eps
        self.state: dict[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        params, grads, avgs, sqs, steps = [], [], [], [], []
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            state = self.state.get(i)
            if state is None:
                state = self.state[i] = (torch.zeros((), dtype=torch.float32, device=p.device),
                                         torch.zeros_like(p, memory_format=torch.preserve_format),
                                         torch.zeros_like(p, memory_format=torch.preserve_format))
            params.append(p)
            grads.append(p.grad)
            steps.append(state[0])
            avgs.append(state[1])
            sqs.append(state[2])
        if not params:
            return
        torch._foreach_add_(steps, 1)
        torch._fused_adamw_(params, grads, avgs, sqs, [], steps, amsgrad=False, lr=self.param_groups[0]["lr"],
                            beta1=self.betas[0], beta2=self.betas[1], weight_decay=self.weight_decay, eps=self.eps,
                            maximize=False, grad_scale=None, found_inf=None)


class PlateauHalving:
    """``torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor, patience, min_lr, threshold,
    threshold_mode="rel")`` in mode "min" without cooldown: an epoch whose score is not below best * (1 -
    threshold) is bad; after more than ``patience`` bad epochs in a row the rate is multiplied by ``factor`` (not
    below ``min_lr``; changes of at most 1e-8 are skipped) and the count restarts.

    ``stale`` counts the bad epochs since ``best`` without restarting at a halving: argn's fit stops when it
    reaches its patience, so stopping and halving judge progress alike, against the last best that counted.
    (Counted against the latest best, however small its gain, three gains of 0.1% ended a fit at its first rate
    while the scheduler, which sees 0.3%, never halved it: ISLR.Caravan, benchmarks/RESULTS.md, argn-stopping.)"""

    def __init__(self, optimizer: FusedAdamW, factor: float, patience: int, min_lr: float, threshold: float):
        self.optimizer, self.factor, self.patience = optimizer, factor, patience
        self.min_lr, self.threshold = min_lr, threshold
        self.best, self.bad, self.stale = math.inf, 0, 0

    def step(self, score: float) -> None:
        score = float(score)
        if score < self.best * (1.0 - self.threshold):
            self.best, self.bad, self.stale = score, 0, 0
        else:
            self.bad += 1
            self.stale += 1
        if self.bad > self.patience:
            group = self.optimizer.param_groups[0]
            new = max(group["lr"] * self.factor, self.min_lr)
            if group["lr"] - new > 1e-8:
                group["lr"] = new
            self.bad = 0
