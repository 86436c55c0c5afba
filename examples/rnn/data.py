"""Data utilities for the colorbot RNN example.

Colorbot reads a colour's name one character at a time and predicts the
colour's RGB value.  The training data are the named colours that ship with
matplotlib, so nothing is downloaded:

* ``"xkcd"``: the 949 names of the xkcd colour survey
  (``matplotlib.colors.XKCD_COLORS``, with the ``"xkcd:"`` prefix removed);
* ``"css4"``: the CSS4 named colours (``matplotlib.colors.CSS4_COLORS``).

Names become integer sequences over the fixed character vocabulary
:data:`VOCAB`; id :data:`PAD_ID` (0) is padding and :data:`UNK_ID` (1) stands
for any character outside the vocabulary.
"""

from __future__ import annotations

from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    "SOURCES",
    "VOCAB",
    "PAD_ID",
    "UNK_ID",
    "VOCAB_SIZE",
    "CHAR_TO_ID",
    "ID_TO_CHAR",
    "load_colors",
    "encode_names",
    "decode_ids",
    "make_dataset",
    "train_val_split",
    "mean_color_loss",
]

Pair = Tuple[str, Tuple[float, float, float]]

SOURCES = ("xkcd", "css4")

#: The characters the model knows, in id order starting at 2: space, the
#: punctuation that occurs in the xkcd and CSS4 names (apostrophe as in
#: "robin's egg", slash as in "blue/green"), the ten digits and the 26
#: lowercase letters.  The punctuation set was computed once from
#: ``set("".join(names))`` over both sources (the digits occur in neither but
#: are kept for names typed on the command line); a test checks that every
#: character of both sources is covered.  Names are lowercased before lookup.
VOCAB = " '/0123456789abcdefghijklmnopqrstuvwxyz"

#: Id used to pad sequences to a common length.
PAD_ID = 0
#: Id of every character that is not in :data:`VOCAB`.
UNK_ID = 1
#: Number of distinct ids (padding + unknown + ``len(VOCAB)``), i.e. the
#: ``input_dim`` of an embedding layer over the encoded names.
VOCAB_SIZE = len(VOCAB) + 2

#: Character -> id.
CHAR_TO_ID = {ch: i + 2 for i, ch in enumerate(VOCAB)}
#: Id -> character ("" for padding, "?" for unknown).
ID_TO_CHAR = {PAD_ID: "", UNK_ID: "?", **{i: ch for ch, i in CHAR_TO_ID.items()}}

assert len(CHAR_TO_ID) == len(VOCAB), "VOCAB has duplicate characters"


def load_colors(source: str) -> List[Pair]:
    """Return the named colours of ``source`` as ``(name, (r, g, b))`` pairs.

    Args:
        source: ``"xkcd"`` or ``"css4"``.

    Returns:
        A list sorted by name; each colour is a tuple of three Python floats
        in ``[0, 1]``.
    """
    from matplotlib import colors as mcolors

    if not isinstance(source, str) or source.lower() not in SOURCES:
        raise ValueError(f"unknown colour source {source!r}; expected one of {SOURCES}")
    source = source.lower()
    if source == "xkcd":
        prefix = "xkcd:"
        table = {}
        for key, value in mcolors.XKCD_COLORS.items():
            if not key.startswith(prefix):  # pragma: no cover - matplotlib invariant
                raise RuntimeError(f"unexpected XKCD colour key {key!r}")
            table[key[len(prefix):]] = value
    else:
        table = dict(mcolors.CSS4_COLORS)
    pairs = []
    for name in sorted(table):
        r, g, b = mcolors.to_rgb(table[name])
        pairs.append((name, (float(r), float(g), float(b))))
    return pairs


def _encode_one(name: str) -> List[int]:
    if not isinstance(name, str):
        raise TypeError(f"colour names must be str, got {type(name).__name__}")
    return [CHAR_TO_ID.get(ch, UNK_ID) for ch in name.lower()]


def encode_names(
    names: Iterable[str], max_len: Optional[int] = None
) -> Tuple[np.ndarray, np.ndarray]:
    """Encode colour names as padded id sequences.

    Names are lowercased; characters outside :data:`VOCAB` map to
    :data:`UNK_ID`.

    Args:
        names: the names to encode.
        max_len: the sequence length ``T``.  Longer names are truncated to
            their first ``max_len`` characters, shorter ones are padded with
            :data:`PAD_ID` at the end.  Defaults to the length of the longest
            name (at least 1, so the array is never zero-width).

    Returns:
        ``(ids, lengths)``: an int32 array ``[N, T]`` and an int32 array
        ``[N]`` holding each name's length after truncation.
    """
    if isinstance(names, str):
        raise TypeError("encode_names expects a sequence of names, not a single str")
    encoded = [_encode_one(name) for name in names]
    if max_len is None:
        max_len = max([len(seq) for seq in encoded] + [1])
    else:
        if isinstance(max_len, bool) or int(max_len) != max_len or max_len < 1:
            raise ValueError(f"max_len must be a positive integer, got {max_len!r}")
        max_len = int(max_len)
    ids = np.full((len(encoded), max_len), PAD_ID, dtype=np.int32)
    lengths = np.zeros((len(encoded),), dtype=np.int32)
    for row, seq in enumerate(encoded):
        seq = seq[:max_len]
        ids[row, : len(seq)] = seq
        lengths[row] = len(seq)
    return ids, lengths


