"""ARGN on small synthetic token matrices whose true structure we know."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

from lookalike.errors import LookalikeError
from lookalike.models.argn import ARGN
from lookalike.models.base import TokenModel


def structured_tokens(n: int = 2000, seed: int = 0):
    """Columns: a, b bits; c = a xor b; d in 0..7; e = (3 d) mod 8; f, g a two-sub-column group = d split in bits."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    b = rng.integers(0, 2, n)
    d = rng.integers(0, 8, n)
    tokens = np.stack([a, b, a ^ b, d, (3 * d) % 8, d // 4, d % 4, rng.integers(0, 30, n)], axis=1)
    cards = [2, 2, 2, 8, 8, 2, 4, 30]
    groups = [[0], [1], [2], [3], [4], [5, 6], [7]]
    return tokens.astype(np.int64), cards, groups


@pytest.fixture(scope="module")
def fitted():
    tokens, cards, groups = structured_tokens()
    model = ARGN(max_epochs=8, seed=0, n_threads=1).fit(tokens, cards, groups)
    return model, tokens, cards, groups


def test_follows_the_token_model_contract(fitted):
    model, *_ = fitted
    assert isinstance(model, TokenModel)
    assert model.name == "argn"


def test_samples_have_the_right_shape_and_stay_inside_each_cardinality(fitted):
    model, _, cards, _ = fitted
    out = model.sample(5000, seed=1)
    assert out.shape == (5000, len(cards)) and out.dtype == np.int64
    assert (out >= 0).all() and (out < np.array(cards)).all()
    assert model.sample(0, seed=1).shape == (0, len(cards))


def test_learns_a_dependence_an_independent_model_cannot(fitted):
    model, *_ = fitted
    out = model.sample(4000, seed=2)
    # an independent-columns model gets c == a xor b for half the rows, and e == 3d mod 8 for 1/8
    assert np.mean(out[:, 2] == out[:, 0] ^ out[:, 1]) > 0.8
    assert np.mean(out[:, 4] == (3 * out[:, 3]) % 8) > 0.8
    # the two-sub-column group keeps its internal link to d
    assert np.mean(out[:, 5] * 4 + out[:, 6] == out[:, 3]) > 0.8


def test_same_seed_gives_identical_samples_and_another_seed_differs(fitted):
    model, tokens, cards, groups = fitted
    again = ARGN(max_epochs=8, seed=0, n_threads=1).fit(tokens, cards, groups)
    np.testing.assert_array_equal(model.sample(3000, seed=5), again.sample(3000, seed=5))
    assert not np.array_equal(model.sample(3000, seed=5), model.sample(3000, seed=6))


def test_streamed_batches_equal_one_big_sample(fitted):
    model, *_ = fitted
    n = 20_000  # spans several internal chunks
    whole = model.sample(n, seed=9)
    chunks = list(model.sample_batches(n, seed=9, batch_size=7_000))
    assert [len(c) for c in chunks] == [7_000, 7_000, 6_000]
    np.testing.assert_array_equal(np.concatenate(chunks), whole)


def test_fixed_cells_are_kept_exactly_and_rows_may_differ_in_what_is_fixed(fitted):
    model, tokens, cards, _ = fitted
    rng = np.random.default_rng(3)
    fixed = np.where(rng.random(tokens[:2000].shape) < 0.4, tokens[:2000], -1)
    fixed[:50, 5] = 1  # partially fixed group: first sub-column only
    fixed[:50, 6] = -1
    out = model.sample(2000, seed=4, fixed=fixed)
    keep = fixed >= 0
    np.testing.assert_array_equal(out[keep], fixed[keep])
    assert (out < np.array(cards)).all()


def test_fixing_a_column_conditions_the_others(fitted):
    model, _, cards, _ = fitted
    n = 2000
    fixed = np.full((n, len(cards)), -1, dtype=np.int64)
    d = np.arange(n) % 8
    fixed[:, 3] = d
    out = model.sample(n, seed=7, fixed=fixed)
    assert np.mean(out[:, 4] == (3 * d) % 8) > 0.8  # chance would be 1/8
    # conditioning on the later column of a pair works too: fix e, recover d
    fixed = np.full((n, len(cards)), -1, dtype=np.int64)
    fixed[:, 4] = (3 * d) % 8
    out = model.sample(n, seed=8, fixed=fixed)
    assert np.mean(out[:, 3] == d) > 0.8
    # xor: fixing a and b determines c
    fixed = np.full((n, len(cards)), -1, dtype=np.int64)
    fixed[:, 0], fixed[:, 1] = 1, 1
    assert np.mean(model.sample(n, seed=9, fixed=fixed)[:, 2] == 0) > 0.9


def test_saved_state_is_json_and_arrays_and_reloads_to_identical_samples(fitted):
    model, *_ = fitted
    config, tensors = model.get_state()
    config = json.loads(json.dumps(config))
    assert all(isinstance(v, np.ndarray) for v in tensors.values())
    loaded = ARGN.from_state(config, {k: v.copy() for k, v in tensors.items()})
    np.testing.assert_array_equal(loaded.sample(3000, seed=11), model.sample(3000, seed=11))


def test_suppressed_tokens_never_appear_and_temperature_sharpens(fitted):
    model, *_ = fitted
    out = model.sample(5000, seed=12, suppress={7: list(range(0, 29)), 3: [0, 7]})
    assert (out[:, 7] == 29).all()
    assert not np.isin(out[:, 3], [0, 7]).any()
    with pytest.raises(LookalikeError, match="sub-column 2"):
        model.sample(10, seed=0, suppress={2: [0, 1]})
    cold = model.sample(5000, seed=13, temperature=0.3)
    hot = model.sample(5000, seed=13, temperature=1.0)
    assert np.mean(cold[:, 2] == cold[:, 0] ^ cold[:, 1]) >= np.mean(hot[:, 2] == hot[:, 0] ^ hot[:, 1])


def test_max_time_is_respected_and_keeps_usable_weights():
    tokens, cards, groups = structured_tokens(n=20_000, seed=1)
    start = time.monotonic()
    model = ARGN(max_epochs=1000, max_time=1.0, patience=1000, n_threads=1).fit(tokens, cards, groups)
    assert time.monotonic() - start < 4.0
    assert len(model.history_) < 1000
    out = model.sample(100, seed=0)
    assert (out < np.array(cards)).all()


def test_bad_inputs_name_the_sub_column_at_fault(fitted):
    model, tokens, cards, groups = fitted
    bad = tokens.copy()
    bad[0, 3] = 8
    with pytest.raises(LookalikeError, match="sub-column 3"):
        ARGN(max_epochs=1).fit(bad, cards, groups)
    fixed = np.full((5, len(cards)), -1, dtype=np.int64)
    fixed[2, 0] = 2
    with pytest.raises(LookalikeError, match="sub-column 0"):
        model.sample(5, seed=0, fixed=fixed)
    with pytest.raises(LookalikeError, match="fitted"):
        ARGN().sample(5, seed=0)


def test_fit_reports_progress_and_leaves_torch_global_state_alone():
    import torch

    tokens, cards, groups = structured_tokens(n=300, seed=2)
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    seen = []
    model = ARGN(max_epochs=2, n_threads=1).fit(tokens, cards, groups, progress=lambda f, msg: seen.append(f))
    model.sample(10, seed=0, progress=lambda f, msg: seen.append(f))
    assert seen and seen[-1] == 1.0 and all(0.0 <= f <= 1.0 for f in seen)
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.rand(3), expected)  # the caller's random stream was not consumed


def test_a_threshold_on_a_many_valued_column_is_learnt_not_memorised_bin_by_bin():
    """Numeric codecs order tokens by value; a binary flag set above a threshold must come out right
    from ~7 rows per token; learnt bin by bin it is not (0.26 above the threshold before step embeddings)."""
    rng = np.random.default_rng(3)
    n = 1500
    x = rng.integers(0, 200, n)
    noise = rng.integers(0, 50, n)
    flag = (x >= 150).astype(np.int64)
    tokens = np.stack([x, noise, flag], axis=1)
    model = ARGN(max_epochs=30, seed=0, n_threads=1).fit(tokens, [200, 50, 2], [[0], [1], [2]])
    fixed = np.full((400, 3), -1, dtype=np.int64)
    fixed[:, 0] = np.repeat([100, 120, 180, 195], 100)
    out = model.sample(400, seed=0, fixed=fixed)
    below, above = out[:200, 2].mean(), out[200:, 2].mean()
    assert below < 0.2 and above > 0.8


def test_a_state_saved_before_step_embeddings_loads_as_zero_steps(fitted):
    model, *_ = fitted
    config, tensors = model.get_state()
    old = {k: v for k, v in tensors.items() if not k.startswith("steps.")}
    loaded = ARGN.from_state(config, old)
    assert all(float(p.detach().abs().sum()) == 0.0 for p in loaded.net_.steps)
    assert loaded.sample(50, seed=0).shape == (50, len(model.cardinalities_))


def test_each_head_reads_exactly_the_sub_columns_drawn_before_it():
    """The prefix-sum context of every (row, head) equals the sum over the inputs that the row's order puts
    before that head: groups with a smaller key, and earlier members of its own group."""
    import torch

    from lookalike.models.argn import _Net

    tokens, cards, groups = structured_tokens(64)
    torch.manual_seed(0)
    net = _Net(cards, groups, 8, 0, 0.0, [np.zeros(c) for c in cards])
    x = torch.from_numpy(tokens)
    keys = torch.rand(len(tokens), len(groups))
    group_of = torch.tensor([g for g, m in enumerate(groups) for _ in m])[torch.tensor([j for m in groups for j in m]).argsort()]
    pos_of = torch.tensor([p for m in groups for p in range(len(m))])[torch.tensor([j for m in groups for j in m]).argsort()]
    k = keys[:, group_of]
    same = group_of[None, :] == group_of[:, None]
    visible = (k[:, None, :] < k[:, :, None]) | (same & (pos_of[None, :] < pos_of[:, None]))[None]
    with torch.no_grad():
        vectors = net.token_vectors()[net.offsets + x]  # (rows, input, context)
        expected = torch.einsum("nji,nik->njk", visible.float(), vectors)
        torch.testing.assert_close(net._context(x, keys), expected, rtol=1e-5, atol=1e-5)


def test_wide_tables_project_into_a_fixed_context_and_still_learn_save_and_load(monkeypatch):
    import lookalike.models.argn as argn_module

    monkeypatch.setattr(argn_module, "CONTEXT_WIDTH", 12)  # the embeddings side by side take 33
    tokens, cards, groups = structured_tokens()
    model = ARGN(max_epochs=8, seed=0, n_threads=1).fit(tokens, cards, groups)
    assert model.net_.projected and model.net_.context == 12
    assert tuple(model.net_.head_in.shape) == (len(cards), 12, model.net_.hidden)
    out = model.sample(4000, seed=1)
    assert np.mean(out[:, 4] == (3 * out[:, 3]) % 8) > 0.8  # an independent model: 1/8
    assert np.mean(out[:, 5] * 4 + out[:, 6] == out[:, 3]) > 0.8
    config, tensors = model.get_state()
    monkeypatch.setattr(argn_module, "CONTEXT_WIDTH", 384)  # the file, not the constant, says the width
    loaded = ARGN.from_state(json.loads(json.dumps(config)), tensors)
    np.testing.assert_array_equal(loaded.sample(500, seed=2), model.sample(500, seed=2))


def test_a_state_saved_with_per_input_first_layer_blocks_loads_as_the_same_model(fitted):
    """Older files hold one block per input sub-column (its embedding -> all heads' hidden layers)."""
    from lookalike.models.argn import embedding_width

    model, *_ = fitted
    config, tensors = model.get_state()
    head_in = tensors.pop("head_in")  # (heads, context, hidden), context = the embeddings side by side
    config.pop("context")
    start = 0
    for i, c in enumerate(model.cardinalities_):
        d = embedding_width(c)
        tensors[f"first.{i}"] = np.ascontiguousarray(head_in[:, start:start + d].transpose(1, 0, 2)).reshape(d, -1)
        start += d
    loaded = ARGN.from_state(config, tensors)
    np.testing.assert_array_equal(loaded.sample(2000, seed=3), model.sample(2000, seed=3))


def test_narrow_tables_lookup_tables_and_prefix_sums_give_the_same_pre_activations():
    """Unprojected contexts train through per-(token, head) lookup tables (cheaper with few sub-columns); DP-SGD
    and the projected case use prefix sums. Both must be the same function of the same parameters."""
    import torch

    from lookalike.models.argn import _Net

    tokens, cards, groups = structured_tokens(64)
    torch.manual_seed(0)
    net = _Net(cards, groups, 8, 0, 0.0, [np.zeros(c) for c in cards])
    for st in net.steps:
        torch.nn.init.normal_(st)
    x, keys = torch.from_numpy(tokens), torch.rand(len(tokens), len(groups))
    with torch.no_grad():
        torch.testing.assert_close(net.pre_activations(x, keys, lookup=True), net.pre_activations(x, keys, lookup=False),
                                   rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(net.loss(x, keys), net(x, keys), rtol=1e-5, atol=1e-5)


def test_narrow_nets_sample_through_lookup_tables_exactly_as_through_the_context(fitted, monkeypatch):
    # the fast sampling path (per-head token tables, an embedding_bag per step) must draw what the
    # fixed-width context path draws; only its cost differs
    model, tokens, _, _ = fitted
    assert not model.net_.projected
    fixed = np.full((500, tokens.shape[1]), -1, dtype=np.int64)
    fixed[:250, 0] = tokens[:250, 0]
    fast = model.sample(500, seed=4, fixed=fixed)
    net = model.net_
    assert net.sampling_tables(net.sampling_vectors()) is not None  # the lookup path is the one taken
    monkeypatch.setattr(type(net), "sampling_tables", lambda self, vectors: None)
    assert np.array_equal(fast, model.sample(500, seed=4, fixed=fixed))
    small = fast[:40].copy()  # fewer rows than tokens: the tables would cost more than they save, none are built
    monkeypatch.setattr(type(net), "sampling_tables", lambda self, vectors: pytest.fail("tables built"))
    assert 40 < net.n_tokens and model.sample(40, seed=4).shape == small.shape


def test_sampling_runs_on_one_torch_thread_and_large_calls_draw_chunks_in_parallel(fitted, monkeypatch):
    """Every sampling op runs on one torch thread (a step's ops are too small to share, see ONE_THREAD_ROWS); a
    call of several chunks draws them in as many worker threads as the model's thread count, and the draws never
    depend on that count."""
    import lookalike.models.argn as argn_module

    fitted_model, *_ = fitted
    model = ARGN.from_state(*fitted_model.get_state())
    model.n_threads = None  # the default: the machine's cores
    used, pools = [], []
    real, real_pool = argn_module.torch_threads, argn_module.ThreadPoolExecutor

    def recording(n=None):
        used.append(n)
        return real(n)

    def pool(workers, **kwargs):
        pools.append(workers)
        return real_pool(workers, **kwargs)

    monkeypatch.setattr(argn_module, "torch_threads", recording)
    monkeypatch.setattr(argn_module, "ThreadPoolExecutor", pool)
    fixed = np.full((300, 8), -1, dtype=np.int64)
    fixed[:, 3] = np.arange(300) % 8
    small = model.sample(300, seed=4, fixed=fixed)
    assert used and set(used) == {1} and not pools
    n = 2 * argn_module.SAMPLE_CHUNK + 5
    draws = {}
    for threads in (1, 2, 3):
        used.clear(), pools.clear()
        model.n_threads = threads
        draws[threads] = model.sample(n, seed=4)
        assert set(used) == {1}
        assert pools == ([] if threads == 1 else [threads])  # the workers share the chunks' blocks
    np.testing.assert_array_equal(draws[1], draws[2])
    np.testing.assert_array_equal(draws[1], draws[3])
    np.testing.assert_array_equal(small, model.sample(300, seed=4, fixed=fixed))


def test_workers_share_the_blocks_of_a_wave_not_whole_chunks(fitted, monkeypatch):
    """A wave of chunks is handed to the workers block by block (one column order of one chunk each), so two
    workers stay busy when the chunks do not divide evenly (100,000 rows: 3 chunks and a small one); the blocks may
    run in any order and give the same rows."""
    import lookalike.models.argn as argn_module

    fitted_model, *_ = fitted
    model = ARGN.from_state(*fitted_model.get_state())
    n = argn_module.SAMPLE_CHUNK + 1100  # a full chunk and a small one (of 16 orders too)
    model.n_threads = 1
    expected = model.sample(n, seed=6)
    submitted = []

    class Reversed:  # a pool that runs all the submitted work last first, when a result is first asked for
        def __init__(self, workers, **kwargs):
            self.work, self.done = [], False

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, fn, *args):
            pool = self
            submitted.append(fn)

            class Later:
                def result(self):
                    if not pool.done:
                        pool.done = True
                        for fn_, args_ in reversed(pool.work):
                            fn_(*args_)

            self.work.append((fn, args))
            return Later()

    monkeypatch.setattr(argn_module, "ThreadPoolExecutor", Reversed)
    model.n_threads = 2
    out = model.sample(n, seed=6)
    assert len(submitted) == 2 * argn_module.ORDERS_PER_CHUNK  # 16 orders in each chunk, one task each
    np.testing.assert_array_equal(out, expected)


def test_given_groups_are_learned_as_the_condition_only(fitted):
    """given_groups (a context, always fixed at sampling): the other heads learn the conditional given them,
    the given heads are never computed, and the heads' pre-activations are those of the full net."""
    import torch

    from lookalike.models.argn import _Net

    tokens, cards, groups = structured_tokens()
    model = ARGN(max_epochs=8, seed=0, n_threads=1, given_groups=[0, 1, 3]).fit(tokens, cards, groups)
    net = model.net_
    assert net.trained.tolist() == [2, 4, 5, 6, 7]
    fixed = np.full((2000, len(cards)), -1, dtype=np.int64)
    fixed[:, [0, 1, 3]] = tokens[:2000, [0, 1, 3]]
    out = model.sample(2000, seed=3, fixed=fixed)
    assert np.mean(out[:, 2] == out[:, 0] ^ out[:, 1]) > 0.9
    assert np.mean(out[:, 4] == (3 * out[:, 3]) % 8) > 0.9
    for context in (None, 4):  # unprojected (lookup tables and prefix sums) and projected
        net = _Net(cards, groups, 8, 0, 0.0, [np.zeros(c) for c in cards], context=context, given_groups=[0, 3])
        x, keys = torch.from_numpy(tokens[:50]), torch.rand(50, len(groups))
        heads = net.trained
        for lookup in (False, True):
            torch.testing.assert_close(net.pre_activations(x, keys, lookup, heads),
                                       net.pre_activations(x, keys, lookup)[:, heads])
    again = ARGN.from_state(*model.get_state())
    assert again.given_groups == [0, 1, 3]
    np.testing.assert_array_equal(again.sample(500, seed=3, fixed=fixed[:500]), model.sample(500, seed=3, fixed=fixed[:500]))


def test_precision_bfloat16_only_on_the_projected_path_and_recorded_in_the_file(monkeypatch):
    """Projected (wide) tables may train their matmuls in bfloat16; narrow ones always train in float32, where
    the lookup-table path saved no time in bfloat16 and lost validation loss. A bad value is refused up front."""
    import lookalike.models.argn as argn_module

    with pytest.raises(LookalikeError, match="argn: precision must be one of"):
        ARGN(precision="half")
    tokens, cards, groups = structured_tokens()
    narrow = ARGN(max_epochs=2, seed=0, n_threads=1, precision="bfloat16").fit(tokens, cards, groups)
    assert not narrow.net_.projected and narrow.precision_ == "float32"
    monkeypatch.setattr(argn_module, "CONTEXT_WIDTH", 12)
    wide = ARGN(max_epochs=8, seed=0, n_threads=1, precision="bfloat16").fit(tokens, cards, groups)
    assert wide.net_.projected and wide.precision_ == "bfloat16"
    assert all(np.isfinite(h["val_loss"]) for h in wide.history_)
    out = wide.sample(4000, seed=1)
    assert np.mean(out[:, 4] == (3 * out[:, 3]) % 8) > 0.8  # learned in bfloat16: an independent model gets 1/8
    config, tensors = wide.get_state()
    loaded = ARGN.from_state(json.loads(json.dumps(config)), tensors)
    assert loaded.precision_ == "bfloat16" and loaded.precision == "bfloat16"
    np.testing.assert_array_equal(loaded.sample(500, seed=2), wide.sample(500, seed=2))
    dp = ARGN(max_epochs=1, seed=0, n_threads=1, precision="bfloat16", dp_epsilon=5.0, dp_delta=1e-5,
              dp_noise_seed=1).fit(tokens, cards, groups)
    assert dp.net_.projected and dp.precision_ == "float32"  # DP-SGD's per-row gradients stay float32


@pytest.mark.parametrize("level", [500.0, -300.0])
def test_draws_follow_the_softmax_where_logits_overflow_or_underflow_float32(fitted, level):
    """A step exponentiates the logits without shifting them by each row's maximum when every row's total is
    a normal float32; logits that overflow (exp(500) is inf) or underflow (exp(-300) is 0) must still draw from
    the softmax, and a suppressed token must stay impossible."""
    import torch

    model = ARGN.from_state(*fitted[0].get_state())
    net = model.net_
    b, k = net.head_slot[7]  # sub-column 7: 30 tokens
    with torch.no_grad():
        net.out_w[b][k].zero_()  # the logits are the biases, whatever the row
        net.out_b[b][k, :30] = -1e4
        net.out_b[b][k, 3] = level
        net.out_b[b][k, 5] = level - np.log(3.0)
        net.out_b[b][k, 9] = level + 1.0
    out = model.sample(8000, seed=1, suppress={7: [9]})[:, 7]
    assert set(np.unique(out)) == {3, 5}
    assert abs(np.mean(out == 3) - 0.75) < 0.03


def test_sampling_tables_are_kept_between_calls_until_a_weight_they_read_changes(fitted):
    import torch

    model = ARGN.from_state(*fitted[0].get_state())
    net = model.net_
    with torch.no_grad():
        first = net.sampling_tables(net.sampling_vectors())
        assert net.sampling_tables(net.sampling_vectors()) is first  # kept: not recomputed per call
    before = model.sample(1000, seed=3)
    with torch.no_grad():
        net.head_in.mul_(1.5)  # an in-place edit of a weight the tables read
        assert net.sampling_tables(net.sampling_vectors()) is not first
    after = model.sample(1000, seed=3)
    fresh = ARGN.from_state(*model.get_state())  # the edited weights, nothing kept
    np.testing.assert_array_equal(after, fresh.sample(1000, seed=3))
    assert not np.array_equal(after, before)
    with torch.no_grad():  # the first layer's bias is a row of every head's table too
        kept = net.sampling_tables(net.sampling_vectors())
        net.first_bias.add_(0.5)
        assert net.sampling_tables(net.sampling_vectors()) is not kept
    shifted = model.sample(1000, seed=3)
    np.testing.assert_array_equal(shifted, ARGN.from_state(*model.get_state()).sample(1000, seed=3))
    assert not np.array_equal(shifted, after)


def test_a_large_call_plans_at_most_workers_plus_one_chunks_ahead_of_the_draws(fitted, monkeypatch):
    """A chunk's plan holds its uniforms (4 bytes per cell): a one-call sample of many chunks plans the next chunk
    only when the chunk workers + 1 places back has been drawn, so memory stays bounded by the workers, not n."""
    import lookalike.models.argn as argn_module

    fitted_model, *_ = fitted
    model = ARGN.from_state(*fitted_model.get_state())
    n = 5 * argn_module.SAMPLE_CHUNK
    model.n_threads = 1
    expected = model.sample(n, seed=8)
    undrawn, seen = [], []
    real_plan = ARGN._plan_chunk

    def plan(self, *args, **kwargs):
        out, blocks = real_plan(self, *args, **kwargs)
        left = [len(blocks)]
        undrawn.append(left)
        seen.append(sum(1 for x in undrawn if x[0]))

        def counted(block):
            def run():
                block()
                left[0] -= 1
            return run

        return out, [counted(b) for b in blocks]

    class Lazy:  # runs nothing until a result is asked for, then everything submitted up to it, in order
        def __init__(self, workers, **kwargs):
            self.queue = []

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, fn, *args):
            pool, item = self, [fn, args, False]
            self.queue.append(item)

            class Later:
                def result(self):
                    while not item[2]:
                        first = next(x for x in pool.queue if not x[2])
                        first[0](*first[1])
                        first[2] = True

            return Later()

    monkeypatch.setattr(ARGN, "_plan_chunk", plan)
    monkeypatch.setattr(argn_module, "ThreadPoolExecutor", Lazy)
    model.n_threads = 2
    np.testing.assert_array_equal(model.sample(n, seed=8), expected)
    assert len(seen) == 5 and max(seen) == 3  # workers + 1 chunks planned and not yet drawn, never more


