"""Per-thread state of a trace: the options of the kgraph.function being
traced and the recorder that collects conversion decisions for explain()."""

from __future__ import annotations

import contextlib
import threading

_state = threading.local()


def _get(attr, default=None):
    return getattr(_state, attr, default)


def jit_compile():
    """True while tracing code that XLA will compile: a
    ``kgraph.function(..., jit_compile=True)``, or any graph inside a
    ``tf.function(jit_compile=True)`` (Keras' steps under
    ``compile(jit_compile=True)``)."""
    return bool(_get("jit_compile", False)) or tracing_for_xla()


def tracing_for_xla():
    """True while tracing a graph that XLA will compile.

    Private seam: TensorFlow has no public query for this;
    tests/test_layers.py fails loudly if it stops working.
    """
    import tensorflow as tf
    from tensorflow.python.ops import control_flow_util

    if tf.executing_eagerly():
        return False
    return bool(control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph()))


def recorder():
    return _get("recorder")


@contextlib.contextmanager
def tracing(jit_compile=None, recorder=None):
    old = (_get("jit_compile"), _get("recorder"))
    if jit_compile is not None:
        _state.jit_compile = jit_compile
    if recorder is not None:
        outer = old[1]
        if outer is not None and outer is not recorder and recorder.parent is None:
            recorder.parent = outer   # decisions also reach the enclosing recorder
        _state.recorder = recorder
    try:
        yield
    finally:
        _state.jit_compile, _state.recorder = old
