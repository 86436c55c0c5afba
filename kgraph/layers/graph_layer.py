"""kgraph.GraphLayer: a Keras layer whose ``call`` is plain Python control flow.

Keras 3 on TensorFlow runs ``call`` inside its own ``tf.function`` with
TensorFlow's AutoGraph switched off, so ``if tf.reduce_sum(x) > 0:`` fails
there with ``OperatorNotAllowedInGraphError``. A subclass of ``GraphLayer``
has its ``call`` replaced, when the class is created, by a wrapper that runs
kgraph's converted version of it. The converted code decides per statement
between Python and graph control flow, so the same layer works

- eagerly (Python control flow on eager tensors),
- inside ``fit``/``evaluate``/``predict`` and any ``tf.function``,
- in Keras' symbolic shape inference (``compute_output_spec`` runs ``call``
  on placeholders of a scratch FuncGraph).

How it hooks into Keras: nothing of Keras is patched. ``Layer.__call__`` calls
``self.call``; ``self.call`` is our wrapper. Its ``inspect.signature`` is the
user's own (``__wrapped__``), which ``Layer.__init__`` reads to find
``training`` and ``mask``. The wrapper carries TensorFlow's
``do_not_convert`` mark so that AutoGraph never runs over kgraph's output,
and tells the converter when the trace is for XLA (Keras'
``jit_compile=True``). ``call`` may also come from a mixin listed before
``GraphLayer`` in the bases; the wrapper is then installed on the subclass
and the mixin stays untouched.

A ``call`` marked ``@kgraph.do_not_convert`` is left as is.
"""

from __future__ import annotations

import keras

from kgraph.layers import _convert_methods

CONVERTED_METHODS = ("call",)


@keras.saving.register_keras_serializable(package="kgraph")
class GraphLayer(keras.layers.Layer):
    """A ``keras.layers.Layer`` whose subclass's ``call`` kgraph converts.

    Subclass it exactly like ``keras.layers.Layer``::

        class SignSwitch(kgraph.GraphLayer):
            def call(self, x):
                if tf.reduce_sum(x) > 0:
                    return x * 2.0
                return -x
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _convert_methods.install(cls, CONVERTED_METHODS)

    def add_loss(self, loss):
        # Refused, at the user's line, under graph control flow (see
        # _convert_methods.check_add_loss); else Keras' own.
        _convert_methods.check_add_loss()
        return super().add_loss(loss)
