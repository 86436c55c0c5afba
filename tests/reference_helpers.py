"""Differential reference checks: plain Python vs kgraph, same results, same output.

``check(fn, *values)`` runs ``fn`` four ways and asserts they agree:

1. ``fn`` itself, as plain Python on plain values (the reference);
2. ``kgraph.to_graph(fn)`` on the same plain values (Python path of the
   converted code);
3. ``kgraph.to_graph(fn)`` eagerly on the values as eager tensors;
4. ``kgraph.function(fn)`` on the values as tensors (graph path).

Results are compared after converting tensors to Python values; printed
text (Python's ``print`` and TensorFlow's C++ ``tf.print``, which writes
straight to file descriptor 1) is captured at the fd level and must be
identical.

Plain values become tensors as follows: ``int`` -> int32, ``float`` ->
float32, ``bool`` -> bool, lists by their elements.  Wrap a value to choose
otherwise:

* ``Py(v)``: passed as the same Python value on every path;
* ``T(v, dtype)``: a tensor of ``dtype`` (Python paths get ``v``);
* ``Dataset(list)``: ``tf.data.Dataset.from_tensor_slices`` on the graph
  path, the list on the Python paths.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import sys
import tempfile

import numpy as np
import tensorflow as tf

import kgraph


class Py:
    """A value kept as plain Python on every path."""

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return f"Py({self.value!r})"


class T:
    """A value given to the tensor paths as a tensor of ``dtype``."""

    def __init__(self, value, dtype):
        self.value = value
        self.dtype = tf.as_dtype(dtype)

    def __repr__(self):
        return f"T({self.value!r}, {self.dtype.name})"


class Dataset:
    """A list given to the graph path as a ``tf.data.Dataset`` of its elements."""

    def __init__(self, value, dtype=None):
        self.value = value
        self.dtype = dtype

    def __repr__(self):
        return f"Dataset({self.value!r})"


# ------------------------------------------------------------------ values

def _dtype_for(value):
    if isinstance(value, bool):
        return tf.bool
    if isinstance(value, int):
        return tf.int32
    if isinstance(value, float):
        return tf.float32
    if isinstance(value, (list, tuple)):
        flat = list(_flatten(value))
        if flat and all(isinstance(v, bool) for v in flat):
            return tf.bool
        if any(isinstance(v, float) for v in flat):
            return tf.float32
        return tf.int32
    raise TypeError(f"no tensor dtype for {value!r}: wrap it in Py() or T()")


def _flatten(value):
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _flatten(v)
    else:
        yield value


def python_value(value):
    if isinstance(value, (Py, T, Dataset)):
        return value.value
    return value


def tensor_value(value, graph=True):
    """The value given to the tensor paths (``graph``: the kgraph.function path)."""
    if isinstance(value, Py):
        return value.value
    if isinstance(value, T):
        return tf.constant(value.value, value.dtype)
    if isinstance(value, Dataset):
        if not graph:
            return tf.constant(value.value, value.dtype or _dtype_for(value.value))
        return tf.data.Dataset.from_tensor_slices(
            tf.constant(value.value, value.dtype or _dtype_for(value.value)))
    if value is None or isinstance(value, str):
        return value
    return tf.constant(value, _dtype_for(value))


def to_python(value):
    """Tensors, NumPy values and nested tuples/lists/dicts of them, as Python values."""
    if isinstance(value, (tf.Tensor, tf.Variable)):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, tuple):
        return tuple(to_python(v) for v in value)
    if isinstance(value, list):
        return [to_python(v) for v in value]
    if isinstance(value, dict):
        return {k: to_python(v) for k, v in value.items()}
    return value


def same(expected, actual, rel=1e-5, abs_=1e-6):
    """Equal Python values; floats up to float32 rounding; bools only equal bools."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        if isinstance(expected, float) or isinstance(actual, float):
            return math.isclose(expected, actual, rel_tol=rel, abs_tol=abs_)
        return expected == actual
    if isinstance(expected, (tuple, list)) and isinstance(actual, (tuple, list)):
        return (len(expected) == len(actual)
                and all(same(e, a, rel, abs_) for e, a in zip(expected, actual)))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return (expected.keys() == actual.keys()
                and all(same(expected[k], actual[k], rel, abs_) for k in expected))
    return expected == actual


# ------------------------------------------------------------------ stdout

