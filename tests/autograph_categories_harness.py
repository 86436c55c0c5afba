"""Harness of the AutoGraph-category suite (tests/test_autograph_categories.py).

A *program* is one function, one dtype and a list of inputs. ``outcomes``
runs it three ways:

* ``"python"``: the function itself, eagerly, on Python values (the reference);
* ``"kgraph"``: ``kgraph.function(fn)`` on tensors;
* ``"tf"``: ``tf.function(fn)`` (TensorFlow's AutoGraph) on tensors;

and records, per input, either ``("ok", result as Python values, printed
text)`` or ``("raise", exception class, printed text)``. ``matches`` says
whether a run agrees with the reference: the same result (floats up to
float32 rounding) and the same printed text, or an exception that is an
instance of the class Python raised.

Each argument has a *kind* (one letter per argument, ``Program.kinds``):

``t``  a tensor of the program's dtype (Python gets ints, or floats for a
       float dtype);
``i``  an int32 tensor (a count or a bound; Python gets the int);
``b``  a bool tensor (Python gets the bool);
``d``  a ``tf.data.Dataset`` of the program's dtype (Python gets the list);
``l``  a Python list of scalar tensors of the program's dtype (Python gets
       the list of numbers);
``v``  a fresh ``tf.Variable`` of the program's dtype on every path, the
       reference included (stateful inputs);
``e``  an eager tensor for the reference too (programs that slice like
       NumPy: Python lists cannot);
``p``  the same Python value on every path.

One ``kgraph.function`` and one ``tf.function`` serve all inputs of a
program: arguments get an ``input_signature`` with unknown dimensions
(what a caller with varying lengths sees); a program with ``p``, ``l`` or
``v`` arguments has no signature and traces with ``reduce_retracing``.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import zlib

import tensorflow as tf

import kgraph

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_helpers import captured_stdout, same, to_python  # noqa: E402

# Dtype choices: a program is registered once per chosen dtype. To keep one
# trace per program and still cover every dtype, each function gets its
# dtypes from its name (a stable choice: adding a program changes no other).
I4 = "one int and one float dtype"
MIXED = "any one dtype"
INTS = "one int dtype"
FLOATS = "one float dtype"
_CHOICES = {
    I4: [("int32", "float64"), ("int64", "float32")],
    MIXED: [("int32",), ("float32",), ("int64",), ("float64",)],
    INTS: [("int32",), ("int64",)],
    FLOATS: [("float32",), ("float64",)],
}


def _dtypes(choice, name):
    if choice not in _CHOICES:
        return choice
    options = _CHOICES[choice]
    return options[zlib.crc32(name.encode()) % len(options)]


PROGRAMS = []


@dataclasses.dataclass
class Program:
    category: str
    fn: object
    dtype: str
    kinds: str
    inputs: list
    xfail: str | None = None      # known kgraph failure: the cause
    _functions: dict = dataclasses.field(default_factory=dict, repr=False)

    @property
    def name(self):
        return f"{self.fn.__name__}[{self.dtype}]"

    @property
    def id(self):
        return f"{self.category}-{self.name}"

    # -------------------------------------------------------------- values
    def _is_float(self):
        return self.dtype.startswith("float")

    def _number(self, value):
        if isinstance(value, list):
            return [self._number(v) for v in value]
        if isinstance(value, bool):
            return value
        return float(value) if self._is_float() else int(value)

    def python_args(self, inputs):
        args = []
        for kind, value in zip(self.kinds, inputs):
            if kind in "tdl":
                args.append(self._number(value))
            elif kind in "ve":
                args.append(self._tensor(kind, value))
            else:
                args.append(value)
        return args

    def _tensor(self, kind, value):
        if kind == "i":
            return tf.constant(value, tf.int32)
        if kind == "b":
            return tf.constant(value, tf.bool)
        if kind == "p":
            return value
        if kind == "l":
            return [tf.constant(v, self.dtype) for v in self._number(value)]
        if kind == "v":
            return tf.Variable(self._number(value), dtype=self.dtype)
        t = tf.constant(self._number(value), self.dtype)
        if kind == "d":
            return tf.data.Dataset.from_tensor_slices(t)
        return t

    def tensor_args(self, inputs):
        return [self._tensor(kind, value) for kind, value in zip(self.kinds, inputs)]

    def signature(self):
        if any(k in "plv" for k in self.kinds):
            return None
        specs = []
        for i, kind in enumerate(self.kinds):
            rank = len(tf.constant(self.inputs[0][i]).shape)
            dtype = {"i": tf.int32, "b": tf.bool}.get(kind, tf.as_dtype(self.dtype))
            if kind == "d":
                specs.append(tf.data.DatasetSpec(tf.TensorSpec([None] * (rank - 1), dtype)))
            else:
                specs.append(tf.TensorSpec([None] * rank, dtype))
        return specs

    # -------------------------------------------------------------- runs
    def function(self, which):
        if which not in self._functions:
            sig = self.signature()
            options = ({"input_signature": sig} if sig is not None
                       else {"reduce_retracing": True})
            make = kgraph.function if which == "kgraph" else tf.function
            self._functions[which] = make(self.fn, **options)
        return self._functions[which]

    def outcomes(self, which):
        """One outcome per input for ``which`` in ("python", "kgraph", "tf")."""
        results = []
        for inputs in self.inputs:
            if which == "python":
                fn, args = self.fn, self.python_args(inputs)
            else:
                fn, args = self.function(which), self.tensor_args(inputs)
            results.append(run_one(fn, args))
        return results


def run_one(fn, args):
    out = None
    try:
        with captured_stdout() as out:
            result = fn(*args)
        return ("ok", to_python(result), out.text)
    except Exception as e:  # noqa: BLE001 - an outcome to compare
        return ("raise", e, out.text if out is not None else "")


def matches(expected, actual):
    """Whether ``actual`` (a graph outcome) agrees with ``expected`` (Python's)."""
    if expected[0] == "ok":
        return actual[0] == "ok" and same(expected[1], actual[1]) and expected[2] == actual[2]
    return actual[0] == "raise" and isinstance(actual[1], type(expected[1]))


def describe(program, which, expected, actual):
    """Why ``actual`` differs from ``expected``, for the inputs shown."""
    lines = []
    for inputs, e, a in zip(program.inputs, expected, actual):
        if matches(e, a):
            continue
        shown = ", ".join(map(repr, inputs))

        def fmt(o):
            if o[0] == "ok":
                return f"returned {o[1]!r}, printed {o[2]!r}"
            return f"raised {type(o[1]).__name__}: {str(o[1]).splitlines()[0] if str(o[1]) else ''}"
        lines.append(f"{program.name}({shown}): {which} {fmt(a)}; Python {fmt(e)}")
    return "\n".join(lines)


def program(category, kinds, inputs, dtypes=I4, xfail=None):
    """Register ``fn`` as one program per dtype; ``xfail``: reason, or {dtype: reason}."""
    def register(fn):
        for dtype in _dtypes(dtypes, fn.__name__):
            reason = xfail.get(dtype) if isinstance(xfail, dict) else xfail
            PROGRAMS.append(Program(category, fn, dtype, kinds,
                                    [i if isinstance(i, tuple) else (i,) for i in inputs],
                                    reason))
        return fn
    return register
