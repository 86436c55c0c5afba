"""``and`` / ``or`` / ``not``, chained comparisons and ``in``, with Python's meaning.

``a and b and c`` becomes ``kg__.and_(a, lambda: b, lambda: c)``: later
operands are thunks, evaluated only when Python would evaluate them. The
result is the operand that decided, as in Python (``x or 5`` is ``x`` when
``x`` is truthy, else ``5``). On a staged operand the rest is evaluated
under ``tf.cond``, so a guard such as ``i < n and x[i] > 0`` never reads
``x[i]`` when ``i >= n``, and ``x or 5`` is ``tf.cond(x != 0, x, 5)``.

``kg__.compare(a, '<', b, '<=', lambda: c)`` is ``a < b <= c``: each operand
evaluated once, the chain cut short like Python's.

``kg__.in_(x, c)`` is ``x in c`` where Python's ``in`` would call ``bool()``
on a symbolic tensor: ``x`` a tensor in a tuple/list/set/dict/range, or in a
1-D tensor; a string tensor in a Python string.
"""

from __future__ import annotations

import numbers
import operator

import tensorflow as tf

from kgraph import context
from kgraph.errors import StagingTypeError, StagingValueError
from kgraph.operators.lists import GraphList, contains, truth
from kgraph.operators.staging import (caller_location, describe, is_staged, location_text,
                                      record)


def _read(v):
    """A name bound on some paths only (``MaybeUnbound``) read as its checked value."""
    from kgraph.operators.undefined import MaybeUnbound
    return v.checked() if isinstance(v, MaybeUnbound) else v


def _read_plain(v):
    """``_read``, and a Python number carried as a tensor (``WeakTensor``) as that
    tensor: ``in`` compares it element by element with Python's cross-type
    meaning (``_eq``)."""
    from kgraph.operators.weak import plain
    return plain(_read(v))


def _bool_tensor(v):
    v = tf.convert_to_tensor(v)
    return v if v.dtype == tf.bool else tf.cast(v, tf.bool)


def and_(first, *rest):
    return _chain(first, rest, True, caller_location())


def or_(first, *rest):
    return _chain(first, rest, False, caller_location())


def _chain(value, thunks, is_and, loc):
    op = "and" if is_and else "or"
    value = _read(value)
    for i, thunk in enumerate(thunks):
        if is_staged(value):
            record(op, "graph", f"operand is {describe(value)}: tf.cond keeps the "
                                "short-circuit", loc)
            return _tf_chain(value, thunks[i:], is_and, loc)
        if context.recorder() is not None:
            record(op, "python", f"operand is {describe(value)}", loc)
        if (not value) if is_and else value:
            return value
        value = _read(thunk())
    return value


def _tf_chain(value, thunks, is_and, loc):
    """``value and rest...`` with ``value`` staged: the deciding operand, via tf.cond.

    A graph value has one dtype: when one operand is a bool and the other a
    number (``x > 0 and y``), the bool becomes 0/1 of the number's dtype
    (Python's ``False == 0``).
    """
    from kgraph.operators.control_flow import _tf_if
    from kgraph.operators.staging import is_weak_proxy

    # A Python number (weak: a WeakTensor, or a scratch trace's stand-in) is
    # the result as it is: it takes the other operand's dtype (``c or max(t)``).
    weak = value if is_weak_proxy(value) else None
    value = tf.convert_to_tensor(value)
    learned = []

    def rest():   # traced first (the true branch below)
        out = _chain(thunks[0](), thunks[1:], is_and, loc)
        if value.dtype != tf.bool and _is_bool(out):
            out = tf.cast(out, value.dtype)
        learned.append(out)
        return (out,)

    def keep():
        out = learned[-1] if learned else None
        if value.dtype == tf.bool and out is not None and not _is_bool(out) and (
                tf.is_tensor(out) or isinstance(out, (int, float))):
            target = out.dtype if tf.is_tensor(out) else tf.convert_to_tensor(out).dtype
            return (tf.cast(value, target),)
        return (value if weak is None else weak,)

    # ``a and b`` is ``b if a else a``; ``a or b`` is ``b if not a else a``.
    test = _as_condition(value) if is_and else tf.logical_not(_as_condition(value))
    where = f"the '{'and' if is_and else 'or'}' expression"
    (out,) = _tf_if(test, rest, keep, (), ("result",), loc, where)
    return out


