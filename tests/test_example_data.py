"""Tests for the colorbot example's data and picture utilities
(examples/rnn/data.py and examples/rnn/plot.py)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import string

import matplotlib.colors as mcolors
import matplotlib.image as mimage
import numpy as np
import pytest
import tensorflow as tf

from examples.rnn import data
from examples.rnn.data import (
    PAD_ID,
    UNK_ID,
    VOCAB,
    VOCAB_SIZE,
    decode_ids,
    encode_names,
    load_colors,
    make_dataset,
    mean_color_loss,
    train_val_split,
)
from examples.rnn.plot import save_swatches

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------
# load_colors


def test_xkcd_count_and_names():
    pairs = load_colors("xkcd")
    assert len(pairs) == 949
    names = [name for name, _ in pairs]
    assert len(set(names)) == 949
    assert not any(name.startswith("xkcd:") for name in names)
    assert set(names) == {k[len("xkcd:"):] for k in mcolors.XKCD_COLORS}


def test_css4_count_from_matplotlib():
    pairs = load_colors("css4")
    assert len(pairs) == len(mcolors.CSS4_COLORS)
    assert {name for name, _ in pairs} == set(mcolors.CSS4_COLORS)


@pytest.mark.parametrize("source", ["xkcd", "css4"])
def test_values_in_unit_interval_and_sorted(source):
    pairs = load_colors(source)
    names = [name for name, _ in pairs]
    assert names == sorted(names)
    for name, rgb in pairs:
        assert isinstance(name, str)
        assert isinstance(rgb, tuple) and len(rgb) == 3
        for v in rgb:
            assert isinstance(v, float)
            assert 0.0 <= v <= 1.0
    # Deterministic: a second call returns exactly the same list.
    assert load_colors(source) == pairs


def test_known_colours():
    css4 = dict(load_colors("css4"))
    assert css4["red"] == (1.0, 0.0, 0.0)
    assert css4["white"] == (1.0, 1.0, 1.0)
    assert css4["black"] == (0.0, 0.0, 0.0)
    assert css4["lime"] == (0.0, 1.0, 0.0)
    np.testing.assert_allclose(css4["navy"], (0.0, 0.0, 128 / 255))
    xkcd = dict(load_colors("xkcd"))
    # "xkcd:red" is #e50000.
    np.testing.assert_allclose(xkcd["red"], (229 / 255, 0.0, 0.0))
    np.testing.assert_allclose(xkcd["robin's egg"], mcolors.to_rgb("#6dedfd"))


def test_unknown_source_rejected():
    with pytest.raises(ValueError):
        load_colors("x11")


# --------------------------------------------------------------------------
# vocabulary


def test_vocab_covers_every_character_of_both_sources():
    chars = set()
    for source in ("xkcd", "css4"):
        for name, _ in load_colors(source):
            chars.update(name.lower())
    missing = chars - set(VOCAB)
    assert not missing, f"characters missing from VOCAB: {sorted(missing)}"
    # The punctuation in VOCAB is exactly what occurs in the data.
    punctuation = {c for c in chars if c not in string.ascii_lowercase + string.digits + " "}
    vocab_punct = set(VOCAB) - set(string.ascii_lowercase + string.digits + " ")
    assert vocab_punct == punctuation


def test_vocab_layout():
    assert len(set(VOCAB)) == len(VOCAB)
    assert set(string.ascii_lowercase) <= set(VOCAB)
    assert set(string.digits) <= set(VOCAB)
    assert " " in VOCAB
    assert not any(c.isupper() for c in VOCAB)
    assert (PAD_ID, UNK_ID) == (0, 1)
    assert VOCAB_SIZE == len(VOCAB) + 2
    ids = sorted(data.CHAR_TO_ID.values())
    assert ids == list(range(2, VOCAB_SIZE))


def test_no_unknown_ids_in_real_names():
    for source in ("xkcd", "css4"):
        names = [name for name, _ in load_colors(source)]
        ids, lengths = encode_names(names)
        assert not (ids == UNK_ID).any()
        assert ids.max() < VOCAB_SIZE
        np.testing.assert_array_equal(lengths, [len(n) for n in names])


# --------------------------------------------------------------------------
# encode_names


def test_encode_pads_and_round_trips():
    names = ["red", "sky blue", "a"]
    ids, lengths = encode_names(names)
    assert ids.dtype == np.int32 and lengths.dtype == np.int32
    assert ids.shape == (3, 8)
    np.testing.assert_array_equal(lengths, [3, 8, 1])
    r, e, d = (data.CHAR_TO_ID[c] for c in "red")
    np.testing.assert_array_equal(ids[0], [r, e, d, 0, 0, 0, 0, 0])
    assert (ids[2, 1:] == PAD_ID).all()
    assert (ids[1] != PAD_ID).all()
    assert decode_ids(ids) == names
    assert decode_ids(ids, lengths) == names


def test_encode_lowercases():
    ids_upper, _ = encode_names(["Sky BLUE"])
    ids_lower, _ = encode_names(["sky blue"])
    np.testing.assert_array_equal(ids_upper, ids_lower)


def test_encode_truncates_and_pads_to_max_len():
    ids, lengths = encode_names(["blue/green", "tan"], max_len=4)
    assert ids.shape == (2, 4)
    np.testing.assert_array_equal(lengths, [4, 3])
    assert decode_ids(ids) == ["blue", "tan"]
    ids, lengths = encode_names(["tan"], max_len=6)
    assert ids.shape == (1, 6)
    assert lengths.tolist() == [3]
    np.testing.assert_array_equal(ids[0, 3:], [PAD_ID] * 3)


def test_unknown_character_maps_to_unk():
    ids, lengths = encode_names(["a#b", "é"])
    a, b = data.CHAR_TO_ID["a"], data.CHAR_TO_ID["b"]
    np.testing.assert_array_equal(ids[0], [a, UNK_ID, b])
    np.testing.assert_array_equal(ids[1], [UNK_ID, PAD_ID, PAD_ID])
    np.testing.assert_array_equal(lengths, [3, 1])
    assert decode_ids(ids, lengths) == ["a?b", "?"]


def test_encode_rejects_bad_input():
    with pytest.raises(ValueError):
        encode_names(["red"], max_len=0)
    with pytest.raises(TypeError):
        encode_names("red")
    with pytest.raises(TypeError):
        encode_names(["red", 3])


# --------------------------------------------------------------------------
# make_dataset


def _numbered_pairs(n):
    return [(f"c{i}", (i / n, 0.5, 1.0 - i / n)) for i in range(n)]


def _epoch_names(ds):
    names = []
    for (ids, lengths), _ in ds:
        names.extend(decode_ids(ids.numpy(), lengths.numpy()))
    return names


def test_dataset_element_spec_and_static_shapes():
    pairs = load_colors("css4")
    t = max(len(name) for name, _ in pairs)
    ds = make_dataset(pairs, batch_size=32)
    (ids_spec, len_spec), rgb_spec = ds.element_spec
    assert ids_spec.dtype == tf.int32 and len_spec.dtype == tf.int32
    assert rgb_spec.dtype == tf.float32
    assert ids_spec.shape.as_list() == [None, t]
    assert len_spec.shape.as_list() == [None]
    assert rgb_spec.shape.as_list() == [None, 3]

    ds = make_dataset(pairs, batch_size=32, drop_remainder=True, max_len=12)
    (ids_spec, len_spec), rgb_spec = ds.element_spec
    assert ids_spec.shape.as_list() == [32, 12]
    assert len_spec.shape.as_list() == [32]
    assert rgb_spec.shape.as_list() == [32, 3]
    batches = list(ds)
    assert len(batches) == len(pairs) // 32
    for (ids, lengths), rgb in batches:
        assert ids.shape == (32, 12)
        assert int(tf.reduce_max(lengths)) <= 12


def test_dataset_batches_and_values_without_shuffle():
    pairs = _numbered_pairs(10)
    ds = make_dataset(pairs, batch_size=4, shuffle=False)
    batches = list(ds)
    assert [int(rgb.shape[0]) for _, rgb in batches] == [4, 4, 2]
    ids = np.concatenate([b[0][0].numpy() for b in batches])
    lengths = np.concatenate([b[0][1].numpy() for b in batches])
    rgb = np.concatenate([b[1].numpy() for b in batches])
    exp_ids, exp_lengths = encode_names([n for n, _ in pairs])
    np.testing.assert_array_equal(ids, exp_ids)
    np.testing.assert_array_equal(lengths, exp_lengths)
    np.testing.assert_allclose(rgb, np.array([c for _, c in pairs], np.float32))
    assert len(list(make_dataset(pairs, 4, shuffle=False, drop_remainder=True))) == 2


def test_dataset_shuffle_seeded_and_reshuffled_each_epoch():
    pairs = _numbered_pairs(40)
    all_names = sorted(n for n, _ in pairs)
    ds_a = make_dataset(pairs, batch_size=8, seed=7)
    ds_b = make_dataset(pairs, batch_size=8, seed=7)
    a1, a2 = _epoch_names(ds_a), _epoch_names(ds_a)
    b1, b2 = _epoch_names(ds_b), _epoch_names(ds_b)
    # Every epoch is a permutation of the whole set.
    assert sorted(a1) == sorted(a2) == all_names
    # Same seed -> same sequence of epoch orders.
    assert a1 == b1 and a2 == b2
    # Reshuffled between epochs, and actually shuffled.
    assert a1 != a2
    assert a1 != [n for n, _ in pairs]
    # A different seed gives a different order.
    assert _epoch_names(make_dataset(pairs, batch_size=8, seed=8)) != a1


def test_dataset_rejects_bad_arguments():
    with pytest.raises(ValueError):
        make_dataset(_numbered_pairs(3), batch_size=0)
    with pytest.raises(ValueError):
        make_dataset([], batch_size=2)


# --------------------------------------------------------------------------
# train_val_split and mean_color_loss


def test_train_val_split_sizes_disjoint_deterministic():
    pairs = load_colors("xkcd")
    train, val = train_val_split(pairs, val_fraction=0.1, seed=0)
    assert len(val) == round(949 * 0.1) == 95
    assert len(train) == 949 - 95
    train_names = {n for n, _ in train}
    val_names = {n for n, _ in val}
    assert not train_names & val_names
    assert train_names | val_names == {n for n, _ in pairs}
    assert train_val_split(pairs, 0.1, seed=0) == (train, val)
    _, val_other = train_val_split(pairs, 0.1, seed=1)
    assert {n for n, _ in val_other} != val_names
    train0, val0 = train_val_split(pairs, 0.0)
    assert train0 == pairs and val0 == []
    with pytest.raises(ValueError):
        train_val_split(pairs, 1.0)


def test_mean_color_loss_hand_computed():
    train = [("a", (0.0, 0.0, 0.0)), ("b", (1.0, 1.0, 1.0))]  # mean (0.5, 0.5, 0.5)
    evals = [("c", (1.0, 0.0, 0.5))]  # errors 0.25, 0.25, 0
    assert mean_color_loss(train, evals) == pytest.approx(1.0 / 6.0)
    train = [("a", (0.2, 0.4, 0.6)), ("b", (0.4, 0.4, 0.0)), ("c", (0.0, 0.4, 0.3))]
    # mean (0.2, 0.4, 0.3)
    evals = [("d", (0.2, 0.4, 0.3)), ("e", (0.5, 0.0, 0.3))]
    # squared errors: row d 0; row e 0.09, 0.16, 0 -> sum 0.25 over 6 values
    assert mean_color_loss(train, evals) == pytest.approx(0.25 / 6.0)


def test_mean_color_loss_on_xkcd_matches_keras_mse():
    train, val = train_val_split(load_colors("xkcd"), 0.1, seed=0)
    loss = mean_color_loss(train, val)
    mean = np.mean([c for _, c in train], axis=0)
    y_true = np.array([c for _, c in val], np.float32)
    y_pred = np.tile(mean, (len(val), 1)).astype(np.float32)
    keras_mse = float(tf.reduce_mean(tf.keras.losses.MeanSquaredError()(y_true, y_pred)))
    assert loss == pytest.approx(keras_mse, rel=1e-5)
    assert 0.02 < loss < 0.2


# --------------------------------------------------------------------------
# save_swatches


def _colour_mask(img, rgb):
    return (np.abs(img[..., :3] - np.asarray(rgb, np.float32)) <= 2 / 255 + 1e-6).all(axis=-1)


def test_save_swatches_writes_png(tmp_path):
    path = tmp_path / "swatches.png"
    out = save_swatches(path, ["red", "blue"], [(1, 0, 0), (0, 0, 1)],
                        [(0.9, 0.1, 0.1), (0.1, 0.1, 0.8)], title="val")
    assert out == os.fspath(path)
    with open(path, "rb") as fh:
        assert fh.read(8) == PNG_SIGNATURE
    img = mimage.imread(path)
    assert img.ndim == 3 and img.shape[2] in (3, 4)


def test_save_swatches_height_grows_with_rows(tmp_path):
    heights = []
    widths = []
    for n in (1, 3, 9):
        names = [f"colour {i}" for i in range(n)]
        rgb = np.full((n, 3), 0.5)
        path = save_swatches(tmp_path / f"s{n}.png", names, rgb, rgb)
        img = mimage.imread(path)
        heights.append(img.shape[0])
        widths.append(img.shape[1])
    assert heights[0] < heights[1] < heights[2]
    assert len(set(widths)) == 1
    # Linear growth: the same number of pixels per row.
    assert abs((heights[2] - heights[1]) / 6 - (heights[1] - heights[0]) / 2) <= 1


def test_save_swatches_colours(tmp_path):
    pred = [(0.2, 0.6, 0.4), (0.8, 0.3, 0.7)]
    true = [(0.1, 0.2, 0.9), (0.95, 0.85, 0.1)]
    path = save_swatches(tmp_path / "c.png", ["one", "two"], true, pred)
    img = mimage.imread(path)
    masks = {}
    for colour in pred + true:
        mask = _colour_mask(img, colour)
        # A swatch is a solid block of many pixels in exactly this colour.
        assert mask.sum() > 500, colour
        masks[colour] = mask
    # Predicted swatch beside (left of) the true swatch in the same row.
    for p, t in zip(pred, true):
        py, px = np.nonzero(masks[p])
        ty, tx = np.nonzero(masks[t])
        assert px.max() < tx.min()
        assert abs(py.mean() - ty.mean()) < 2
    # Rows in order: the first name's swatch above the second's.
    assert np.nonzero(masks[pred[0]])[0].mean() < np.nonzero(masks[pred[1]])[0].mean()


def test_save_swatches_without_true_and_clipping(tmp_path):
    pred = [(1.5, -0.2, 0.5), (0.3, 0.3, 0.9)]
    path = save_swatches(tmp_path / "sub" / "p.png", ["weird", "dusk"], None, pred)
    img = mimage.imread(path)
    clipped = _colour_mask(img, (1.0, 0.0, 0.5))
    assert clipped.sum() > 500
    assert _colour_mask(img, pred[1]).sum() > 500
    # Only predicted swatches: exactly two solid non-white, non-grey blocks.
    with_true = mimage.imread(save_swatches(tmp_path / "t.png", ["weird", "dusk"],
                                            [(0.0, 0.5, 0.0), (0.0, 0.5, 0.0)], pred))
    assert _colour_mask(with_true, (0.0, 0.5, 0.0)).sum() > 1000
    assert _colour_mask(img, (0.0, 0.5, 0.0)).sum() == 0
    assert img.shape[:2] == with_true.shape[:2]


def test_save_swatches_rejects_mismatched_shapes(tmp_path):
    with pytest.raises(ValueError):
        save_swatches(tmp_path / "x.png", ["a", "b"], None, [(0, 0, 0)])
    with pytest.raises(ValueError):
        save_swatches(tmp_path / "x.png", ["a"], [(0, 0)], [(0, 0, 0)])
    with pytest.raises(ValueError):
        save_swatches(tmp_path / "x.png", [], None, np.zeros((0, 3)))
