"""print and assert in converted code.

``print`` of tensors becomes a graph print op to the same stream. Scalars
are formatted in the graph the way Python prints them (``True``, ``3``,
``2.5``, ``1.0``, ``1e-05``, ``12345.678``: floats get the fewest digits that
read back as the same value, like Python's repr), so a converted function
prints what the Python one prints.

``assert c, msg`` on a staged condition becomes ``tf.debugging.Assert``; the
message carries a marker so that ``kgraph.function`` re-raises a failure as
an ``AssertionError`` naming the user's line.
"""

from __future__ import annotations

import builtins
import contextlib
import sys
import threading
import weakref

import tensorflow as tf

from kgraph.context import jit_compile
from kgraph.errors import StagingError
from kgraph.operators.lists import GraphList
from kgraph.operators.staging import caller_location, is_staged, location_text, record
from kgraph.operators.weak import plain_nest

ASSERT_MARKER = "kgraph assertion failed at "


def _format_scalar(t):
    if t.dtype == tf.bool:
        return tf.where(t, "True", "False")
    if t.dtype == tf.string:
        return t
    if t.dtype.is_floating:
        return _format_float(t)
    if t.dtype.is_integer:
        return tf.strings.as_string(t)
    return t


def _format_float(t):
    """Python's float repr, in graph ops: the fewest significant digits that
    read back as the same value, positional when the exponent is in [-4, 16),
    scientific otherwise, and ".0" on whole numbers."""
    if t.dtype not in (tf.float32, tf.float64):
        t = tf.cast(t, tf.float32)
    most = 9 if t.dtype == tf.float32 else 17
    finite = tf.math.is_finite(t)
    original, t = t, tf.where(finite, t, tf.zeros_like(t))   # inf/nan: printed below
    sci = [tf.strings.as_string(t, precision=p - 1, scientific=True)
           for p in range(1, most + 1)]
    chosen, digits = sci[-1], tf.constant(most)
    for p in range(most, 0, -1):   # the fewest digits that round-trip win
        exact = tf.equal(tf.strings.to_number(sci[p - 1], out_type=t.dtype), t)
        chosen = tf.where(exact, sci[p - 1], chosen)
        digits = tf.where(exact, p, digits)
    exponent = tf.strings.to_number(tf.strings.regex_replace(chosen, r"^.*e", ""),
                                    out_type=tf.int32)
    # Positional layout from the shortest digits (so float32 123456784 prints
    # as Python prints it: 123456780.0).
    sign = tf.where(tf.strings.regex_full_match(chosen, "-.*"), "-", "")
    mantissa = tf.strings.regex_replace(chosen, "e.*$", "")
    digits = tf.strings.regex_replace(mantissa, r"[-.]", "")
    n = tf.strings.length(digits)
    # (Substr wants input, pos and len of one shape: this also formats
    # non-scalar tensors element by element.)
    zeros = tf.fill(tf.shape(t), "0" * 24)
    start = tf.zeros_like(exponent)
    big = exponent >= n - 1
    int_part = tf.where(
        exponent < 0, "0",
        tf.where(big, tf.strings.join([digits, tf.strings.substr(
            zeros, start, tf.maximum(exponent - n + 1, 0))]),
            tf.strings.substr(digits, start, tf.maximum(exponent + 1, 0))))
    frac = tf.where(
        big, "0",
        tf.where(exponent < 0,
                 tf.strings.join([tf.strings.substr(zeros, start, tf.maximum(-exponent - 1, 0)),
                                  digits]),
                 # (tf.where evaluates both sides: keep positions in range)
                 tf.strings.substr(digits, tf.clip_by_value(exponent + 1, 0, n),
                                   tf.maximum(n - exponent - 1, 0))))
    fixed = tf.strings.join([sign, int_part, ".", frac])
    text = tf.where(tf.logical_and(exponent >= -4, exponent < 16), fixed, chosen)
    return tf.where(finite, text, tf.strings.as_string(original))