def test_chunks_are_drawn_straight_into_the_array_a_call_returns(fitted, monkeypatch):
    """A call whose chunks make up its whole result (every ``sample``) gets them written into one array, returned
    as it is: no copy joining the chunks afterwards (17 ms per 100,000 rows of a 47-sub-column table)."""
    import lookalike.models.argn as argn_module

    fitted_model, *_ = fitted
    model = ARGN.from_state(*fitted_model.get_state())
    n = 2 * argn_module.SAMPLE_CHUNK + 100
    outs = []
    real = ARGN._plan_chunk

    def spy(self, *args, out=None, **kwargs):
        outs.append(out)
        return real(self, *args, out=out, **kwargs)

    monkeypatch.setattr(ARGN, "_plan_chunk", spy)
    results = {}
    for threads in (1, 2):
        outs.clear()
        model.n_threads = threads
        results[threads] = model.sample(n, seed=3)
        assert len(outs) == 3 and all(o is not None and np.shares_memory(o, results[threads]) for o in outs)
    np.testing.assert_array_equal(results[1], results[2])


def test_lookup_sum_gradient_is_that_of_the_plain_weighted_sum():
    """The narrow path's backward gathers each table row's gradient as one bag sum over the rows whose input holds
    its token; it must equal autograd's gradient of the plain formula, for tokens seen several times, once and
    never (their rows get zero), whatever the weights."""
    import torch

    from lookalike.models.argn import _LookupSum

    gen = torch.Generator().manual_seed(3)
    n_tok, m, hdim, n, s = 40, 5, 3, 17, 4
    tokens = torch.randint(0, 30, (n, s), generator=gen)  # tokens 30-39 never appear
    weights = torch.rand(n, m, s, generator=gen) * (torch.rand(n, m, s, generator=gen) < 0.6)
    grad = torch.randn(n, m, hdim, generator=gen)
    table = torch.randn(n_tok, m, hdim, generator=gen, requires_grad=True)
    _LookupSum.apply(table, tokens, weights).backward(grad)
    plain = table.detach().clone().requires_grad_(True)
    heads = torch.arange(m)
    (plain[tokens[:, None, :], heads[None, :, None]] * weights[..., None]).sum(2).backward(grad)
    torch.testing.assert_close(table.grad, plain.grad, rtol=1e-5, atol=1e-6)
    assert not table.grad[30:].any()


def test_dropout_drops_each_unit_with_the_asked_probability():
    """argn's dropout cuts its mask from 16-bit slices of 63-bit random words; the top slice of a word has a
    constant bit, and using it would keep too many units (0.625 instead of 0.5 at p = 0.5)."""
    import torch

    from lookalike.models.argn import _dropout

    torch.manual_seed(0)
    h = torch.ones(200_000)
    for p in (0.1, 0.25, 0.5):
        out = _dropout(h, p, True)
        assert abs(float((out == 0).float().mean()) - p) < 0.005
        assert abs(float(out.mean()) - 1.0) < 0.01  # kept units scaled by 1 / (1 - p)
    assert _dropout(h, 0.25, False) is h
    assert not _dropout(h, 1.0, True).any()
