"""Calls from converted code to functions that are not known at conversion time.

``kg__.call(f, *args)`` converts ``f`` first when it is the user's own code
(see ``kgraph.convert.policy``) and calls it as is otherwise.

Recursion through a tensor condition never ends while tracing: both branches
of the ``if`` that should stop it are traced, and the one that recurses
traces the function again, in a new branch graph, forever. Recursion on
Python values stays in one graph and ends as in Python. So a converted
function that is re-entered across graph-branch boundaries more than
``RECURSION_LIMIT`` times on the current call stack raises
``RecursiveStagingError`` at the user's recursive call, at once.
"""

from __future__ import annotations

import threading
import types

import tensorflow as tf

from kgraph.errors import RecursiveStagingError, UnsupportedStagingError
from kgraph.operators import mutations
from kgraph.operators.staging import caller_location, is_staged, location_text

RECURSION_LIMIT = 10
_active = threading.local()


def call(f, *args, **kwargs):
    from kgraph.convert import policy
    mutations.note_call(f, args, kwargs)
    target = policy.converted_callable(f)
    if target is f or tf.executing_eagerly():
        return target(*args, **kwargs)
    key = _code_of(f)
    graph = tf.compat.v1.get_default_graph()
    stack = getattr(_active, "stack", None)
    if stack is None:
        stack = _active.stack = []
    same = [g for k, g in stack if k is key]
    if len(same) >= RECURSION_LIMIT and any(g is not graph for g in same):
        loc = caller_location()
        name = getattr(f, "__qualname__", getattr(f, "__name__", repr(f)))
        raise RecursiveStagingError(
            f"{name}() calls itself through graph control flow ({len(same)} levels deep "
            f"while tracing): the condition that should end the recursion is a tensor, "
            f"so tracing both of its branches never ends",
            location=location_text(loc),
            hints=(f"write the recursion of '{name}' as a while loop carrying its state",
                   "or make the condition that ends it a Python value"))
    stack.append((key, graph))
    try:
        return target(*args, **kwargs)
    finally:
        stack.pop()


def _code_of(f):
    if isinstance(f, types.MethodType):
        f = f.__func__
    return getattr(f, "__code__", f)


def comprehension(iterable, graph_fn, python_fn):
    """A list comprehension / generator expression whose first iterable is
    ``iterable``: a graph loop (``graph_fn``) over staged iterables, else Python's."""
    from kgraph.operators.iterables import as_graph_iterable
    from kgraph.operators.lists import GraphList
    if isinstance(iterable, GraphList) or as_graph_iterable(iterable) is not None:
        return graph_fn(iterable)
    return python_fn(iterable)


def comp_iter(iterable):
    """The iterable of a comprehension: Python semantics, tensors unrolled."""
    if not is_staged(iterable):
        return iterable
    loc = location_text(caller_location())
    if isinstance(iterable, tf.data.Dataset):
        raise UnsupportedStagingError(
            "a comprehension iterates a tf.data.Dataset inside a graph", location=loc,
            hints=("write a for loop that appends to a list, then kgraph.stack(xs)",))
    t = tf.convert_to_tensor(iterable)
    if t.shape.rank and t.shape[0] is not None:
        return tf.unstack(t)
    raise UnsupportedStagingError(
        f"a comprehension iterates a symbolic tensor whose length is not known "
        f"(shape {t.shape}); comprehensions are unrolled in Python",
        location=loc,
        hints=("write a for loop that appends to a list, then kgraph.stack(xs)",
               "or use tf.map_fn / vectorized ops"))