def _is_bool(v):
    return isinstance(v, bool) or (tf.is_tensor(v) and v.dtype == tf.bool)


def _as_condition(value):
    if value.dtype != tf.bool:
        value = tf.not_equal(value, tf.zeros([], value.dtype)) if value.dtype != tf.string \
            else tf.not_equal(value, "")
    return value


def not_(value):
    value = truth(value)
    if is_staged(value):
        return tf.logical_not(_bool_tensor(value))
    return not value


# ---------------------------------------------------------------------------
# comparisons

def in_(x, container):
    """``x in container``."""
    x, container = _read_plain(x), _read_plain(container)
    if not _tensor_membership(x, container):
        return x in container
    loc = caller_location()
    _record_membership("in", x, container, loc)
    return _contains(container, x, location_text(loc))


def not_in(x, container):
    """``x not in container``."""
    x, container = _read_plain(x), _read_plain(container)
    if not _tensor_membership(x, container):
        return x not in container
    loc = caller_location()
    _record_membership("not in", x, container, loc)
    return tf.logical_not(_bool_tensor(_contains(container, x, location_text(loc))))


def _record_membership(op, x, container, loc):
    if context.recorder() is None:
        return
    shown = x if tf.is_tensor(x) else container
    path = "graph" if is_staged(shown) else "python"
    record(op, path, f"operand is {describe(shown)}: compared element by element", loc)


_OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge, "is": operator.is_,
        "is not": operator.is_not}


def compare(left, op, right, *rest):
    """``left op right op2 rest[1]() ...``: Python's chained comparison.

    ``rest`` alternates operator symbols and thunks of the later operands.
    """
    loc = caller_location()
    return _compare(left, op, right, rest, loc)


def _compare(left, op, right, rest, loc):
    left, right = _read(left), _read(right)
    if op == "in":
        result = _in_at(_read_plain(right), _read_plain(left), loc)
    elif op == "not in":
        result = _not_in_at(_read_plain(right), _read_plain(left), loc)
    else:
        result = _OPS[op](left, right)
    if not rest:
        return result
    next_op, next_thunk = rest[0], rest[1]
    return _chain(result, (lambda: _compare(right, next_op, next_thunk(), rest[2:], loc),),
                  True, loc)


def _in_at(container, x, loc):
    if not _tensor_membership(x, container):
        return x in container
    return _contains(container, x, location_text(loc))


def _not_in_at(container, x, loc):
    if not _tensor_membership(x, container):
        return x not in container
    return tf.logical_not(_bool_tensor(_contains(container, x, location_text(loc))))


def _tensor_membership(x, container):
    """True when Python's ``in`` would compare tensors (and call ``bool()`` on them)."""
    if tf.is_tensor(x) or tf.is_tensor(container) or isinstance(
            container, (tf.data.Dataset, GraphList)):
        return True
    if isinstance(container, (list, tuple, set, frozenset, dict)):
        return any(tf.is_tensor(e) or is_staged(e) for e in container)
    return False


def _contains(container, x, loc_text):
    if isinstance(container, GraphList):
        return contains(container, x)
    if isinstance(container, range):
        return _in_range(container, x)
    if isinstance(container, (str, bytes)):
        return _in_text(container, x, loc_text)
    if tf.is_tensor(container) or isinstance(container, tf.Variable):
        return _in_tensor(tf.convert_to_tensor(container), x, loc_text)
    if isinstance(container, tf.data.Dataset):
        raise StagingTypeError(
            "'in' on a tf.data.Dataset cannot be staged", location=loc_text,
            hints=("reduce the dataset first, e.g. dataset.reduce(...)",))
    try:
        elements = [_read_plain(e) for e in container]
    except TypeError:
        raise StagingTypeError(
            f"argument of type '{type(container).__name__}' is not iterable",
            location=loc_text, hints=("use 'in' with a tuple, list, set, dict, range or a "
                                      "1-D tensor",)) from None
    found = []
    for e in elements:
        if e is x:
            return True
        eq = _eq(x, e)
        if not tf.is_tensor(eq):
            if eq:
                return True
            continue
        found.append(_scalar_bool(eq, loc_text))
    if not found:
        return tf.constant(False) if is_staged(x) else False
    return found[0] if len(found) == 1 else tf.reduce_any(tf.stack(found))


