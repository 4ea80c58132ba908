"""Conversations: a message table is a sequence whose text is written given the conversation so far.

The dialogs are made here so that only the previous message can explain a reply: a question about a subject is
answered with words used only after that subject, and a conversation asks about two subjects in turn (so the
reply must follow the *latest* question, not the conversation's first one)."""
import io
import itertools
import zipfile

import numpy as np
import pandas as pd
import pytest

from lookalike import Synthesizer
from lookalike.errors import LookalikeError
from lookalike.sequential import SequenceSynthesizer

ANSWERS = {"apples": "sweet fruit", "trains": "fast rails", "music": "loud songs", "rain": "wet clouds"}
SECRETS = [f"zq{c}canary{i}x" for i, c in enumerate("abcdefghij")]
SMALL = {"hidden": 96, "embed": 48, "vocab_size": 200, "max_time": 8, "max_epochs": 30, "n_threads": 1, "lr": 0.01,
         "batch_size": 32}
SCHEMA = {"columns": [{"name": "conversation", "kind": "id"}, {"name": "turn", "kind": "numeric"},
                      {"name": "role", "kind": "categorical"}, {"name": "text", "kind": "text"}]}


FILLER = ["hello", "well", "so", "now", "okay", "hey", "please", "today", "again", "quickly", "friend", "then"]


