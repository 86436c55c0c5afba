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
    # A Weak number stands, in a scratch trace, for what will be a tensor; a
    # MaybeUnbound (a variable bound only on some run-time paths) is a graph
    # value behind a run-time check: operators treat both as tensors.
    return (tf.is_tensor(value) or isinstance(value, (tf.data.Dataset, MaybeUnbound))
            or is_weak_proxy(value))


def describe(value):
    """Why a value sends a statement down the graph or the Python path."""
    if isinstance(value, tf.data.Dataset):
        return "a tf.data.Dataset"
    from kgraph.operators.weak import WeakTensor
    if isinstance(value, WeakTensor):
        return (f"a Python {'float' if value.is_float else 'int'} carried as a "
                f"{value.dtype.name} tensor")
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


_ROLE_TEXT = {"return": "the return value", "return-flag": "the 'has returned' flag",
              "break-flag": "the 'break' flag", "continue-flag": "the 'continue' flag"}
_GENERATED_PREFIXES = {"retval_": "return", "do_return_": "return-flag",
                       "break_": "break-flag", "continue_": "continue-flag"}


def role_of(name):
    """The role of a variable kgraph's own passes generated (its namer's prefixes)."""
    for prefix, role in _GENERATED_PREFIXES.items():
        if name.startswith(prefix) and name[len(prefix):].isdigit():
            return role
    return None


def display_name(name, role=None):
    """How error messages refer to a state variable (generated ones get prose)."""
    role = role or role_of(name)
    if role in _ROLE_TEXT:
        return _ROLE_TEXT[role]
    return f"'{name}'"


def is_weak_proxy(value):
    """A ``Weak`` stand-in of a scratch trace, or a ``WeakTensor`` (a Python
    number graph control flow carries): both are staged numbers."""
    from kgraph.operators.weak import Weak, WeakTensor
    return isinstance(value, (Weak, WeakTensor))
