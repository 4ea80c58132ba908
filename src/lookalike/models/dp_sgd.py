"""DP-SGD for the neural generators (argn, vae, diffusion): the plan and the training loop they share.

The plan calibrates the Gaussian noise with Opacus' RDP accountant so that the planned steps (Poisson sampling
at rate batch / rows, ``epochs`` epochs) spend exactly the requested (epsilon, delta); a budget that would need
more noise than ``MAX_NOISE_MULTIPLIER`` is refused before any work. The loop takes per-row gradients with
``torch.func`` (vmap of grad), clips each row's to ``max_grad_norm``, adds noise from a secret generator and
lets the summed, noisy gradient leave through ``lookalike.privacy.dp.release``: the optimiser sees nothing
else from the data. A fit stopped early (``max_time``) records the smaller epsilon it actually spent.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from lookalike.errors import LookalikeError

MECHANISM = "DP-SGD (per-row clipping, Gaussian noise, Poisson sampling)"
MAX_NOISE_MULTIPLIER = 20.0
"""Beyond this noise the gradients carry almost no signal: the budget is too small for the epochs asked."""
DEFAULT_EPOCHS = 10


def plan(model: str, epsilon: float, delta: float | None, epochs: int, n_rows: int, batch: int,
         max_grad_norm: float, rows_released: bool) -> dict:
    """Batch, Poisson sample rate, steps and noise multiplier; an error naming ``model`` before any work when
    the budget cannot pay for ``epochs`` epochs."""
    from opacus.accountants.utils import get_noise_multiplier

    eps, delta = float(epsilon), float(delta or 1e-5)
    if eps <= 0 or not 0 < delta < 1:
        raise LookalikeError(f"{model}: DP needs epsilon > 0 and delta in (0, 1), got {eps}, {delta}")
    epochs = int(epochs)
    if epochs < 1:
        raise LookalikeError(f"{model}: DP needs max_epochs >= 1, got {epochs}")
    batch = max(1, min(int(batch), n_rows))
    rate = batch / n_rows
    steps = epochs * max(1, round(1 / rate))
    try:
        sigma = get_noise_multiplier(target_epsilon=eps, target_delta=delta, sample_rate=rate, steps=steps,
                                     accountant="rdp", epsilon_tolerance=0.002 * eps)
    except ValueError:
        sigma = math.inf
    if sigma > MAX_NOISE_MULTIPLIER:
        raise LookalikeError(
            f"{model}: epsilon {eps:g} is too small for {epochs} epochs of DP-SGD on {n_rows:,} rows (noise "
            f"multiplier {sigma:.3g} > {MAX_NOISE_MULTIPLIER:g}); ask for fewer epochs (max_epochs), a "
            f"larger epsilon, or use model='dp-marginals'")
    return {"mechanism": MECHANISM, "accountant": "opacus RDP",
            "epsilon": epsilon_spent(sigma, rate, steps, delta), "target_epsilon": eps,
            "delta": delta, "noise_multiplier": float(sigma), "max_grad_norm": float(max_grad_norm),
            "sample_rate": rate, "expected_batch": batch, "epochs": epochs, "steps": int(steps),
            "rows": "released by a mechanism" if rows_released else "treated as public"}


def epsilon_spent(sigma: float, rate: float, steps: int, delta: float) -> float:
    """The RDP accountant's epsilon after ``steps`` Poisson-sampled steps at noise ``sigma``."""
    return composed_epsilon([(sigma, rate, steps)], delta)


def composed_epsilon(history: Sequence[tuple[float, float, int]], delta: float) -> float:
    """The RDP accountant's epsilon of several DP-SGD phases, each (sigma, sample rate, steps), composed in one
    history (RDP adds up order by order before the conversion to (epsilon, delta))."""
    from opacus.accountants import RDPAccountant

    accountant = RDPAccountant()
    accountant.history = [(float(s), float(q), int(t)) for s, q, t in history if t > 0]
    return float(accountant.get_epsilon(delta)) if accountant.history else 0.0


def plan_model(model: str, estimator, n_rows: int) -> dict:
    """``plan`` for a one-phase model's own settings (its dp_epsilon, dp_delta, max_epochs, batch_size,
    dp_max_grad_norm, dp_rows), the batch defaulting to ``default_batch``."""
    return plan(model, estimator.dp_epsilon, estimator.dp_delta, estimator.max_epochs, n_rows,
                estimator.batch_size or default_batch(n_rows), estimator.dp_max_grad_norm,
                estimator.dp_rows is not None)