def dialogs(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """Varied wording (so the messages are free text, not a handful of categories the window could carry)."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n):
        subjects = rng.choice(list(ANSWERS), size=2 if c % 2 else 1, replace=False)
        for turn, s in enumerate(subjects):
            a, b, d, e = rng.choice(FILLER, size=4)
            rows.append({"conversation": f"c{c}", "turn": 2 * turn, "role": "user",
                         "text": f"{a} tell me about {s} {b}"})
            rows.append({"conversation": f"c{c}", "turn": 2 * turn + 1, "role": "bot",
                         "text": f"{d} it is {ANSWERS[s]} {e}"})
    for row, secret in zip(rows[2::37], SECRETS):  # ten conversations each hold a secret in one message
        row["text"] = f"{row['text']} {secret}"
    return pd.DataFrame(rows)


def fit(**kwargs) -> SequenceSynthesizer:
    return Synthesizer(entity="conversation", order="turn", model="copula", seed=1, schema=SCHEMA,
                       text_params=SMALL, **kwargs).fit(dialogs())


def replies_follow(out: pd.DataFrame) -> tuple[float, int]:
    """Share of generated questions whose next generated message holds that subject's answer."""
    hits = []
    for _, g in out.sort_values(["conversation", "turn"]).groupby("conversation"):
        texts = g["text"].astype(str).tolist()
        for question, reply in itertools.pairwise(texts):
            subject = next((s for s in ANSWERS if f"about {s}" in question), None)
            if subject is not None and " it is " in f" {reply} ":
                hits.append(ANSWERS[subject] in reply)
    return float(np.mean(hits)), len(hits)


@pytest.fixture(scope="module")
def fitted():
    return fit()


def test_reply_follows_the_previous_generated_message(fitted):
    assert list(fitted.text_models_) == ["text"] and fitted.text_models_["text"].prompted_
    share, n = replies_follow(fitted.sample(300, seed=2))
    assert n > 200 and share > 0.8, (share, n)  # chance is 1 in 4
    share_alone, n_alone = replies_follow(fit(text_history=False).sample(300, seed=2))
    assert n_alone > 200 and share_alone < 0.5, (share_alone, n_alone)  # the text alone cannot know the question


def test_a_secret_in_one_conversation_never_appears(fitted, tmp_path):
    out = fitted.sample(2000, seed=3)
    blob = "\n".join(out["text"].dropna()).lower()
    assert "zq" not in blob and "canary" not in blob
    lm = fitted.text_models_["text"]
    held = [t for t in dialogs()["text"] if "canary" in t]
    assert len(held) == 10
    # the worst case: replies to the very messages that hold them, read as prompts
    texts = lm.generate(np.zeros((20_000, len(lm.cardinalities_)), dtype=np.int64), seed=5,
                        prompts=[[held[i % 10]] for i in range(20_000)])
    blob = "\n".join(texts).lower()
    assert "zq" not in blob and "canary" not in blob
    read = lm.tokenizer_.decode(lm._prompt_ids([[held[0]]])[0])  # what the model reads of such a prompt
    assert "zq" not in read and "canary" not in read
    assert read.split()[-1] in lm.words_  # the secret's place holds a kept word, as a generated message would
    fitted.save(tmp_path / "m.lookalike")
    assert not any(b"canary" in blob for blob in unzipped(tmp_path / "m.lookalike"))


def unzipped(path) -> list[bytes]:
    """Every member of a model file, nested model files opened too (a sequence model holds two)."""
    out, stack = [], [zipfile.ZipFile(path)]
    while stack:
        zf = stack.pop()
        for name in zf.namelist():
            data = zf.read(name)
            if data[:2] == b"PK":
                stack.append(zipfile.ZipFile(io.BytesIO(data)))
            else:
                out.append(data)
    return out


def test_a_secret_repeated_within_one_conversation_is_still_protected():
    """Words are kept by conversations, not messages: a user name one conversation repeats in six messages
    (more than k) is never written."""
    df = dialogs()
    mine = df["conversation"] == "c7"
    df.loc[mine, "text"] = df.loc[mine, "text"] + " zqhunterx"
    extra = pd.DataFrame({"conversation": "c7", "turn": range(10, 16), "role": ["user", "bot"] * 3,
                          "text": [f"well it is zqhunterx {w}" for w in ("again", "so", "now", "then", "okay", "hey")]})
    df = pd.concat([df, extra], ignore_index=True)
    assert (df["text"].str.contains("zqhunterx")).sum() > 5
    seq = Synthesizer(entity="conversation", order="turn", model="copula", seed=1, schema=SCHEMA,
                      text_params=SMALL).fit(df)
    assert "zqhunterx" not in seq.text_models_["text"].words_
    out = seq.sample(1000, seed=3)
    assert not out["text"].fillna("").str.contains("zqhunter").any()


def test_save_load_round_trip_keeps_the_conversations(fitted, tmp_path):
    a = fitted.sample(50, seed=4)
    pd.testing.assert_frame_equal(a, fitted.sample(50, seed=4))
    fitted.save(tmp_path / "m.lookalike")
    with zipfile.ZipFile(tmp_path / "m.lookalike") as zf:
        assert "text.safetensors" in zf.namelist()
    back = Synthesizer.load(tmp_path / "m.lookalike")
    assert isinstance(back, SequenceSynthesizer) and back.text_history and back.text_params == SMALL
    pd.testing.assert_frame_equal(a, back.sample(50, seed=4))


def test_text_cannot_be_the_entity_or_the_order():
    df = dialogs(40)
    with pytest.raises(LookalikeError, match="entity column 'text' holds free text"):
        Synthesizer(entity="text", order="turn", model="copula", schema=SCHEMA).fit(df)
    with pytest.raises(LookalikeError, match="order column 'text' holds free text"):
        Synthesizer(entity="conversation", order="text", model="copula", schema=SCHEMA).fit(df)
    with pytest.raises(LookalikeError, match="unknown text_params"):
        Synthesizer(entity="conversation", order="turn", text_params={"hiden": 8})


def test_a_model_fitted_without_prompts_refuses_one(fitted):
    alone = fit(text_history=False)
    assert not alone.text_models_  # the step model's own text model writes the text, given the step only
    lm = alone.step_model_.synthesizer_.text_models_["text"]
    with pytest.raises(LookalikeError, match="fitted without prompts"):
        lm.generate(np.zeros((1, len(lm.cardinalities_)), dtype=np.int64), seed=0, prompts=[["hello"]])
    with pytest.raises(LookalikeError, match="one prompt"):
        fitted.text_models_["text"].generate(np.zeros((2, len(fitted.text_models_["text"].cardinalities_)),
                                                      dtype=np.int64), seed=0, prompts=[["hello"]])