class Captured:
    text = ""


@contextlib.contextmanager
def captured_stdout():
    """Capture everything written to stdout: Python's ``sys.stdout`` and fd 1
    (where TensorFlow's C++ ``tf.print`` writes), in the order written."""
    sys.stdout.flush()
    sys.stderr.flush()
    result = Captured()
    saved_fd = os.dup(1)
    saved_stdout = sys.stdout
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 1)
        # Unbuffered: Python's writes reach fd 1 at once, so they interleave with
        # tf.print's C++ writes in the order they happen.
        writer = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8",
                                  write_through=True)
        sys.stdout = writer
        try:
            yield result
        finally:
            writer.flush()
            sys.stdout = saved_stdout
            os.dup2(saved_fd, 1)
            os.close(saved_fd)
            tmp.seek(0)
            result.text = tmp.read().decode("utf-8", errors="replace")


# ------------------------------------------------------------------ runners

_FUNCTIONS = {}
_CONVERTED = {}


def graph_function(fn, **options):
    """A shared ``kgraph.function(fn, **options)`` (tracing is the slow part)."""
    key = (fn, repr(sorted(options.items())))
    if key not in _FUNCTIONS:
        _FUNCTIONS[key] = kgraph.function(fn, **options)
    return _FUNCTIONS[key]


def converted(fn):
    """A shared ``kgraph.to_graph(fn)``."""
    if fn not in _CONVERTED:
        _CONVERTED[fn] = kgraph.to_graph(fn)
    return _CONVERTED[fn]


def run(fn, args, kwargs):
    """(result as Python values, printed text) of ``fn(*args, **kwargs)``."""
    with captured_stdout() as out:
        result = fn(*args, **kwargs)
    return to_python(result), out.text


def check(fn, *values, options=None, kwargs=None, eager=True):
    """Assert that ``fn`` gives the same result and the same printed text as
    plain Python on plain values, converted on plain values, converted
    eagerly on tensors, and as ``kgraph.function`` on tensors.

    ``options`` go to ``kgraph.function``; ``kwargs`` are keyword arguments
    for ``fn`` (values wrapped like positional ones). Returns the Python result.
    """
    kwargs = kwargs or {}
    options = options or {}
    py_args = [python_value(v) for v in values]
    py_kwargs = {k: python_value(v) for k, v in kwargs.items()}
    expected, expected_out = run(fn, py_args, py_kwargs)
    name = getattr(fn, "__name__", type(fn).__name__)
    shown = f"{name}({', '.join(map(repr, values))}" + (
        f", **{kwargs!r})" if kwargs else ")")

    paths = [("to_graph on Python values", converted(fn), py_args, py_kwargs)]
    if eager:
        paths.append(("to_graph eagerly on tensors", converted(fn),
                      [tensor_value(v, graph=False) for v in values],
                      {k: tensor_value(v, graph=False) for k, v in kwargs.items()}))
    paths.append((f"kgraph.function({', '.join(f'{k}={v!r}' for k, v in options.items())})",
                  graph_function(fn, **options),
                  [tensor_value(v) for v in values],
                  {k: tensor_value(v) for k, v in kwargs.items()}))

    for label, runner, args, kw in paths:
        actual, actual_out = run(runner, args, kw)
        assert same(expected, actual), (
            f"{shown}: {label} returned {actual!r}, Python returned {expected!r}")
        assert actual_out == expected_out, (
            f"{shown}: {label} printed {actual_out!r}, Python printed {expected_out!r}")
    return expected


def check_all(fn, *inputs, **check_options):
    """``check(fn, *args)`` for every ``args`` tuple in ``inputs``."""
    for args in inputs:
        if not isinstance(args, tuple):
            args = (args,)
        check(fn, *args, **check_options)


def line_of(fn, text, nth=0):
    """The line number, in ``fn``'s file, of the ``nth`` line of ``fn`` containing ``text``."""
    import inspect

    lines, first = inspect.getsourcelines(fn)
    hits = [first + i for i, line in enumerate(lines) if text in line]
    if len(hits) <= nth:
        raise LookupError(f"{text!r} not found in {fn.__name__}")
    return hits[nth]


def location(fn, text, nth=0):
    """``file:line`` of the line of ``fn`` containing ``text``."""
    return f"{fn.__code__.co_filename}:{line_of(fn, text, nth)}"