def plan_phases(model: str, epsilon: float, delta: float | None, phases: Sequence[tuple[str, int, int]],
                n_rows: int, max_grad_norm: float, rows_released: bool) -> dict:
    """One noise multiplier for several DP-SGD phases over the same rows (each (name, epochs, batch)), such that
    their composition in one RDP history spends exactly (epsilon, delta); an error naming ``model`` before any
    work when the budget cannot pay for the epochs. The search is Opacus' ``get_noise_multiplier`` (doubling,
    then bisection keeping the side at or below the target) over the composed history."""
    eps, delta = float(epsilon), float(delta or 1e-5)
    if eps <= 0 or not 0 < delta < 1:
        raise LookalikeError(f"{model}: DP needs epsilon > 0 and delta in (0, 1), got {eps}, {delta}")
    parts = []
    for name, epochs, batch in phases:
        if int(epochs) < 1:
            raise LookalikeError(f"{model}: DP needs max_epochs >= 1, got {epochs}")
        batch = max(1, min(int(batch), n_rows))
        rate = batch / n_rows
        parts.append({"phase": name, "sample_rate": rate, "expected_batch": batch, "epochs": int(epochs),
                      "steps": int(epochs) * max(1, round(1 / rate))})

    def spent(sigma: float) -> float:
        return composed_epsilon([(sigma, p["sample_rate"], p["steps"]) for p in parts], delta)

    low, high, eps_high = 0.0, 10.0, math.inf
    while eps_high > eps and high <= 2 * MAX_NOISE_MULTIPLIER:
        high *= 2
        eps_high = spent(high)
    if eps_high > eps:
        sigma = math.inf
    else:
        while eps - eps_high > 0.002 * eps:
            mid = (low + high) / 2
            e = spent(mid)
            if e < eps:
                high, eps_high = mid, e
            else:
                low = mid
        sigma = high
    epochs = "+".join(str(p["epochs"]) for p in parts)
    if sigma > MAX_NOISE_MULTIPLIER:
        raise LookalikeError(
            f"{model}: epsilon {eps:g} is too small for {epochs} epochs of DP-SGD on {n_rows:,} rows (noise "
            f"multiplier {sigma:.3g} > {MAX_NOISE_MULTIPLIER:g}); ask for fewer epochs (max_epochs), a "
            f"larger epsilon, or use model='dp-marginals'")
    return {"mechanism": MECHANISM + ", phases composed in one RDP history", "accountant": "opacus RDP",
            "epsilon": spent(sigma), "target_epsilon": eps, "delta": delta, "noise_multiplier": float(sigma),
            "max_grad_norm": float(max_grad_norm), "phases": parts,
            "rows": "released by a mechanism" if rows_released else "treated as public"}


def finish_phases(plan: dict, done: Sequence[int]) -> dict:
    """``finish`` for a multi-phase plan: each phase's steps done, the composed epsilon actually spent."""
    for part, d in zip(plan["phases"], done):
        part["steps_done"] = int(d)
    if any(p["steps_done"] < p["steps"] for p in plan["phases"]):
        plan["epsilon"] = composed_epsilon([(plan["noise_multiplier"], p["sample_rate"], p["steps_done"])
                                            for p in plan["phases"]], plan["delta"])
    return plan


class _RowLoss(nn.Module):
    """``fn(net, *inputs)`` as a module's forward, so ``functional_call`` can swap the net's parameters."""

    def __init__(self, net: nn.Module, fn: Callable):
        super().__init__()
        self.net = net
        self.fn = fn

    def forward(self, *inputs):
        return self.fn(self.net, *inputs)