def _text(value):
    """A scalar string tensor holding what Python's print shows for ``value``."""
    value = plain_nest(value)      # a WeakTensor prints as its tensor (an int as an int)
    if isinstance(value, GraphList):
        value = value.stack()   # prints as the Python list it stands for
    if tf.is_tensor(value) and not isinstance(value, tf.SparseTensor):
        value = tf.convert_to_tensor(value)
        if value.shape.rank == 0:
            return _format_scalar(value)
        if value.shape.rank is not None:
            # A tensor stands for a (nested) Python list: print it as one.
            from kgraph.operators.strings import text_of
            return text_of(value)
        return tf.strings.format("{}", value, summarize=-1)
    from kgraph.operators.strings import python_text
    text = python_text(value)   # a tuple/list/dict holding tensors: Python's text too
    return text if tf.is_tensor(text) else tf.constant(text)


def print_(*args, sep=" ", end="\n", file=None, flush=False):
    # Inside a graph every print is a graph op, even of Python values only:
    # Python prints each time the statement runs, not once while tracing.
    in_graph = not tf.executing_eagerly()
    if not in_graph and not any(tf.is_tensor(a) for a in args):
        return builtins.print(*args, sep=sep, end=end, file=file, flush=flush)
    stream = sys.stdout if file is None else file
    if stream is sys.stdout:
        target = "stdout"
    elif stream is sys.stderr:
        target = "stderr"
    else:
        raise TypeError("print() of tensors can only go to sys.stdout or sys.stderr "
                        "(the streams a graph can write to)")
    if in_graph:
        record("print", "graph", "inside a graph: a print op runs at every execution",
               caller_location())
    stream.flush()
    line = tf.strings.join([_text(a) for a in args], separator=sep if sep is not None else " ")
    # PrintV2 writes its string input as is (tf.print would quote string tensors).
    # Stateful, so tf.function runs it in program order without a return value.
    tf.raw_ops.PrintV2(input=line, output_stream=target, end=end if end is not None else "\n")
    return None


# -- assert -------------------------------------------------------------------
#
# Python's order around an assert: everything before it has run, nothing
# after it runs if it fails. In a graph, ops run when their inputs are ready,
# and TensorFlow orders a stateful op only after earlier ops on the same
# resource (tf.function's automatic control dependencies): an Assert and a
# variable update are unordered. So an assertion op gets a control
# dependency on every stateful op created before it in its graph, and the
# statements after it (the rest of its block, and, through ``assert_block``,
# the statements after a block holding an assert) run under a control
# dependency on it.
#
# XLA drops assertion ops. Under XLA a failing assert instead writes its
# index into an error register (an int32 variable owned by the caller that
# compiles: ``kgraph.function(..., jit_compile=True)`` or a GraphModel step);
# the caller reads it after the computation and raises the AssertionError on
# the host. Without a register, an assert in code that XLA compiles is refused.

_registers = threading.local()


class AssertRegister:
    """Where asserts compiled by XLA report a failure: ``variable`` holds 0,
    or the 1-based index into ``sites`` of the first assert that failed."""

    def __init__(self):
        with tf.init_scope():
            self.variable = tf.Variable(0, dtype=tf.int32, trainable=False,
                                        name="kgraph_assert_register")
            # Steps that completed since the reset (counted by the callers
            # that run several steps per call: kgraph/layers/_step_failures.py).
            self.good_steps = tf.Variable(0, dtype=tf.int32, trainable=False,
                                          name="kgraph_assert_register_steps")
        # One per traced assert: (location text, message text or None); or, for
        # kgraph's own run-time checks (operators/checks.py), a function
        # making the exception to raise.
        self.sites = []

    @contextlib.contextmanager
    def active(self):
        """Asserts traced for XLA inside this block report to this register."""
        old = getattr(_registers, "current", None)
        _registers.current = self
        try:
            yield self
        finally:
            _registers.current = old

    def failed(self):
        """A bool tensor: did an assert fail since the last reset?"""
        return tf.not_equal(self.variable, 0)

    def reset(self):
        self.variable.assign(0)
        self.good_steps.assign(0)

    def error(self, index=None):
        """The AssertionError (or the run-time check's error) for failure
        ``index`` (read from the variable if None), or None if nothing failed."""
        if not self.sites:
            return None
        if index is None:
            index = int(self.variable.numpy())
        if index <= 0 or index > len(self.sites):
            return None
        site = self.sites[index - 1]
        if callable(site):   # a run-time check's own error (operators/checks.py)
            return site()
        location, text = site
        err = AssertionError(f"{text} (assertion at {location})" if text
                             else f"assertion at {location} failed")
        err.location = location
        err.kgraph_message = text or ""
        return err


