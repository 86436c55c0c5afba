"""The colorbot RNN, written as plain Python.

``ColorCell`` is one step of a GRU or LSTM; ``Colorbot`` embeds a batch of
padded names and steps the cell over time with an ordinary ``for`` loop::

    for t in range(tf.shape(ids)[1]):
        ...
        running = tf.expand_dims(t < lengths, -1)
        state = tf.where(running, new_state, state)   # finished names keep their state
        outputs.append(tf.where(running, h, 0.0))

kgraph turns that loop into a ``tf.while_loop`` (the number of steps is a
tensor) and the list into a ``TensorArray`` (``kgraph.stack`` gives the
``[T, B, units]`` tensor back); the same code also runs eagerly, as Python.
Each name's output is the cell's output at its last character; a ``Dense``
layer maps it to three sigmoid channels (red, green, blue in ``[0, 1]``).
"""

from __future__ import annotations

import keras
import tensorflow as tf

import kgraph

from examples.rnn import data

__all__ = ["CELL_TYPES", "ColorCell", "Colorbot", "build_model"]

CELL_TYPES = ("gru", "lstm")


@keras.saving.register_keras_serializable(package="kgraph_examples")
class ColorCell(kgraph.GraphLayer):
    """One step of a GRU (``cell="gru"``) or an LSTM (``cell="lstm"``).

    ``call(x, state) -> (output, new_state)`` with ``x`` ``[B, input_dim]``.
    The state is one tensor: ``h`` for a GRU (``[B, units]``), ``h`` and
    ``c`` side by side for an LSTM (``[B, 2 * units]``), so that the time loop
    carries a single tensor whatever the cell.
    """

    def __init__(self, units, cell="gru", **kwargs):
        super().__init__(**kwargs)
        if cell not in CELL_TYPES:
            raise ValueError(f"cell must be one of {CELL_TYPES}, got {cell!r}")
        self.units = int(units)
        self.cell = cell
        self.gates = 3 if cell == "gru" else 4
        self.state_size = self.units if cell == "gru" else 2 * self.units

    def build(self, input_shape):
        input_dim = int(input_shape[-1])
        n = self.gates * self.units
        self.kernel = self.add_weight(shape=(input_dim, n), initializer="glorot_uniform",
                                      name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, n),
                                                initializer="orthogonal",
                                                name="recurrent_kernel")
        # LSTM: forget-gate bias 1 (the usual trick: remember by default).
        bias_init = "zeros"
        if self.cell == "lstm":
            u = self.units
            bias_init = keras.initializers.Constant(
                [0.0] * u + [1.0] * u + [0.0] * (2 * u))
        self.bias = self.add_weight(shape=(n,), initializer=bias_init, name="bias")

    def initial_state(self, batch_size, dtype="float32"):
        return tf.zeros([batch_size, self.state_size], dtype)

    def call(self, x, state):
        u = self.units
        if self.cell == "gru":            # a Python condition: stays Python
            h = state
            xz, xr, xc = tf.split(tf.matmul(x, self.kernel) + self.bias, 3, axis=-1)
            hz, hr, hc = tf.split(tf.matmul(h, self.recurrent_kernel), 3, axis=-1)
            z = tf.sigmoid(xz + hz)
            r = tf.sigmoid(xr + hr)
            candidate = tf.tanh(xc + r * hc)
            h = z * h + (1.0 - z) * candidate
            return h, h
        h, c = state[:, :u], state[:, u:]
        gates = tf.matmul(x, self.kernel) + tf.matmul(h, self.recurrent_kernel) + self.bias
        i, f, g, o = tf.split(gates, 4, axis=-1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        h = tf.sigmoid(o) * tf.tanh(c)
        return h, tf.concat([h, c], axis=-1)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "cell": self.cell}


@keras.saving.register_keras_serializable(package="kgraph_examples")
class Colorbot(kgraph.GraphModel):
    """Name characters -> RGB: embedding, a ``ColorCell`` stepped over time,
    ``Dense(3, sigmoid)`` on each name's last output.

    Inputs: ``(ids, lengths)``, int32 ``[B, T]`` and ``[B]`` as made by
    ``data.encode_names`` / ``data.make_dataset``.
    """

    def __init__(self, hidden=64, cell="gru", embedding_dim=32,
                 vocab_size=data.VOCAB_SIZE, **kwargs):
        super().__init__(**kwargs)
        self.hidden = int(hidden)
        self.cell_type = cell
        self.embedding_dim = int(embedding_dim)
        self.vocab_size = int(vocab_size)
        self.embedding = keras.layers.Embedding(self.vocab_size, self.embedding_dim,
                                                name="embedding")
        self.cell = ColorCell(self.hidden, cell=cell, name=f"{cell}_cell")
        self.head = keras.layers.Dense(3, activation="sigmoid", name="rgb")

    def build(self, input_shape=None):
        # Build the sublayers here, not in the first call: variables cannot be
        # created inside the graph loop's body.
        self.embedding.build((None, None))
        self.cell.build((None, self.embedding_dim))
        self.head.build((None, self.hidden))
        self.built = True

    def call(self, inputs, training=False):
        ids, lengths = inputs
        ids = tf.convert_to_tensor(ids)
        lengths = tf.cast(lengths, tf.int32)
        # Time-major, so that step t reads a contiguous [B, E] slice.
        x = tf.transpose(self.embedding(ids), [1, 0, 2])
        state = self.cell.initial_state(tf.shape(ids)[0], x.dtype)
        outputs = []
        kgraph.set_element_type(outputs, x.dtype, [None, self.hidden])
        for t in range(tf.shape(ids)[1]):
            h, new_state = self.cell(x[t], state)
            running = tf.expand_dims(t < lengths, -1)    # [B, 1]: names still being read
            state = tf.where(running, new_state, state)  # finished names keep their state
            outputs.append(tf.where(running, h, 0.0))    # ... and output zeros
        outputs = kgraph.stack(outputs)                  # [T, B, hidden]
        # Each name's output at its last character (empty names: step 0).
        last = tf.maximum(lengths - 1, 0)
        batch = tf.range(tf.shape(ids)[0])
        final = tf.gather_nd(outputs, tf.stack([last, batch], axis=-1))
        return self.head(final)

    def compute_output_shape(self, input_shape):
        return (None, 3)

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden, "cell": self.cell_type,
                "embedding_dim": self.embedding_dim, "vocab_size": self.vocab_size}


def build_model(hidden=64, cell="gru", embedding_dim=32, seed=None):
    """A built ``Colorbot`` (weights created; seeded with ``seed`` if given)."""
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    model = Colorbot(hidden=hidden, cell=cell, embedding_dim=embedding_dim)
    model.build()
    return model