def _scalar_bool(t, loc_text):
    t = _bool_tensor(t)
    if t.shape.rank not in (0, None):
        raise StagingValueError(
            f"'in' compared a tensor of shape {t.shape} with an element: the truth value "
            f"of the comparison is ambiguous", location=loc_text,
            hints=("compare scalars, or use tf.reduce_any(tf.equal(...))",))
    return t


def _in_tensor(t, x, loc_text):
    if t.shape.rank == 0:
        raise StagingTypeError("iteration over a 0-d tensor: 'in' needs a 1-D tensor",
                               location=loc_text, hints=("use '==' to compare scalars",))
    if t.shape.rank != 1:
        raise StagingValueError(
            f"'x in t' with t of shape {t.shape} compares x with whole rows: their truth "
            f"value is ambiguous", location=loc_text,
            hints=("flatten t first (tf.reshape(t, [-1])), or compare rows explicitly",))
    return tf.reduce_any(_eq(t, x))


def _in_range(r, x):
    x = tf.convert_to_tensor(x)
    if x.dtype.is_integer:
        start, stop, step = (tf.cast(v, x.dtype) for v in (r.start, r.stop, r.step))
    elif x.dtype.is_floating:
        start, stop, step = (tf.constant(v, x.dtype) for v in (r.start, r.stop, r.step))
    else:
        return tf.constant(False)
    if r.step > 0:
        inside = tf.logical_and(x >= start, x < stop)
        on_step = tf.equal(tf.math.floormod(x - start, step), 0)
    else:
        inside = tf.logical_and(x <= start, x > stop)
        on_step = tf.equal(tf.math.floormod(start - x, -step), 0)
    return tf.logical_and(inside, on_step)


def _in_text(text, x, loc_text):
    if not tf.is_tensor(x) or tf.convert_to_tensor(x).dtype != tf.string:
        raise StagingTypeError(
            f"'in <string>' requires a string as left operand, not {describe(x)}",
            location=loc_text, hints=("compare string tensors with strings",))
    if isinstance(text, bytes):
        text = text.decode()
    escaped = tf.strings.regex_replace(x, r"([\\.^$|?*+()\[\]{}])", r"\\\1")
    return tf.strings.regex_full_match(text, tf.strings.join(["(?s).*", escaped, ".*"]))


def _eq(a, b):
    """``a == b`` where at least one side is a tensor, with Python's cross-type meaning."""
    if not tf.is_tensor(a):
        a, b = b, a
    if not tf.is_tensor(a):
        return a == b
    a = tf.convert_to_tensor(a)
    if tf.is_tensor(b):
        b = tf.convert_to_tensor(b)
        if a.dtype == b.dtype:
            return tf.equal(a, b)
        if tf.string in (a.dtype, b.dtype):
            return tf.zeros(tf.broadcast_dynamic_shape(tf.shape(a), tf.shape(b)), tf.bool)
        common = tf.float64 if (a.dtype.is_floating or b.dtype.is_floating) else tf.int64
        return tf.equal(tf.cast(a, common), tf.cast(b, common))
    if isinstance(b, (str, bytes)):
        if a.dtype == tf.string:
            return tf.equal(a, b)
        return tf.zeros_like(a, tf.bool)
    if isinstance(b, numbers.Number) and not isinstance(b, complex):
        if a.dtype == tf.string:
            return tf.zeros_like(a, tf.bool)
        if a.dtype.is_floating:
            return tf.equal(a, tf.constant(b, a.dtype))
        if isinstance(b, float) and not b.is_integer():
            return tf.zeros_like(a, tf.bool)
        if a.dtype == tf.bool:
            a = tf.cast(a, tf.int64)
        if a.dtype.is_integer:
            lo, hi = a.dtype.min, a.dtype.max
            if not lo <= int(b) <= hi:
                return tf.zeros_like(a, tf.bool)
            return tf.equal(a, tf.constant(int(b), a.dtype))
    return tf.zeros_like(a, tf.bool)
