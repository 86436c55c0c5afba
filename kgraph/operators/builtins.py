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

import tensorflow as tf

from kgraph.operators.lists import GraphList
from kgraph.operators.staging import caller_location, is_staged, location_text, record

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
    return tf.constant(str(value))


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
    record("assert", "graph", "condition is a symbolic tensor: tf.debugging.Assert", loc)
    text = message() if message is not None else None
    data = [f"{ASSERT_MARKER}{location_text(loc)}:"]
    if text is not None:
        data.append(text)
    test = tf.convert_to_tensor(test)
    if test.dtype != tf.bool:
        test = tf.cast(test, tf.bool)
    if test.shape.rank:
        test = tf.reduce_all(test)
    op = tf.debugging.Assert(test, data, summarize=16)
    return tf.control_dependencies([op])
