"""print and assert in converted code.

``print`` of tensors becomes ``tf.print`` to the same stream. Scalars are
formatted in the graph the way Python prints them (``True``, ``3``, ``2.5``,
``1.0``; floats with 6 significant digits, since a graph cannot run Python's
shortest-repr algorithm), so a converted function prints what the Python one
prints.

``assert c, msg`` on a staged condition becomes ``tf.debugging.Assert``; the
message carries a marker so that ``kgraph.function`` re-raises a failure as
an ``AssertionError`` naming the user's line.
"""

from __future__ import annotations

import builtins
import sys

import tensorflow as tf

from kgraph.operators.staging import caller_location, is_staged, location_text, record

ASSERT_MARKER = "kgraph assertion failed at "


def _format_scalar(t):
    if t.dtype == tf.bool:
        return tf.where(t, "True", "False")
    if t.dtype == tf.string:
        return t
    if t.dtype.is_floating:
        s = tf.strings.as_string(t, shortest=True)
        plain = tf.logical_not(tf.strings.regex_full_match(s, r".*[.eEn].*"))
        return tf.where(plain, tf.strings.join([s, ".0"]), s)
    if t.dtype.is_integer:
        return tf.strings.as_string(t)
    return t


def _text(value):
    """A scalar string tensor holding what Python's print shows for ``value``."""
    if tf.is_tensor(value) and not isinstance(value, tf.SparseTensor):
        value = tf.convert_to_tensor(value)
        if value.shape.rank == 0:
            return _format_scalar(value)
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


def is_staged_any(values):
    return any(is_staged(v) for v in values)


def assert_(test, message=None):
    """``assert test, message()``; ``message`` is a thunk (evaluated lazily)."""
    if not is_staged(test):
        if __debug__ and not test:
            if message is None:
                raise AssertionError()
            raise AssertionError(message())
        return None
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
    tf.debugging.Assert(test, data, summarize=16)  # stateful: runs in program order
    return None
