"""Everything a training step can change, captured and put back bit for bit.

``TrainingState.capture(model)`` copies the values of

* the model's variables (weights, non-trainable state such as batch norm
  statistics, the state of each layer's ``keras.random.SeedGenerator``),
* the metric variables (``model.metrics_variables`` and each metric's own),
* the optimizer's variables (``iterations``, slots, learning rate...),
* the global random states: Python's ``random``, NumPy's global generator,
  TensorFlow's global ``tf.random.Generator``, Keras' global
  ``SeedGenerator`` (the one unseeded ``keras.random`` calls draw from) and
  the op-seed counter of TensorFlow's eager context (what unseeded eager
  ``tf.random`` ops draw from after ``tf.random.set_seed``),

and ``restore()`` assigns them back. What it cannot restore: Python state a
user's ``train_step`` mutates (counters on ``self`` that are not variables),
and the position of a ``tf.data`` shuffle seed when the same reshuffling
dataset object is iterated again.

Two of the random states have no public accessor; their seams are isolated in
``_keras_global_seed_generator`` and ``_tf_eager_op_seed_rng`` and
``tests/test_callbacks.py::test_private_rng_seams_exist`` fails loudly when a
Keras or TensorFlow release moves them.
"""

from __future__ import annotations

import random

import numpy as np
import tensorflow as tf

import keras


def _keras_global_seed_generator():
    """Keras' global SeedGenerator if it exists (never creates one: creating it
    draws a seed from Python's ``random``)."""
    # Private seam: keras.random has no public accessor for it.
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    return global_state.get_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR)


def _forget_keras_global_seed_generator():
    """Undo the creation of Keras' global SeedGenerator (as if never drawn from)."""
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)


def _tf_eager_op_seed_rng():
    """The ``random.Random`` behind eager op seeds after tf.random.set_seed, or None."""
    # Private seam: tf.random has no public getter for the op-seed counter.
    from tensorflow.python.eager import context
    return getattr(context.context(), "_rng", None)


def _tf_global_generator():
    try:
        return tf.random.get_global_generator()
    except Exception:   # noqa: BLE001 - e.g. refused under op determinism: nothing to keep
        return None


def _state_variables(model):
    found, seen = [], set()

    def add(variables):
        for v in variables or ():
            if id(v) not in seen:
                seen.add(id(v))
                found.append(v)

    add(model.variables)
    add(getattr(model, "metrics_variables", ()))
    for metric in getattr(model, "metrics", ()):
        add(getattr(metric, "variables", ()))
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        add(optimizer.variables)
    return found


def _value(v):
    return np.array(keras.ops.convert_to_numpy(v), copy=True)


class TrainingState:
    """A bitwise copy of a model's training state and of the global RNGs."""

    def __init__(self, model):
        self.model = model
        self.variables = _state_variables(model)
        self.values = [_value(v) for v in self.variables]
        self.python_random = random.getstate()
        self.numpy_random = np.random.get_state()
        self.tf_generator = _tf_global_generator()
        self.tf_generator_state = (None if self.tf_generator is None
                                   else self.tf_generator.state.numpy().copy())
        self.keras_generator = _keras_global_seed_generator()
        self.keras_generator_state = (None if self.keras_generator is None
                                      else _value(self.keras_generator.state))
        rng = _tf_eager_op_seed_rng()
        self.eager_rng = rng
        self.eager_rng_state = rng.getstate() if rng is not None else None

    @classmethod
    def capture(cls, model):
        return cls(model)

    def new_variables(self):
        """Variables the model gained since the capture (cannot be un-created)."""
        known = {id(v) for v in self.variables}
        return [v for v in _state_variables(self.model) if id(v) not in known]

    def restore(self):
        for v, value in zip(self.variables, self.values):
            v.assign(value)
        random.setstate(self.python_random)
        np.random.set_state(self.numpy_random)
        if self.tf_generator is not None:
            self.tf_generator.reset(self.tf_generator_state)
        if self.keras_generator is not None:
            self.keras_generator.state.assign(self.keras_generator_state)
        elif _keras_global_seed_generator() is not None:
            _forget_keras_global_seed_generator()   # created while measuring
        if self.eager_rng is not None:
            self.eager_rng.setstate(self.eager_rng_state)
