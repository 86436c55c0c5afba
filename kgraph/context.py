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


# ---------------------------------------------------------------- trace attempts
#
# Each time a control-flow operator traces bodies (a tf.cond's branches, a
# tf.while_loop's test and body) it opens an *attempt*. An attempt is a
# scratch trace when it only learns types (``scratch=True`` from the start),
# or when the operator discards it (``discard()``: what it learned needs a
# different graph). Trace counters see every body traced, with its attempt,
# so tests can count real and scratch traces per site.

class Attempt:
    def __init__(self, parent, scratch):
        self.parent = parent
        self.scratch = scratch          # an explicit scratch trace (learning only)
        self.discarded = False          # a real attempt thrown away after learning

    def discard(self):
        self.discarded = True

    @property
    def is_scratch(self):
        a = self
        while a is not None:
            if a.scratch or a.discarded:
                return True
            a = a.parent
        return False


def current_attempt():
    return _get("attempt")


_CONTROL_FLOW_GRAPHS = ("CondBranchFuncGraph", "WhileCondFuncGraph", "WhileBodyFuncGraph")


def in_scratch_trace():
    """True while tracing bodies only to learn types (nothing built will run).

    Only the scratch graph itself (and tf.cond / tf.while_loop graphs inside
    it) is scratch: another ``tf.function`` traced from within a scratch trace
    (a Keras step called in the loop body) builds a graph that will run.
    """
    a = current_attempt()
    while a is not None and not a.scratch:
        a = a.parent
    if a is None:
        return False
    import tensorflow as tf
    g = tf.compat.v1.get_default_graph()
    while g is not None:
        if getattr(g, "_kgraph_scratch", False):
            return True
        if type(g).__name__ not in _CONTROL_FLOW_GRAPHS:
            return False
        g = getattr(g, "outer_graph", None)
    return False


def mark_scratch_graph():
    """Called inside the function that a scratch trace traces."""
    import tensorflow as tf
    tf.compat.v1.get_default_graph()._kgraph_scratch = True


@contextlib.contextmanager
def attempt(scratch=False):
    parent = current_attempt()
    a = Attempt(parent, scratch)
    _state.attempt = a
    try:
        yield a
    finally:
        _state.attempt = parent


def counters():
    c = _get("counters")
    if c is None:
        c = _state.counters = []
    return c


def count_trace(site, part):
    """A body or branch of the control-flow statement at ``site`` is being traced."""
    active = _get("counters")
    if active:
        a = current_attempt()
        for counter in active:
            counter._events.append((site, part, a))


# ------------------------------------------------------------ learned hints
#
# A scratch trace of a loop body also traces the statements nested in it; what
# it learns there (the dtype a Python number takes in an inner loop or if) is
# kept per site, so that the real trace of the enclosing loop builds those
# statements right away instead of tracing them again to learn.

@contextlib.contextmanager
def learning_hints(table):
    stack = _get("hints")
    if stack is None:
        stack = _state.hints = []
    stack.append(table)
    try:
        yield table
    finally:
        stack.pop()


def set_hint(site, slots):
    stack = _get("hints")
    if stack:
        stack[-1][site] = slots


def hint(site):
    for table in reversed(_get("hints") or ()):
        if site in table:
            return table[site]
    return None


# -------------------------------------------------------------- loop options
#
# ``tf.autograph.experimental.set_loop_options(...)`` inside a converted loop
# body records its arguments here while the body is traced.

@contextlib.contextmanager
def loop_options_scope():
    stack = _get("loop_options")
    if stack is None:
        stack = _state.loop_options = []
    recorded = {}
    stack.append(recorded)
    try:
        yield recorded
    finally:
        stack.pop()


def set_loop_options(**options):
    stack = _get("loop_options")
    if stack:
        stack[-1].update(options)
        return True
    return False