def current_register():
    return getattr(_registers, "current", None)


_stateful_seen = weakref.WeakKeyDictionary()   # graph -> (ops scanned, stateful ops)


def _stateful_ops_so_far(graph):
    """The stateful ops created so far in ``graph`` (scanned incrementally)."""
    seen, found = _stateful_seen.get(graph, (0, []))
    ops = graph.get_operations()
    for op in ops[seen:]:
        try:
            stateful = op.op_def.is_stateful
        except Exception:  # noqa: BLE001 - ops without an OpDef: keep them ordered
            stateful = True
        if stateful:
            found.append(op)
    _stateful_seen[graph] = (len(ops), found)
    return list(found)


def _in_graph():
    return not tf.executing_eagerly()


def _after_everything_so_far():
    """Control dependencies on every stateful op created so far in the
    current graph (a no-op context outside graphs)."""
    if not _in_graph():
        return contextlib.nullcontext()
    ops = _stateful_ops_so_far(tf.compat.v1.get_default_graph())
    return tf.control_dependencies(ops) if ops else contextlib.nullcontext()


def assert_block():
    """``with kg__.assert_block(): <statement>``: a statement (an ``if``, a
    loop...) that holds an assert, or a statement that follows one, runs after
    every stateful op before it in the graph (so after the assertion ops
    before it, and an assertion inside it after the updates before it)."""
    return _after_everything_so_far()


def assert_(test, message=None):
    """``assert test, message()``; ``message`` is a thunk (evaluated lazily).

    Returns a context manager: statements under it run only after the
    assertion held (in a graph: a control dependency on the assertion op).
    """
    if not is_staged(test):
        if __debug__ and not test:
            if message is None:
                raise AssertionError()
            raise AssertionError(message())
        return contextlib.nullcontext()
    loc = caller_location()
    test = tf.convert_to_tensor(test)
    if test.dtype != tf.bool:
        test = tf.cast(test, tf.bool)
    if test.shape.rank:
        test = tf.reduce_all(test)
    if jit_compile():
        return _assert_for_xla(test, message, loc)
    record("assert", "graph", "condition is a symbolic tensor: tf.debugging.Assert", loc)
    text = message() if message is not None else None
    data = [f"{ASSERT_MARKER}{location_text(loc)}:"]
    if text is not None:
        data.append(text)
    with _after_everything_so_far():
        op = tf.debugging.Assert(test, data, summarize=16)
    return tf.control_dependencies([op])


def _static_message(message):
    """The assert's message as Python text, if it is one without tensors
    (XLA cannot compile string ops)."""
    if message is None:
        return None
    try:
        with tf.Graph().as_default():   # a scratch graph: nothing reaches the trace
            text = message()
    except Exception:  # noqa: BLE001 - a message computed from tensors of the trace
        return "(message computed from tensors: not available under XLA)"
    if isinstance(text, str):
        return text
    if tf.is_tensor(text):
        try:
            return tf.get_static_value(text).decode() if text.dtype == tf.string else str(
                tf.get_static_value(text))
        except Exception:  # noqa: BLE001
            return "(message computed from tensors: not available under XLA)"
    return str(text)


def _assert_for_xla(test, message, loc):
    register = current_register()
    where = location_text(loc)
    if register is None:
        raise StagingError(
            "an assert in code compiled with XLA: XLA drops assertion ops, so it would "
            "never fail", location=where,
            hints=("call the function through kgraph.function(f, jit_compile=True), or "
                   "in a kgraph.GraphModel step: both carry the failure out of XLA and "
                   "raise the AssertionError",
                   "or compile without XLA (jit_compile=False)"),
            kind="assert-under-xla")
    record("assert", "graph", "under XLA: a failure is recorded in an error register "
           "and raised on the host after the call", loc)
    register.sites.append((where, _static_message(message)))
    index = len(register.sites)
    var = register.variable
    first = tf.logical_and(tf.equal(var.read_value(), 0), tf.logical_not(test))
    var.assign(tf.where(first, tf.constant(index, tf.int32), var.read_value()))
    return contextlib.nullcontext()
