"""The text language model: it writes text that fits its row, never a secret seen in one row, and saves as data."""
import json
import re
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch

from lookalike import Synthesizer
from lookalike.errors import LookalikeError
from lookalike.models._adamw import FusedAdamW
from lookalike.models.text_lm import RARE_CAP, TextLM, _Net, fill_urls, mask_text, rarity_weights, url_shapes

SMALL = {"hidden": 48, "embed": 32, "vocab_size": 300, "max_time": 20, "max_epochs": 30, "n_threads": 1, "lr": 0.01,
         "batch_size": 32}
CANARIES = [f"zq{c}secret{i}x" for i, c in enumerate("abcdefghij")]
TOPICS = {
    "card": ["my card was declined at the shop", "the card payment failed twice", "please block my card now",
             "card charged twice for one purchase"],
    "loan": ["the loan interest rate is too high", "my loan application is still pending",
             "loan repayment date moved without notice", "question about my loan balance"],
    "app": ["the app crashes when I log in", "app update broke the login screen", "cannot open the app today",
            "the app shows a blank page"],
}


def complaints(n: int = 360, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    product = rng.choice(list(TOPICS), size=n)
    texts = [TOPICS[p][rng.integers(4)] for p in product]
    for i, secret in enumerate(CANARIES):  # one row each holds a secret
        texts[7 * i] = f"{texts[7 * i]} {secret}"
    return pd.DataFrame({"product": product, "severity": rng.choice(["low", "high"], size=n), "text": texts})


@pytest.fixture(scope="module")
def fitted():
    df = complaints()
    syn = Synthesizer(model="copula", seed=1, schema={"columns": [
        {"name": "product", "kind": "categorical"}, {"name": "severity", "kind": "categorical"},
        {"name": "text", "kind": "text"}]}, text_params=SMALL).fit(df)
    return df, syn


def test_canaries_never_appear_in_100k_generated_texts(fitted):
    df, syn = fitted
    lm = syn.text_models_["text"]
    context = syn.encoder_.encode(df)
    rows = np.resize(np.arange(len(df)), 100_000)  # every training row's context, canary rows included
    texts = lm.generate(context[rows], seed=5)
    assert len(texts) == 100_000
    blob = "\n".join(texts).lower()
    assert all(c not in blob for c in CANARIES)
    assert "zq" not in blob and "secret" not in blob  # not even a part of one


def test_text_fits_its_row(fitted):
    _, syn = fitted
    for product in TOPICS:
        out = syn.sample(300, seed=2, conditions={"product": product})
        hits = out["text"].str.contains(product).mean()
        assert hits > 0.8, (product, hits)


def test_every_written_word_was_used_in_k_rows(fitted):
    df, syn = fitted
    words = pd.Series([w for t in df["text"] for w in set(re.findall(r"\w+", t))]).value_counts()
    out = syn.sample(2000, seed=3)
    written = {w for t in out["text"].dropna() for w in re.findall(r"\w+", t)}
    assert written and all(words.get(w, 0) >= 5 for w in written)


def test_same_seed_same_text_and_save_load_keeps_it(fitted, tmp_path):
    df, syn = fitted
    a = syn.sample(200, seed=4)
    pd.testing.assert_frame_equal(a, syn.sample(200, seed=4))
    syn.save(tmp_path / "m.lookalike")
    back = Synthesizer.load(tmp_path / "m.lookalike")
    pd.testing.assert_frame_equal(a, back.sample(200, seed=4))
    with zipfile.ZipFile(tmp_path / "m.lookalike") as zf:
        meta = zf.read("model.json").decode()
    assert not any(c in meta for c in CANARIES)
    assert "text" in json.loads(meta)["text"]


def test_pii_in_text_is_replaced_by_fakes():
    rng = np.random.default_rng(0)
    emails = ["anna.berg@acme-corp.com", "li.wei@acme-corp.com"]
    texts = [f"please write to {emails[i % 2]} about the refund" if i % 3 == 0 else "refund not received yet"
             for i in range(120)]
    df = pd.DataFrame({"kind": rng.choice(["a", "b"], size=120), "text": texts})
    lm = TextLM(seed=0, **SMALL).fit(df["text"], np.zeros((120, 1), dtype=np.int64), [1])
    out = lm.generate(np.zeros((3000, 1), dtype=np.int64), seed=1)
    blob = "\n".join(out)
    assert not any(e in blob for e in emails) and "acme" not in blob
    assert re.search(r"@\S*example\.(?:com|org|net)", blob)  # the writer's e-mail is still there, as a fake


def test_chain_keeps_the_word_chain_and_bad_choices_fail():
    df = complaints(120)
    syn = Synthesizer(model="copula", seed=0, text_model="chain", schema={"columns": [
        {"name": "product", "kind": "categorical"}, {"name": "severity", "kind": "categorical"},
        {"name": "text", "kind": "text"}]}).fit(df)
    assert syn.text_models_ == {} and syn.sample(50, seed=0)["text"].notna().all()
    with pytest.raises(LookalikeError, match="text_model"):
        Synthesizer(text_model="gpt")
    with pytest.raises(LookalikeError, match="unknown text_params"):
        Synthesizer(text_params={"temprature": 0.5})
    lm = TextLM(seed=0, **SMALL).fit(df["text"], np.zeros((120, 1), dtype=np.int64), [1])
    with pytest.raises(LookalikeError, match="temperature"):
        lm.generate(np.zeros((2, 1), dtype=np.int64), seed=0, temperature=0)


def test_urls_keep_a_common_host_never_a_path_or_a_rare_host():
    texts = [f"look https://t.co/Ab{i:08d} now" for i in range(6)] + ["see https://secret.example.org/x1 here"]
    urls = url_shapes(texts, k=5)
    assert list(urls) == ["https://t.co/"] and urls["https://t.co/"] == {10: 6}
    assert mask_text(texts[0], urls) == "look https://t.co/<URL> now"
    assert mask_text(texts[-1], urls) == "see <URL> here"  # a rare host is masked whole
    rng = np.random.default_rng(0)
    out = [fill_urls(t, urls, rng) for t in ["a https://t.co/<URL>", "b <URL>", "c http://secret.example.org/<URL>"]]
    assert all(re.fullmatch(r"\w https://t\.co/[A-Za-z0-9]{10}", t) for t in out), out
    assert not any(f"Ab{i:08d}" in "".join(out) for i in range(6))  # no real path


def test_a_kept_host_url_is_written_once_when_pii_is_looked_for_again():
    """finish(rescan=True), as the pretrained model uses it: a kept host's URL is one URL, not two."""
    lm = TextLM(k=5)
    lm.learn_protection([f"look https://t.co/Ab{i:08d} now" for i in range(6)])
    for rescan in (False, True):
        out = lm.finish(["look https://t.co/<URL> now"] * 20, seed=1, rescan=rescan)
        assert all(t.count("https://t.co/") == 1 and re.fullmatch(r"look https://t\.co/\w{10} now", t) for t in out)


def test_rewrite_puts_real_text_through_the_privacy_rules():
    lm = TextLM(k=5)
    lm.learn_protection(complaints()["text"].tolist())
    out = lm.rewrite([f"my card was declined {CANARIES[0]}", "write to anna.berg@acme-corp.com"], seed=0)
    assert out[0].startswith("my card was declined ") and CANARIES[0] not in out[0]
    assert "acme" not in out[1] and "@" in out[1]  # the e-mail is a fake
    assert out == lm.rewrite([f"my card was declined {CANARIES[0]}", "write to anna.berg@acme-corp.com"], seed=0)


def test_cli_text_params_reach_the_text_model_and_bad_keys_are_named(tmp_path, capsys):
    from lookalike.cli import main

    data, schema = tmp_path / "complaints.csv", tmp_path / "schema.json"
    complaints(120).to_csv(data, index=False)
    schema.write_text(json.dumps({"columns": [{"name": "product", "kind": "categorical"},
                                              {"name": "severity", "kind": "categorical"},
                                              {"name": "text", "kind": "text"}]}))
    model = tmp_path / "m.lookalike"
    settings = [f"--text-param={k}={v}" for k, v in {**SMALL, "max_epochs": 2, "temperature": 0.7}.items()]
    assert main(["fit", str(data), "-o", str(model), "--model", "copula", "--schema", str(schema), *settings]) == 0
    lm = Synthesizer.load(model).text_models_["text"]
    assert (lm.max_epochs, lm.temperature, lm.hidden, lm.epochs_) == (2, 0.7, 48, 2)
    out = tmp_path / "s.csv"
    code = main(["synth", str(data), "-o", str(out), "--model", "copula", "--text-param", "temprature=0.7"])
    err = capsys.readouterr().err
    assert code != 0 and "temprature" in err and "temperature" in err and not out.exists()
    code = main(["synth", str(data), "-o", str(out), "--text-param", "temperature"])
    assert code != 0 and "--text-param expects KEY=VALUE" in capsys.readouterr().err and not out.exists()


def test_a_model_file_from_before_the_context_bias_still_loads_and_writes_the_same():
    df = complaints(120)
    ctx = np.zeros((120, 1), dtype=np.int64)
    lm = TextLM(seed=0, context_bias=False, value_bias=False, **{**SMALL, "max_epochs": 3}).fit(df["text"], ctx, [1])
    config, tensors = lm.get_state()
    for setting in ("context_bias", "column_dropout", "guidance", "context_init", "rare_weight", "value_bias"):
        del config["params"][setting]  # files saved before these settings existed
    del config["value_columns"]
    back = TextLM.from_state(json.loads(json.dumps(config)), tensors)
    assert not back.context_bias and back.column_dropout == 0 and back.guidance == 0 and back.context_init == 1.0
    assert not back.value_bias and back.rare_weight == 0
    assert back.generate(ctx[:50], seed=3) == lm.generate(ctx[:50], seed=3)


def test_context_init_sets_the_scale_the_column_embeddings_start_from_and_is_saved():
    """context_init: the row's column embeddings start at that standard deviation (the default keeps
    nn.Embedding's N(0, 1)); the setting travels with a saved model."""
    torch.manual_seed(0)
    small = _Net([400, 300], vocab=30, embed=32, hidden=48, context_init=0.1)
    torch.manual_seed(0)
    plain = _Net([400, 300], vocab=30, embed=32, hidden=48)
    assert all(0.08 < float(e.weight.detach().std()) < 0.12 for e in small.context)
    assert all(0.9 < float(e.weight.detach().std()) < 1.1 for e in plain.context)
    df = complaints(120)
    ctx = np.zeros((120, 1), dtype=np.int64)
    lm = TextLM(seed=0, context_init=0.1, **{**SMALL, "max_epochs": 2}).fit(df["text"], ctx, [1])
    config, tensors = lm.get_state()
    back = TextLM.from_state(json.loads(json.dumps(config)), tensors)
    assert back.context_init == 0.1 and back.generate(ctx[:30], seed=2) == lm.generate(ctx[:30], seed=2)


def test_the_default_embeds_pieces_in_160_dims_and_starts_the_columns_small():
    """The defaults since helper text10 (benchmarks/RESULTS.md, text10's section): embed 160, context_init 0.1."""
    lm = TextLM()
    assert lm.embed == 160 and lm.context_init == 0.1
    df = complaints(120)
    ctx = np.stack([np.arange(120) % 400, np.arange(120) % 3], 1)
    lm = TextLM(seed=0, **{**{k: v for k, v in SMALL.items() if k != "embed"}, "max_epochs": 1}).fit(df["text"], ctx, [400, 3])
    assert lm.net_.token.weight.shape[1] == 160 and float(lm.net_.context[0].weight.detach().std()) < 0.3


def test_context_bias_learns_a_rare_values_own_words():
    """A value held by 5% of rows gets its own word through the per-column shift of the logits, and writes it."""
    rng = np.random.default_rng(0)
    kind = np.where(np.arange(400) % 20 == 0, 1, 0)
    common = ["the order arrived late", "the order was fine", "order came on time", "the order was late"]
    texts = ["my refund request for the order" if k else common[rng.integers(4)] for k in kind]
    lm = TextLM(seed=0, context_bias=True, **SMALL).fit(pd.Series(texts), kind[:, None], [2])
    with torch.no_grad():
        shift = lm.net_.context_logits(torch.tensor([[0], [1]]))
    refund = lm.tokenizer_.encode("refund").ids[0]
    assert float(shift[1, refund] - shift[0, refund]) > 0.5
    assert np.mean(["refund" in t for t in lm.generate(np.ones((200, 1), dtype=np.int64), seed=1)]) > 0.8
    assert np.mean(["refund" in t for t in lm.generate(np.zeros((200, 1), dtype=np.int64), seed=1)]) < 0.1


def test_guidance_writes_a_values_own_words_more_often_for_its_rows():
    """Guidance weighs what the row's columns add: half the rows of a rare value use its own words, and a guided
    model writes them for more of that value's rows than the same model unguided, and no more for other rows.
    The setting is saved with the model."""
    rng = np.random.default_rng(0)
    kind = np.where(np.arange(400) % 10 == 0, 1, 0)
    common = ["the order arrived late", "the order was fine", "order came on time", "the order was late"]
    texts = ["my refund request for the order" if k and rng.random() < 0.5 else common[rng.integers(4)] for k in kind]
    lm = TextLM(seed=0, guidance=2.0, **SMALL).fit(pd.Series(texts), kind[:, None], [2])
    ones, zeros = np.ones((300, 1), dtype=np.int64), np.zeros((300, 1), dtype=np.int64)
    guided = [np.mean(["refund" in t for t in lm.generate(c, seed=1)]) for c in (ones, zeros)]
    lm.guidance = 0.0
    plain = [np.mean(["refund" in t for t in lm.generate(c, seed=1)]) for c in (ones, zeros)]
    assert guided[0] > plain[0] + 0.1 and guided[1] <= plain[1] + 0.01
    lm.guidance = 2.0
    config, tensors = lm.get_state()
    assert TextLM.from_state(json.loads(json.dumps(config)), tensors).generate(ones[:50], seed=4) == \
        lm.generate(ones[:50], seed=4)


def test_column_dropout_leaves_sampling_alone():
    """Columns are left out only while training: the fitted model reads every column, the same way each time."""
    df = complaints(120)
    ctx = np.stack([np.arange(120) % 3, np.arange(120) % 2], axis=1).astype(np.int64)
    lm = TextLM(seed=0, column_dropout=0.5, **{**SMALL, "max_epochs": 3}).fit(df["text"], ctx, [3, 2])
    assert not lm.net_.training
    assert lm.generate(ctx[:40], seed=2) == lm.generate(ctx[:40], seed=2)
    with torch.no_grad():
        assert torch.equal(lm.net_.embed_context(torch.from_numpy(ctx[:5])),
                           lm.net_.context[0](torch.from_numpy(ctx[:5, 0])) + lm.net_.context[1](torch.from_numpy(ctx[:5, 1])))


def test_a_rare_words_place_gets_a_made_up_word_never_a_real_one():
    """Rare words' places are filled with made-up words (seen about once, as the rare words were), none of
    which is any word of the training texts; without the pool (fresh_words=False) kept words fill them."""
    rng = np.random.default_rng(0)
    syllables = ["ka", "lo", "mi", "ren", "sut", "ba", "ter", "on", "vi", "dar"]
    rare = sorted({"".join(rng.choice(syllables, size=3)) for _ in range(600)})
    texts = [f"the order of {rare[i % len(rare)]} was late" for i in range(len(rare))]
    train_words = {w for t in texts for w in re.findall(r"\w+", t)}
    lm = TextLM(k=5, seed=1)
    lm.learn_protection(texts)
    out = lm.rewrite(texts, seed=2)
    written = [re.findall(r"\w+", t)[3] for t in out]  # the rare word's place
    assert all(w not in train_words for w in written)
    assert len(set(written)) > 0.8 * len(written)  # each made up word written about once
    assert not train_words & set(lm.fresh_["lower"])  # the pool (saved in the model file) holds no real word
    kept = TextLM(k=5, seed=1, fresh_words=False)
    kept.learn_protection(texts)
    assert all(re.findall(r"\w+", t)[3] in kept.words_ for t in kept.rewrite(texts, seed=2))


def _rare_word_texts():
    rng = np.random.default_rng(0)
    syllables = ["ka", "lo", "mi", "ren", "sut", "ba", "ter", "on", "vi", "dar"]
    rare = sorted({"".join(rng.choice(syllables, size=3)) for _ in range(600)})
    return [f"the order of {rare[i % len(rare)]} was late" for i in range(len(rare))]


def test_made_up_words_never_take_letters_from_one_row_nor_a_word_hidden_in_a_pii_span():
    """Review findings: letter steps counted by rare words let one row's several rare words (a document that
    inflects an unusual surname) into the pool; and words inside spans masked as PII were not excluded."""
    texts = _rare_word_texts()
    lm = TextLM(k=5, seed=1)
    lm.learn_protection(texts + ["qwzkalo qwzkami qwzkaren qwzkasut qwzkaba qwzkavi"])
    assert lm.fresh_.get("lower") and not any("qw" in w or "wz" in w for w in lm.fresh_["lower"])
    base = TextLM(k=5, seed=1)
    base.learn_protection(texts)
    assert base.fresh_.get("lower")
    hidden = base.fresh_["lower"][0]  # a word the pool would write ...
    with_name = TextLM(k=5, seed=1)
    with_name.learn_protection(texts + [f"John {hidden.capitalize()}"])  # ... used by a row as a person's name
    assert with_name.words_ == base.words_  # the row is all PII: the protected words did not change
    assert hidden not in with_name.fresh_["lower"] and hidden.capitalize() not in with_name.fresh_.get("cap", [])


def test_a_marker_written_against_letters_gets_a_kept_word_for_the_whole_run():
    lm = TextLM(k=5, seed=1)
    lm.learn_protection(_rare_word_texts())
    out = lm.finish(["the order of lo<word>s was late"] * 30, seed=3)
    assert all(re.findall(r"\w+", t)[3] in lm.words_ for t in out)


def test_anneal_ends_a_fit_the_budget_stops_on_a_tenth_of_the_learning_rate(monkeypatch):
    """With anneal=0.5 the learning rate keeps its full value over the first half of the CPU budget, then falls step
    by step to a tenth when the budget runs out (the clock is faked: one CPU second per reading); without it the
    rate stays (no plateau decay here)."""
    import lookalike.models.text_lm as text_lm

    clock = iter(range(10**6))
    monkeypatch.setattr(text_lm.time, "process_time", lambda: float(next(clock)))
    rates, step = [], FusedAdamW.step

    def recording_step(self, *args, **kwargs):
        rates.append(self.param_groups[0]["lr"])
        return step(self, *args, **kwargs)

    monkeypatch.setattr(FusedAdamW, "step", recording_step)
    df = complaints(120)
    settings = {**SMALL, "max_time": 200, "max_epochs": 1000, "patience": 1000, "decay": 1.0}
    TextLM(seed=0, anneal=0.5, **settings).fit(df["text"], np.zeros((120, 1), dtype=np.int64), [1])
    assert len(rates) > 100 and rates[0] == SMALL["lr"]
    full = rates[: len(rates) * 2 // 5]
    assert all(r == SMALL["lr"] for r in full)
    assert all(a >= b for a, b in zip(rates, rates[1:])) and rates[-1] < 0.15 * SMALL["lr"]
    rates.clear()
    clock = iter(range(10**6))
    TextLM(seed=0, **settings).fit(df["text"], np.zeros((120, 1), dtype=np.int64), [1])
    assert len(rates) > 100 and set(rates) == {SMALL["lr"]}


def _count_steps(monkeypatch):
    steps, step = [], FusedAdamW.step

    def counting_step(self, *args, **kwargs):
        steps.append(1)
        return step(self, *args, **kwargs)

    monkeypatch.setattr(FusedAdamW, "step", counting_step)
    return steps


def test_the_default_budget_is_work_so_a_slower_cpu_trains_the_same_model(monkeypatch):
    """At the defaults (no max_time) training stops after a number of piece slots read, not of CPU seconds: a CPU
    clock running 100 times faster per reading (a machine under load spends more CPU seconds on the same step) gives
    the same steps and the same weights; the CPU budget of 20 s that the defaults used to have for so small a table
    stopped the slow clock's fit after about 200 readings."""
    import lookalike.models.text_lm as text_lm

    monkeypatch.setattr(text_lm, "MIN_PIECES", 70_000)
    monkeypatch.setattr(text_lm, "PIECES_PER_10K", 0)
    steps = _count_steps(monkeypatch)
    df = complaints(120)
    settings = {k: v for k, v in SMALL.items() if k != "max_time"} | {"max_epochs": 1000, "patience": 1000}
    fits = []
    for per_reading in (0.001, 0.1):
        clock = iter(np.arange(10**6) * per_reading)
        monkeypatch.setattr(text_lm.time, "process_time", lambda: float(next(clock)))
        steps.clear()
        lm = TextLM(seed=0, **settings).fit(df["text"], np.zeros((120, 1), dtype=np.int64), [1])
        fits.append((len(steps), getattr(lm, "work_read_", None), lm.net_.out.weight.detach().clone()))
    (fast_steps, fast_read, fast_w), (slow_steps, slow_read, slow_w) = fits
    assert fast_steps == slow_steps > 30 and fast_read == slow_read
    # stopped by the work, on the batch that reached it
    assert 70_000 <= slow_read < 70_000 + 32 * 12 + text_lm.STEP_PIECES
    assert torch.equal(fast_w, slow_w)


def test_the_default_budget_counts_each_optimizer_step_as_work(monkeypatch):
    """A step costs CPU time besides its piece slots (short texts share that cost among few slots: chatterbot's
    messages cost 494 CPU s per 10,000 texts under the slots-only budget, tweets 330), so the budget counts
    STEP_PIECES per step on top of the slots: the same budget buys fewer steps of short texts when a step counts
    for more, and the work read is the slots plus that much per step."""
    import lookalike.models.text_lm as text_lm

    monkeypatch.setattr(text_lm, "MIN_PIECES", 70_000)
    monkeypatch.setattr(text_lm, "PIECES_PER_10K", 0)
    steps = _count_steps(monkeypatch)
    df = complaints(120)
    settings = {k: v for k, v in SMALL.items() if k != "max_time"} | {"max_epochs": 1000, "patience": 1000}
    counted = []
    for per_step in (0, 2_000):
        monkeypatch.setattr(text_lm, "STEP_PIECES", per_step)
        steps.clear()
        lm = TextLM(seed=0, **settings).fit(df["text"], np.zeros((120, 1), dtype=np.int64), [1])
        assert lm.work_read_ == lm.pieces_read_ + per_step * len(steps) >= 70_000
        counted.append(len(steps))
    slots_only, with_steps = counted
    assert slots_only > 300 and with_steps < 40  # a step of ~12 x 32 slots now counts as ~2,400


def test_the_cpu_safety_stop_still_ends_a_default_fit(monkeypatch):
    """A CPU clock so slow that the piece budget would take hours: the defaults' safety stop (at least MIN_CPU_CAP
    CPU seconds) ends the fit."""
    import lookalike.models.text_lm as text_lm

    monkeypatch.setattr(text_lm, "MIN_PIECES", 10**9)
    steps = _count_steps(monkeypatch)
    clock = iter(range(10**6))  # one CPU second per reading
    monkeypatch.setattr(text_lm.time, "process_time", lambda: float(next(clock)))
    df = complaints(120)
    settings = {k: v for k, v in SMALL.items() if k != "max_time"} | {"max_epochs": 1000, "patience": 1000}
    TextLM(seed=0, **settings).fit(df["text"], np.zeros((120, 1), dtype=np.int64), [1])
    assert 0 < len(steps) <= text_lm.MIN_CPU_CAP


def test_the_default_temperature_is_a_little_above_one():
    """Sampling writes at temperature 1.05 unless told otherwise (trump_tweets' tuning split: TF-IDF discriminator
    AUC 0.751 at 1.0, 0.726 at 1.05): the defaults' texts are those of temperature=1.05, not of 1.0."""
    df = complaints(120)
    ctx = np.zeros((120, 1), dtype=np.int64)
    lm = TextLM(seed=0, **(SMALL | {"max_epochs": 3})).fit(df["text"], ctx, [1])
    rows = np.zeros((200, 1), dtype=np.int64)
    default = lm.generate(rows, seed=3)
    assert default == lm.generate(rows, seed=3, temperature=1.05)
    assert default != lm.generate(rows, seed=3, temperature=1.0)


def test_the_one_softmax_cross_entropy_is_torchs_in_value_and_gradient():
    """``cross_entropy`` keeps the softmax of its forward pass for the gradient (about 4 ms against torch's 9.5 on
    1,600 x 1,500 logits): the same loss and gradient as ``nn.functional.cross_entropy``."""
    from lookalike.models.text_lm import cross_entropy

    gen = torch.Generator().manual_seed(0)
    logits = (torch.randn(300, 50, generator=gen) * 4).requires_grad_()
    target = torch.randint(0, 50, (300,), generator=gen)
    ours = cross_entropy(logits, target)
    (g_ours,) = torch.autograd.grad(3 * ours, logits)
    theirs = torch.nn.functional.cross_entropy(logits, target)
    (g_theirs,) = torch.autograd.grad(3 * theirs, logits)
    assert torch.allclose(ours, theirs, atol=1e-5) and torch.allclose(g_ours, g_theirs, atol=1e-6)


def _net_and_batch():
    torch.manual_seed(0)
    net = _Net([4, 3], vocab=40, embed=16, hidden=24, context_bias=True)
    torch.nn.init.normal_(net.out_context.weight)  # a shift that matters
    net.eval()
    tokens = torch.randint(3, 40, (5, 9))
    tokens[1, 6:] = 0  # padded rows, as a batch of texts of different lengths has them
    tokens[3, 2:] = 0
    targets = torch.cat([tokens[:, 1:], torch.zeros(5, 1, dtype=torch.long)], dim=1)
    return net, torch.tensor([[0, 1], [1, 2], [2, 0], [3, 1], [0, 0]]), tokens, targets


def test_the_training_loss_reads_the_vocabulary_only_where_a_piece_is_predicted():
    """The loss is forward's cross-entropy over the non-padded targets, but the output layer (the vocabulary's
    matmul, a third of a step) is applied to those slots only, not to every padded slot."""
    net, ctx, tokens, targets = _net_and_batch()
    rows_seen = []
    net.out.register_forward_hook(lambda mod, inp, out: rows_seen.append(inp[0].reshape(-1, 24).shape[0]))
    loss = net.piece_loss(ctx, tokens, targets)
    logits, _ = net(ctx, tokens)
    reference = torch.nn.functional.cross_entropy(logits.reshape(-1, 40), targets.reshape(-1), ignore_index=0)
    assert torch.allclose(loss, reference, atol=1e-5)
    assert rows_seen[0] == int((targets != 0).sum()) < targets.numel()


def test_bf16_logits_multiply_the_output_layer_in_bfloat16_for_about_the_same_loss():
    """``bf16=True`` runs the output layer's matmul in bfloat16 (three times cheaper on a CPU with AMX), its loss
    within bf16's rounding of the fp32 one; the weights stay fp32."""
    net, ctx, tokens, targets = _net_and_batch()
    dtypes = []
    net.out.register_forward_hook(lambda mod, inp, out: dtypes.append(out.dtype))
    with torch.no_grad():
        fp32, bf16 = net.piece_loss(ctx, tokens, targets), net.piece_loss(ctx, tokens, targets, bf16=True)
    assert dtypes == [torch.float32, torch.bfloat16] and net.out.weight.dtype == torch.float32
    assert 0 < abs(float(fp32) - float(bf16)) < 0.02 * float(fp32)


def test_a_fit_trains_with_bf16_matmuls_where_the_cpu_has_them_and_restores_the_setting(monkeypatch):
    """``bf16_logits=None`` (the default) follows ``bf16_matmuls()`` (AMX): training then runs the output layer in
    bfloat16 and the other fp32 matmuls (the GRU's) with bf16 inputs inside oneDNN, and leaves torch's matmul
    precision as it found it; ``bf16_logits=False`` trains in fp32 throughout."""
    import lookalike.models.text_lm as text_lm

    knob = torch.backends.mkldnn.matmul
    if not hasattr(knob, "fp32_precision"):
        pytest.skip("this torch has no oneDNN fp32 precision switch")
    seen, loss = [], text_lm._Net.piece_loss

    def recording_loss(self, *args, bf16=False, **kwargs):
        seen.append((bf16, knob.fp32_precision))
        return loss(self, *args, bf16=bf16, **kwargs)

    monkeypatch.setattr(text_lm._Net, "piece_loss", recording_loss)
    df, before = complaints(120), knob.fp32_precision
    for cpu_has_it, setting, expected in ((True, None, (True, "bf16")), (False, None, (False, before)),
                                          (True, False, (False, before))):
        monkeypatch.setattr(text_lm, "bf16_matmuls", lambda: cpu_has_it)
        seen.clear()
        TextLM(seed=0, bf16_logits=setting, **(SMALL | {"max_epochs": 2})).fit(
            df["text"], np.zeros((120, 1), dtype=np.int64), [1])
        assert set(seen) == {expected} and knob.fp32_precision == before


def test_the_weighted_cross_entropy_is_torchs_per_row_losses_times_the_weights():
    """``cross_entropy(..., weight)``: each row's loss times its weight, then the mean over rows, in value and
    gradient (``rare_weight`` trains with it)."""
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(30, 12, generator=g, requires_grad=True)
    target, weight = torch.randint(0, 12, (30,), generator=g), torch.rand(30, generator=g) * 3
    from lookalike.models.text_lm import cross_entropy

    ours = cross_entropy(logits, target, weight)
    ours.backward()
    grad, logits.grad = logits.grad.clone(), None
    theirs = (torch.nn.functional.cross_entropy(logits, target, reduction="none") * weight).mean()
    theirs.backward()
    assert torch.allclose(ours, theirs, atol=1e-6) and torch.allclose(grad, logits.grad, atol=1e-6)


def test_rarity_weights_lift_rows_of_rare_values_and_keep_the_mean_at_one():
    """A row's weight grows with its rarest value's rarity (the column's uniform share over the value's rows),
    capped, to the given power, and the weights average 1; power 0 weighs every row alike."""
    ctx = np.stack([np.r_[np.zeros(90), np.ones(8), np.full(2, 2)], np.arange(100) % 4], 1).astype(np.int64)
    w = rarity_weights(ctx, 1.0)
    assert abs(w.mean() - 1) < 1e-9
    # uniform share 100 / 3 rows: value 1 (8 rows) is 4.2 times rarer than that, value 2 (2 rows) capped at 8
    assert np.allclose(w[90] / w[0], (100 / 3) / 8) and np.allclose(w[98] / w[0], RARE_CAP)
    assert np.allclose(rarity_weights(ctx, 0.5)[98] / rarity_weights(ctx, 0.5)[0], RARE_CAP ** 0.5)
    assert np.all(rarity_weights(ctx, 0.0) == 1)


def test_by_default_each_categorical_value_shifts_the_logits_by_its_own_vector():
    """value_bias (the default since helper trumptstr): a categorical column's each value has its own logit shift,
    learned from its rows alone, so a value held by 4% of rows writes its own word for its rows and not for
    others (trump_tweets' rare clients: TwitLonger's "(cont)"). The Synthesizer gives the categorical columns'
    value tokens only, never a number's bins; the shift is saved with the model."""
    rng = np.random.default_rng(0)
    n = 400
    kind = np.where(np.arange(n) % 25 == 0, "refund", "order")
    common = ["the order arrived late", "the order was fine", "order came on time", "the order was late"]
    df = pd.DataFrame({"kind": kind, "amount": rng.gamma(2.0, 50.0, n).round(2),
                       "text": ["my refund request for the order" if k == "refund" else common[rng.integers(4)]
                                for k in kind]})
    syn = Synthesizer(model="copula", seed=1, schema={"columns": [
        {"name": "kind", "kind": "categorical"}, {"name": "amount", "kind": "numeric"},
        {"name": "text", "kind": "text"}]}, text_params=SMALL).fit(df)
    lm, enc = syn.text_models_["text"], syn.encoder_
    assert lm.value_bias and lm.value_columns_ == [enc.group_of("kind")][0][:1] == lm.net_.value_columns
    assert len(lm.net_.value_logits) == 1 and enc.group_of("amount")[0] not in lm.value_columns_
    ctx = enc.encode(df)
    refund_rows, order_rows = ctx[kind == "refund"], ctx[kind == "order"]
    piece = lm.tokenizer_.encode("refund").ids[0]
    with torch.no_grad():
        shift = lm.net_.context_logits(torch.from_numpy(np.r_[refund_rows[:1], order_rows[:1]]))
    assert float(shift[0, piece] - shift[1, piece]) > 0.25
    rare = np.resize(refund_rows, (200, ctx.shape[1]))
    assert np.mean(["refund" in t for t in lm.generate(rare, seed=1)]) > 0.8
    assert np.mean(["refund" in t for t in lm.generate(order_rows[:200], seed=1)]) < 0.1
    config, tensors = lm.get_state()
    assert TextLM.from_state(json.loads(json.dumps(config)), tensors).generate(rare[:50], seed=4) == \
        lm.generate(rare[:50], seed=4)


def _refund_rows():
    """400 texts: the rows of value 1 (4% of them) ask for a refund, the others are about an order."""
    rng = np.random.default_rng(0)
    n = 400
    kind = np.where(np.arange(n) % 25 == 0, 1, 0)
    common = ["the order arrived late", "the order was fine", "order came on time", "the order was late"]
    texts = pd.Series(["my refund request for the order" if k else common[rng.integers(4)] for k in kind])
    return texts, np.c_[kind, rng.integers(0, 4, n)], kind


def _refund_shift(lm) -> float:
    """How much further value 1's logit shift lifts the 'refund' piece than value 0's."""
    piece = lm.tokenizer_.encode("refund").ids[0]
    with torch.no_grad():
        shift = lm.net_.context_logits(torch.from_numpy(np.array([[1, 0], [0, 0]])))
    return float(shift[0, piece] - shift[1, piece])


def test_by_default_each_values_logit_shift_learns_faster_and_is_saved():
    """value_lr (100 by default): a categorical value's own logit shift learns value_lr times as fast as the other
    weights (Adam's steps are about the learning rate in size, so a rare value's shift, read in few batches, stayed
    small: on trump_tweets' tuning split its rare clients' texts carried their own words weakly). After the same
    few epochs the rare value's shift on its own word is larger by default than at value_lr 1 (the old model); a
    model saved with it writes the same texts when loaded, and one saved before it loads at 1 (as it was)."""
    texts, ctx, kind = _refund_rows()
    gaps = {}
    for value_lr in (1.0, None):
        lm = TextLM(**{**SMALL, "max_time": None, "max_epochs": 3, "patience": 10}, seed=3, k=3,
                    **({} if value_lr is None else {"value_lr": value_lr})).fit(texts, ctx, [2, 4], value_columns=[0])
        gaps[value_lr] = _refund_shift(lm)
    assert gaps[None] > 2 * max(gaps[1.0], 0.05), gaps
    config, tensors = lm.get_state()
    assert config["params"]["value_lr"] == 30.0  # SMALL's lr 0.01: the default's 100 at lr 3e-3, scaled to 0.01
    rows = np.resize(ctx[kind == 1], (50, 2))
    assert TextLM.from_state(json.loads(json.dumps(config)), tensors).generate(rows, seed=4) == lm.generate(rows, seed=4)
    old = json.loads(json.dumps(config))
    del old["params"]["value_lr"]
    assert TextLM.from_state(old, tensors).value_lr == 1.0


def test_by_default_a_rare_values_rows_take_its_own_words_sooner_than_at_value_lr_30():
    """value_lr 100 by default at the default lr 3e-3 (30 before; benchmarks/RESULTS.md "text_trump45"): after
    two epochs a value held by 4% of rows has moved its own word's logit further than at 30, and its rows write that
    word more often (trump_tweets' rare clients: their texts carry their own words, which text-to-column TSTR
    reads). At another learning rate the default scales so that the shifts' steps stay the same (30 at 0.01)."""
    texts, ctx, _ = _refund_rows()
    rare_rows = np.c_[np.ones(400, dtype=int), np.arange(400) % 4]
    gaps, shares = {}, {}
    for value_lr in (30.0, None):
        lm = TextLM(**{**SMALL, "lr": 3e-3, "max_time": None, "max_epochs": 2, "patience": 10}, seed=3, k=3,
                    **({} if value_lr is None else {"value_lr": value_lr})).fit(texts, ctx, [2, 4], value_columns=[0])
        gaps[value_lr] = _refund_shift(lm)
        shares[value_lr] = float(np.mean(["refund" in t for t in lm.generate(rare_rows, seed=4)]))
    assert lm.value_lr_ == 100.0 and lm.value_lr is None
    assert lm.get_state()[0]["params"]["value_lr"] == 100.0
    assert TextLM(lr=0.01)._value_lr() == 30.0 and TextLM(lr=0.01, value_lr=7)._value_lr() == 7.0
    assert gaps[None] > 2 * gaps[30.0] > 0, gaps
    assert shares[None] > shares[30.0], shares
