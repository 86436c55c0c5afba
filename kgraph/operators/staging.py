"""The one question every operator asks: is this value staged?

A value is *staged* when Python cannot look at it: a symbolic tensor of a
graph being traced, or a dataset iterated inside a graph. Eager tensors are
not staged: Python control flow on them runs as plain Python.
"""

from __future__ import annotations

import sys

import tensorflow as tf

from kgraph.operators.undefined import MaybeUnbound

from kgraph import context
from kgraph.report import Decision


def is_staged(value):
    if tf.executing_eagerly():
        return False
    # A MaybeUnbound (a variable bound only on some run-time paths) is a
    # graph value behind a run-time check: operators treat it as a tensor.
    return tf.is_tensor(value) or isinstance(value, (tf.data.Dataset, MaybeUnbound))


def describe(value):
    """Why a value sends a statement down the graph or the Python path."""
    if isinstance(value, tf.data.Dataset):
        return "a tf.data.Dataset"
    if tf.is_tensor(value):
        kind = "symbolic tensor" if is_staged(value) else "eager tensor"
        return f"a {kind} ({value.dtype.name})"
    if isinstance(value, bool):
        return "a Python bool"
    return f"a Python {type(value).__name__}"


def caller_location(depth=2):
    """(filename, lineno) of the generated code that called an operator.

    Generated code is compiled under the user's file name and line numbers,
    so this is the user's own statement.
    """
    frame = sys._getframe(depth)
    return frame.f_code.co_filename, frame.f_lineno


def location_text(loc):
    return f"{loc[0]}:{loc[1]}" if loc else None


def record(construct, path, reason, loc=None, depth=3):
    rec = context.recorder()
    if rec is None:
        return
    if loc is None:
        loc = caller_location(depth)
    rec.add(Decision(loc[0], loc[1], construct, path, reason))


def display_name(name):
    """How error messages refer to a state variable (generated ones get prose)."""
    if name.startswith("retval_"):
        return "the return value"
    if name.startswith("do_return_"):
        return "the 'has returned' flag"
    if name.startswith("break_"):
        return "the 'break' flag"
    return f"'{name}'"
