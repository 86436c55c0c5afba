"""``and`` / ``or`` / ``not`` with Python's short-circuit order kept.

``a and b and c`` becomes ``kg__.and_(a, lambda: b, lambda: c)``: later
operands are thunks, evaluated only when Python would evaluate them. On a
staged operand the rest is evaluated under ``tf.cond``, so a guard such as
``i < n and x[i] > 0`` never reads ``x[i]`` when ``i >= n``.
"""

from __future__ import annotations

import tensorflow as tf

from kgraph import context
from kgraph.operators.staging import caller_location, describe, is_staged, record


def _bool_tensor(v):
    v = tf.convert_to_tensor(v)
    return v if v.dtype == tf.bool else tf.cast(v, tf.bool)


def and_(first, *rest):
    return _chain(first, rest, is_and=True)


def or_(first, *rest):
    return _chain(first, rest, is_and=False)


def _chain(value, thunks, is_and):
    op = "and" if is_and else "or"
    for i, thunk in enumerate(thunks):
        if is_staged(value):
            record(op, "graph", f"operand is {describe(value)}: tf.cond keeps the "
                                "short-circuit", caller_location(3))
            return _tf_chain(value, thunks[i:], is_and)
        if context.recorder() is not None:
            record(op, "python", f"operand is {describe(value)}", caller_location(3))
        if (not value) if is_and else value:
            return value
        value = thunk()
    return value


def _tf_chain(value, thunks, is_and):
    left = _bool_tensor(value)
    if not thunks:
        return left

    def rest():
        return _bool_tensor(_chain(thunks[0](), thunks[1:], is_and))

    if is_and:
        return tf.cond(left, rest, lambda: tf.constant(False))
    return tf.cond(left, lambda: tf.constant(True), rest)


def not_(value):
    if is_staged(value):
        return tf.logical_not(_bool_tensor(value))
    return not value
