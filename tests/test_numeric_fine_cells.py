"""A numeric bin is cut into no more positions than leave k training rows to each (value protection): a
position learnt from one or two rows would be reproduced and put synthetic values next to training rows."""
import numpy as np

from lookalike.encoding.numeric import NumericCodec


def _fitted(values: np.ndarray, k: int, fine: int = 8) -> NumericCodec:
    codec = NumericCodec(decimals=2, k=k, fine=fine)
    return codec.reduce(codec.analyse(values))


def test_small_bins_get_fewer_positions_each_holding_k_rows():
    values = np.random.default_rng(0).normal(size=600)  # 600 distinct values: 48 bins of 12-13 rows
    codec = _fitted(values, k=5)
    assert codec.cardinalities[1] == 2
    tokens = codec.encode(values)
    n_bins = len(codec.edges_) - 1
    assert len(values) / (n_bins * 2) >= 5 > len(values) / (n_bins * 3)  # k rows per position on average
    decoded = codec.decode(tokens, np.random.default_rng(1))
    lo, hi = codec.value_range()
    assert np.all((decoded >= lo) & (decoded <= hi)) and len(np.unique(decoded)) > 200  # still spread out


def test_large_bins_keep_every_position_and_protection_off_keeps_them_all():
    many = np.random.default_rng(0).normal(size=20_000)  # 48 bins of ~400 rows: 8 positions of k
    assert _fitted(many, k=5).cardinalities[1] == 8
    few = np.random.default_rng(0).normal(size=600)
    assert _fitted(few, k=1).cardinalities[1] == 8  # value protection off (k = 1): full resolution


def test_positions_survive_a_save_and_older_saved_codecs_load():
    few = np.random.default_rng(0).normal(size=600)
    codec = _fitted(few, k=5)
    state = codec.to_dict()
    assert NumericCodec.from_dict(state).cardinalities == codec.cardinalities
    older = {key: value for key, value in state.items() if key != "fine_cells"}
    assert NumericCodec.from_dict(older).cardinalities[1] == 8  # saved before the cap: `fine` positions