def decode_ids(ids, lengths=None) -> List[str]:
    """Invert :func:`encode_names` (up to lowercasing and unknown characters).

    Padding ids are dropped, unknown ids become ``"?"``.  If ``lengths`` is
    given only the first ``lengths[i]`` ids of row ``i`` are read.
    """
    ids = np.asarray(ids)
    if ids.ndim != 2:
        raise ValueError(f"ids must be a 2-D array, got shape {ids.shape}")
    if lengths is not None:
        lengths = np.asarray(lengths)
        if lengths.shape != (ids.shape[0],):
            raise ValueError(
                f"lengths must have shape ({ids.shape[0]},), got {lengths.shape}"
            )
    names = []
    for row in range(ids.shape[0]):
        seq = ids[row] if lengths is None else ids[row, : int(lengths[row])]
        chars = []
        for i in seq.tolist():
            if i not in ID_TO_CHAR:
                raise ValueError(f"id {i} is outside the vocabulary (size {VOCAB_SIZE})")
            chars.append(ID_TO_CHAR[i])
        names.append("".join(chars))
    return names


def _split_pairs(pairs: Sequence[Pair]) -> Tuple[List[str], np.ndarray]:
    pairs = list(pairs)
    names = [name for name, _ in pairs]
    rgb = np.asarray([rgb for _, rgb in pairs], dtype=np.float32).reshape(-1, 3)
    if rgb.shape[0] != len(names):
        raise ValueError("every pair must be (name, (r, g, b))")
    return names, rgb


def make_dataset(
    pairs: Sequence[Pair],
    batch_size: int,
    shuffle: bool = True,
    seed: int = 0,
    max_len: Optional[int] = None,
    drop_remainder: bool = False,
):
    """Build a ``tf.data.Dataset`` of ``((ids, lengths), rgb)`` batches.

    All names are padded (or truncated) to one length ``T`` for the whole set
    (``max_len``, default the longest name), so the element spec is
    ``((int32 [B, T], int32 [B]), float32 [B, 3])`` with a static ``T``; ``B``
    is static too when ``drop_remainder`` is true.

    With ``shuffle`` the whole set is shuffled with a full buffer, seeded by
    ``seed`` and reshuffled on every iteration (epoch): two datasets built
    with the same seed yield the same sequence of epoch orders.
    """
    import tensorflow as tf

    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    names, rgb = _split_pairs(pairs)
    if not names:
        raise ValueError("make_dataset needs at least one (name, rgb) pair")
    ids, lengths = encode_names(names, max_len=max_len)
    ds = tf.data.Dataset.from_tensor_slices(((ids, lengths), rgb))
    if shuffle:
        ds = ds.shuffle(len(names), seed=int(seed), reshuffle_each_iteration=True)
    return ds.batch(int(batch_size), drop_remainder=bool(drop_remainder))


def train_val_split(
    pairs: Sequence[Pair], val_fraction: float = 0.1, seed: int = 0
) -> Tuple[List[Pair], List[Pair]]:
    """Split ``pairs`` into ``(train, val)`` deterministically.

    ``round(len(pairs) * val_fraction)`` pairs, chosen by a permutation seeded
    with ``seed``, go to the validation set; both parts keep the input order.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
    pairs = list(pairs)
    n_val = int(round(len(pairs) * val_fraction))
    order = np.random.default_rng(seed).permutation(len(pairs))
    val_idx = set(order[:n_val].tolist())
    train = [p for i, p in enumerate(pairs) if i not in val_idx]
    val = [p for i, p in enumerate(pairs) if i in val_idx]
    return train, val


def mean_color_loss(train_pairs: Sequence[Pair], eval_pairs: Sequence[Pair]) -> float:
    """Mean squared error on ``eval_pairs`` of always predicting the mean
    colour of ``train_pairs``.

    The error is averaged over the three channels and all eval pairs, like
    ``keras.losses.MeanSquaredError``; this is the baseline a model must beat.
    """
    _, train_rgb = _split_pairs(train_pairs)
    _, eval_rgb = _split_pairs(eval_pairs)
    if train_rgb.shape[0] == 0 or eval_rgb.shape[0] == 0:
        raise ValueError("mean_color_loss needs non-empty train and eval pairs")
    mean = train_rgb.astype(np.float64).mean(axis=0)
    return float(np.mean((eval_rgb.astype(np.float64) - mean) ** 2))
