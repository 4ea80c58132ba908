"""text_model=PATH: a local pretrained Hugging Face causal LM fine-tuned on the column. The model is a tiny GPT-2
initialised at random and its tokenizer is trained here, on the column (canary included, so the tokenizer
*could* write the secret): nothing is downloaded."""
import importlib.util
import json
import shutil
import zipfile

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("transformers")

from lookalike import Synthesizer  # noqa: E402
from lookalike.cli import main  # noqa: E402
from lookalike.errors import LookalikeError  # noqa: E402

CANARY = "zorblaxqui"
WORDS = {  # each product has its own words: a text written for a card row must be about the card
    "card": ["card", "declined", "payment", "shop", "charged"],
    "loan": ["loan", "interest", "rate", "repayment", "pending"],
    "app": ["app", "crashes", "login", "screen", "update"],
}
FILLER = ["the", "my", "was", "again", "today", "please", "help", "now", "still", "why"]
FAST = {"lr": 3e-3, "batch_size": 32, "max_time": 20, "max_epochs": 12, "n_threads": 1}


def complaints(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    product = rng.choice(list(WORDS), size=n)
    texts = []
    for p in product:
        words = [str(w) for w in rng.choice(WORDS[p], size=3)] + [str(w) for w in rng.choice(FILLER, size=3)]
        texts.append(" ".join(rng.permutation(words)))
    texts[5] = f"{texts[5]} {CANARY}"  # a secret in one row
    return pd.DataFrame({"product": product, "severity": rng.choice(["low", "high"], size=n), "text": texts})


SCHEMA = {"columns": [{"name": "product", "kind": "categorical"}, {"name": "severity", "kind": "categorical"},
                      {"name": "text", "kind": "text"}]}


def make_tiny_model(folder, texts) -> None:
    """A 2-layer GPT-2 of width 64, random weights, and a byte-level BPE tokenizer trained on ``texts``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, min_frequency=1, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(list(texts) + ["product: card; severity: low"] * 3, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|endoftext|>")
    assert len(fast.encode(" " + CANARY)) <= 2  # the tokenizer knows the secret as (nearly) one piece
    eos = fast.eos_token_id
    config = GPT2Config(vocab_size=len(fast), n_positions=128, n_embd=64, n_layer=2, n_head=2,
                        bos_token_id=eos, eos_token_id=eos)
    import torch

    torch.manual_seed(0)
    GPT2LMHeadModel(config).save_pretrained(folder)
    fast.save_pretrained(folder)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-gpt2")
    make_tiny_model(folder, complaints()["text"])
    return folder


@pytest.fixture(scope="module")
def fitted(tiny):
    df = complaints()
    syn = Synthesizer(model="copula", seed=1, schema=SCHEMA, text_model=str(tiny), text_params=FAST).fit(df)
    return df, syn


def test_text_is_filled_and_follows_its_row(fitted):
    _, syn = fitted
    out = syn.sample(300, seed=2)
    assert out["text"].notna().all() and (out["text"].str.len() > 0).mean() > 0.95
    own, other = [], []
    for product, text in zip(out["product"], out["text"]):
        words = set(text.split())
        own.append(len(words & set(WORDS[product])))
        other.append(np.mean([len(words & set(WORDS[p])) for p in WORDS if p != product]))
    # random text would use each product's words alike; the fine-tuned model uses the row's product's words
    assert np.mean(own) > 1.5 and np.mean(own) > 4 * np.mean(other), (np.mean(own), np.mean(other))


def test_canary_never_written_even_when_the_model_wants_it(fitted):
    df, syn = fitted
    lm = syn.text_models_["text"]
    context = syn._text_context(df)
    rows = np.resize(np.arange(len(df)), 3000)
    texts = lm.generate(context.iloc[rows], seed=5)
    assert len(texts) == 3000 and not any(CANARY in t for t in texts)
    canary_id = lm.tokenizer_.convert_tokens_to_ids(lm.tokenizer_.tokenize(" " + CANARY))[-1]

    def prefer_canary(module, inputs, logits):  # make the model write the secret's last piece often
        logits = logits.clone()
        logits[..., canary_id] += 8.0
        return logits

    hook = lm.model_.lm_head.register_forward_hook(prefer_canary)
    lm.chars_, chars = "", lm.chars_  # the word rules alone (the canary's letters z, q, x are rare characters too)
    try:
        raw = lm.generate_raw(context.iloc[rows[:500]], seed=6)
        written = lm.generate(context.iloc[rows[:500]], seed=6)
    finally:
        hook.remove()
        lm.chars_ = chars
    piece = lm.tokenizer_.decode([canary_id]).strip()
    assert sum(piece in t for t in raw) > 100  # the model now writes it...
    assert not any(piece in t for t in written)  # ... and none of it reaches the output
    assert not any(CANARY in t for t in written)


def test_same_seed_same_rows_and_saved_model_needs_no_directory(tiny, tmp_path):
    df = complaints(120)
    folder = tmp_path / "copy-of-model"
    shutil.copytree(tiny, folder)
    syn = Synthesizer(model="copula", seed=1, schema=SCHEMA, text_model=str(folder),
                      text_params={**FAST, "max_epochs": 2}).fit(df)
    a = syn.sample(150, seed=4)
    pd.testing.assert_frame_equal(a, syn.sample(150, seed=4))
    assert not a.equals(syn.sample(150, seed=5))
    path = syn.save(tmp_path / "m.lookalike")
    shutil.rmtree(folder)
    back = Synthesizer.load(path)
    pd.testing.assert_frame_equal(a, back.sample(150, seed=4))
    with zipfile.ZipFile(path) as zf:
        assert set(zf.namelist()) == {"model.json", "weights.safetensors"}  # JSON and tensors, no pickle
        meta = json.loads(zf.read("model.json"))
    text = json.dumps(meta["text"])
    assert str(folder) not in text and "copy-of-model" not in text  # only the parameter names the directory
    assert meta["params"]["text_model"] == str(folder)
    # the secret is in the file only inside the user's own tokenizer (this test trained it on the column)
    assert CANARY not in json.dumps({k: v for k, v in meta["text"]["text"].items() if k != "tokenizer"})
    assert CANARY not in json.dumps({k: v for k, v in meta.items() if k != "text"})


def test_bad_directories_and_missing_transformers_fail_clearly(tiny, tmp_path, monkeypatch):
    df = complaints(60)
    missing = tmp_path / "no-such-model"
    with pytest.raises(LookalikeError, match="no-such-model.*not a directory"):
        Synthesizer(model="copula", schema=SCHEMA, text_model=str(missing)).fit(df)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(LookalikeError, match="empty holds no causal language model"):
        Synthesizer(model="copula", schema=SCHEMA, text_model=str(empty)).fit(df)
    with pytest.raises(LookalikeError, match="text_model must be"):
        Synthesizer(text_model="gpt2")
    with pytest.raises(LookalikeError, match=r"unknown text_params \['hidden'\]"):  # TextLM's, not this model's
        Synthesizer(text_model=str(tiny), text_params={"hidden": 64})
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "transformers" else real(name, *a))
    with pytest.raises(LookalikeError, match=r"lookalike\[text-hf\]"):
        Synthesizer(text_model=str(empty))


def test_cli_synth_with_a_local_model(tiny, tmp_path, capsys):
    data, schema = tmp_path / "complaints.csv", tmp_path / "schema.json"
    complaints(48).to_csv(data, index=False)
    schema.write_text(json.dumps(SCHEMA))
    out = tmp_path / "synthetic.csv"
    code = main([str(a) for a in ["synth", data, "-o", out, "--model", "copula", "--schema", schema,
                                  "--text-model", tiny, "-n", "30"]])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    synth = pd.read_csv(out)
    assert len(synth) == 30 and synth["text"].notna().mean() > 0.9
    code = main(["synth", str(data), "-o", str(tmp_path / "x.csv"), "--text-model", str(tmp_path / "nothing")])
    assert code != 0 and "nothing" in capsys.readouterr().err and not (tmp_path / "x.csv").exists()


def test_sequence_model_with_a_bare_directory_name_loads_without_it(tiny, tmp_path, monkeypatch):
    """``--text-model mymodel`` (a directory in the working directory, no separator in its name): the saved
    sequence model loads and samples the same after the directory is gone."""
    from lookalike.sequential import SequenceSynthesizer

    monkeypatch.chdir(tmp_path)
    shutil.copytree(tiny, tmp_path / "mymodel")
    df = complaints(120)
    events = pd.DataFrame({"ticket": np.repeat(np.arange(40), 3), "step": np.tile(np.arange(3), 40),
                           "product": np.repeat(df["product"].to_numpy()[:40], 3), "text": df["text"].to_numpy()[:120]})
    seq = SequenceSynthesizer(entity="ticket", order="step", seed=1, max_time=10, text_model="mymodel",
                              text_params={**FAST, "max_epochs": 2}).fit(events)
    a = seq.sample(10, seed=3)
    path = seq.save(tmp_path / "s.lookalike")
    shutil.rmtree(tmp_path / "mymodel")
    back = SequenceSynthesizer.load(path)
    assert back.text_model == "mymodel"
    pd.testing.assert_frame_equal(a, back.sample(10, seed=3))


def test_conversation_replies_follow_the_generated_conversation(tmp_path):
    """A message table with --text-model PATH: each reply is written given the previous *generated* message
    (the dialogs of test_conversations: only the question tells which of four answers follows). The model
    trains until its validation loss stops improving (not against the clock), so the test is deterministic. At
    FAST's rate (3e-3) whether the random GPT-2 learned to read the question depended on the CPU's float kernels:
    on one machine its validation loss spiked (1.58 at epoch 11) and replies followed at chance (0.27); at 1e-3
    it learns the question on both (share 1.0, validation loss 0.81)."""
    from test_conversations import SCHEMA as DIALOG_SCHEMA
    from test_conversations import dialogs, replies_follow

    from lookalike.sequential import SequenceSynthesizer

    df = dialogs(400)
    make_tiny_model(tmp_path / "m", list(df["text"]) + list(complaints()["text"]))
    seq = Synthesizer(entity="conversation", order="turn", model="copula", seed=1, schema=DIALOG_SCHEMA,
                      text_model=str(tmp_path / "m"),
                      text_params={**FAST, "lr": 1e-3, "max_time": 300, "max_epochs": 40, "patience": 12}).fit(df)
    out = seq.sample(150, seed=2)
    share, n = replies_follow(out)
    assert n >= 100 and share > 0.6, (share, n)  # chance: 1 in 4 subjects
    assert set("".join(out["text"].dropna())) <= set("".join(df["text"]))  # no stray bytes or control characters
    path = seq.save(tmp_path / "conv.lookalike")
    shutil.rmtree(tmp_path / "m")
    pd.testing.assert_frame_equal(out, SequenceSynthesizer.load(path).sample(150, seed=2))


def test_a_damaged_text_model_in_a_file_is_named_with_file_and_column(fitted, tmp_path):
    _, syn = fitted
    path = syn.save(tmp_path / "m.lookalike")
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    meta = json.loads(members["model.json"])
    meta["text"]["text"]["model_config"]["model_type"] = "no-such-architecture"
    members["model.json"] = json.dumps(meta).encode()
    damaged = tmp_path / "damaged.lookalike"
    with zipfile.ZipFile(damaged, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(LookalikeError, match=r"damaged\.lookalike: text column 'text': .*no-such-architecture"):
        Synthesizer.load(damaged)