def train(net: nn.Module, loss_of: Callable, inputs_of: Callable, n_rows: int, plan: dict,
          opt: torch.optim.Optimizer, secret_seed: int | None, label: str, device: torch.device | str = "cpu",
          stop: Callable[[], bool] = lambda: False, progress=None, chunk: int = 64, stream: int | None = None,
          after_step: Callable[[int], None] | None = None) -> tuple[int, list[dict]]:
    """Run the plan's DP-SGD steps on ``net``; returns (steps done, per-epoch history without losses).

    ``loss_of(net, *inputs)``: the loss of a batch of rows, written so ``torch.func.vmap`` can take it per row
    (no data-dependent control flow, no embedding_bag, no dropout). ``inputs_of(idx, gen)``: the per-row input
    tensors of the rows ``idx`` (any randomness they need from ``gen``, the secret generator). The sampled rows
    and the noise come from ``secret_seed`` (OS entropy when None), never from the public seed; ``stream``
    gives each phase of a multi-phase fit its own independent noise. ``after_step(steps done)``: work after each
    update that reads no row (a GAN's generator step: post-processing of the released critic)."""
    from torch.func import functional_call, grad, vmap

    from lookalike.privacy.dp import release

    wrapper = _RowLoss(net, loss_of)
    names = [k for k, _ in net.named_parameters()]

    def row_loss(params, *row):
        return functional_call(wrapper, {"net." + k: v for k, v in params.items()}, tuple(r.unsqueeze(0) for r in row))

    clip, sigma, rate = plan["max_grad_norm"], plan["noise_multiplier"], plan["sample_rate"]
    secret = np.random.SeedSequence(secret_seed, spawn_key=() if stream is None else (stream,)).generate_state(1)[0]
    gen = torch.Generator().manual_seed(int(secret))
    per_row = None
    steps_per_epoch = plan["steps"] // plan["epochs"]
    history: list[dict] = []
    done = 0
    for epoch in range(plan["epochs"]):
        out_of_time = False
        for _ in range(steps_per_epoch):
            idx = torch.nonzero(torch.rand(n_rows, generator=gen) < rate).squeeze(1).to(device)
            inputs = inputs_of(idx, gen)
            if per_row is None:
                per_row = vmap(grad(row_loss), in_dims=(None,) + (0,) * len(inputs))
            params = {k: v.detach() for k, v in net.named_parameters()}
            summed = {k: torch.zeros_like(v) for k, v in params.items()}
            for i in range(0, len(idx), chunk):
                g = per_row(params, *(t[i:i + chunk] for t in inputs))
                norms = torch.sqrt(sum(g[k].flatten(1).pow(2).sum(1) for k in names))
                factor = (clip / (norms + 1e-6)).clamp(max=1.0)
                for k in names:
                    summed[k] += torch.einsum("b,b...->...", factor, g[k])

            def noisy():
                return {k: ((summed[k] + torch.normal(0.0, sigma * clip, summed[k].shape, generator=gen)
                             .to(device)) / plan["expected_batch"]).cpu().numpy() for k in names}

            released = release(label, noisy)
            for k, p in net.named_parameters():
                p.grad = torch.from_numpy(np.asarray(released[k])).to(device)
            opt.step()
            done += 1
            if after_step is not None:
                after_step(done)
            if stop():
                out_of_time = True
                break
            if progress is not None:
                progress(done / plan["steps"], f"epoch {epoch + 1} (DP-SGD)")
        history.append({"epoch": epoch + 1})
        if out_of_time:
            break
    return done, history


def finish(plan: dict, done: int) -> dict:
    """The plan as recorded: steps done, and the epsilon actually spent when training stopped early."""
    if done < plan["steps"]:
        plan["epsilon"] = epsilon_spent(plan["noise_multiplier"], plan["sample_rate"], done, plan["delta"])
    plan["steps_done"] = done
    return plan


def row_cross_entropy(layout, flat_logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(rows, n_sub) cross-entropy like ``TokenLayout.cross_entropy``, through the padded view and a plain
    log-softmax: no data-dependent branch, so ``vmap`` can take it per row."""
    logp = torch.log_softmax(layout.padded(flat_logits), dim=-1)
    return -logp.gather(2, x.unsqueeze(-1)).squeeze(-1)


def linear_of_tokens(layout, layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """``layout.linear_of_one_hot(layer, x)`` by plain embedding lookups, which ``vmap`` can take per row."""
    return torch.nn.functional.embedding(x + layout.offsets, layer.weight.t()).sum(1) + layer.bias


def default_batch(n_rows: int) -> int:
    """Expected Poisson batch: a power of two near n_rows / 10, within [64, 512] (bigger batches drown less
    signal in the same noise; about 10 steps an epoch keeps the step count, and so the noise, small)."""
    return int(np.clip(2 ** round(math.log2(max(n_rows, 1) / 10)), 64, 512))


def uniform_logits(cards: Sequence[int]) -> torch.Tensor:
    """Flat output bias of uniform distributions: under DP no token frequencies (they are data)."""
    return torch.tensor(np.concatenate([np.full(c, -math.log(c)) for c in cards]), dtype=torch.float32)
