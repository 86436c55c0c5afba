"""``min``, ``max``, ``sum``, ``any``, ``all``, ``round`` and ``divmod`` in
converted code, with Python's meaning on tensors.

On Python values (and eager tensors, which Python can look at) each is the
builtin. With a symbolic tensor:

* ``min(a, b)`` keeps ``a`` unless ``b < a`` (Python's rule, so ``nan`` stays
  where Python keeps it); ``min(t)`` of a 1-D tensor reduces it; an empty one
  fails when the graph runs (Python's ``ValueError``) unless ``default=``
  is given. ``max`` likewise.
* ``sum(t, start)`` sums along the first axis (Python adds the rows); bools
  count as ints.
* ``any`` / ``all`` of a 1-D tensor or of a list holding tensors.
* ``round(x)`` rounds half to even (as Python) and gives an int tensor
  (int32 from float32, int64 from float64); ``round(x, n)`` rounds to the
  nearest decimal like Python (``round(2.675, 2) == 2.67``: the decimal
  digits come from the float's exact value).
* ``divmod(a, b)``: floor division and a remainder with the divisor's sign,
  for ints and floats, computed as CPython does for floats.

Graph lists go to ``kgraph.operators.lists``.
"""

from __future__ import annotations

import builtins

import tensorflow as tf

from kgraph.errors import (GraphValueError, StagingTypeError, StagingValueError,
                           UnsupportedStagingError)
from kgraph.operators import checks
from kgraph.operators.iterables import IndexedIterable, TensorRange
from kgraph.operators.lists import GraphList, reduce_list
from kgraph.operators.staging import caller_location, is_staged, location_text, record

_MISSING = object()


def _read(v):
    """A name bound on some paths only (``MaybeUnbound``) read as its checked value."""
    from kgraph.operators.undefined import MaybeUnbound
    return v.checked() if isinstance(v, MaybeUnbound) else v


def _staged(v):
    if is_staged(v) or isinstance(v, (GraphList, IndexedIterable)):
        return True
    if isinstance(v, (list, tuple)):
        return any(is_staged(e) for e in v)
    return False


def _here():
    return location_text(caller_location(3))


# ------------------------------------------------------------- min / max

def min_(*args, key=None, default=_MISSING):
    args = tuple(_read(a) for a in args)
    return _extreme("min", args, key, default, _here())


def max_(*args, key=None, default=_MISSING):
    args = tuple(_read(a) for a in args)
    return _extreme("max", args, key, default, _here())


def _extreme(kind, args, key, default, loc):
    if not any(_staged(a) for a in args):
        kw = {} if default is _MISSING else {"default": default}
        if key is not None:
            kw["key"] = key
        return getattr(builtins, kind)(*args, **kw)
    record(kind, "graph", "an argument is a symbolic tensor", None, depth=4)
    if key is not None:
        raise UnsupportedStagingError(
            f"{kind}(..., key=...) of symbolic tensors", location=loc,
            hints=(f"compute the keys as a tensor and use tf.argmin/tf.argmax, or "
                   f"tf.reduce_{kind}",))
    if len(args) > 1:
        if default is not _MISSING:
            raise TypeError(f"Cannot specify a default for {kind}() with multiple "
                            f"positional arguments")
        return _fold(kind, list(args), loc)
    (items,) = args
    if isinstance(items, GraphList):
        if default is _MISSING:
            return reduce_list(items, kind)
        items = items.stack()
    if isinstance(items, (list, tuple)):
        if not items:
            if default is _MISSING:
                raise ValueError(f"{kind}() iterable argument is empty")
            return default
        return _fold(kind, list(items), loc)
    t = _sequence_tensor(items, kind, loc)
    reduce = tf.reduce_min if kind == "min" else tf.reduce_max
    n = tf.shape(t)[0]
    if default is not _MISSING:
        return tf.where(n > 0, reduce(t), tf.cast(default, t.dtype))
    t = checks.gated(n > 0, lambda: GraphValueError(f"{kind}() iterable argument is empty",
                                                     location=loc),
                     f"ValueError: {kind}() iterable argument is empty (at {loc})", t,
                     location=loc)
    return reduce(t)


def _fold(kind, items, loc):
    best = items[0]
    for item in items[1:]:
        if tf.is_tensor(item) or tf.is_tensor(best):
            item, best = _same_dtype(item, best, kind, loc)
        better = item < best if kind == "min" else item > best
        best = _pick(better, item, best, kind, loc)
    return best


def _pick(cond, a, b, kind, loc):
    if not tf.is_tensor(cond):
        return a if cond else b
    a, b = _same_dtype(a, b, kind, loc)
    if cond.shape.rank not in (0, None):
        raise StagingValueError(
            f"{kind}() compared tensors of shape {cond.shape}: the truth value of the "
            f"comparison is ambiguous", location=loc,
            hints=(f"use tf.{'minimum' if kind == 'min' else 'maximum'} for an elementwise "
                   f"{kind}",))
    return tf.where(cond, a, b)


def _same_dtype(a, b, what, loc):
    if tf.is_tensor(a) and tf.is_tensor(b):
        if a.dtype != b.dtype:
            raise StagingTypeError(
                f"{what}() of a {a.dtype.name} and a {b.dtype.name} tensor: a graph value "
                f"has one dtype", location=loc,
                hints=(f"cast one of them, e.g. tf.cast(..., tf.{b.dtype.name})",))
        return a, b
    try:
        if tf.is_tensor(a):
            return a, tf.convert_to_tensor(b, dtype=a.dtype)
        return tf.convert_to_tensor(a, dtype=b.dtype), b
    except (TypeError, ValueError):
        tensor, other = (a, b) if tf.is_tensor(a) else (b, a)
        raise StagingTypeError(
            f"{what}() of a {tensor.dtype.name} tensor and the Python value {other!r}: "
            f"Python could return either, a graph value has one dtype", location=loc,
            hints=(f"cast the tensor, e.g. tf.cast(x, tf.float32), or use a Python "
                   f"{tensor.dtype.name.rstrip('0123456789')} value",)) from None


def _sequence_tensor(items, what, loc):
    """``items`` (a tensor, a range of tensors...) as a 1-D tensor of its elements."""
    if isinstance(items, TensorRange):
        return tf.range(items.start, items.stop, items.step)
    if isinstance(items, IndexedIterable):
        raise UnsupportedStagingError(
            f"{what}() of {items.description}", location=loc,
            hints=("write the loop out, accumulating the result",))
    t = tf.convert_to_tensor(items)
    if t.shape.rank == 0:
        raise StagingTypeError(f"{what}() of a scalar tensor: it is not iterable",
                               location=loc, hints=("pass a 1-D tensor or a list",))
    if t.shape.rank is not None and t.shape.rank > 1 and what != "sum":
        raise StagingValueError(
            f"{what}() of a tensor of shape {t.shape} compares its rows, whose truth "
            f"value is ambiguous", location=loc,
            hints=(f"flatten it first, or use tf.reduce_{what}(t, axis=0)",))
    return t


# ----------------------------------------------------------------- sum

def sum_(iterable, /, start=0):
    iterable, start = _read(iterable), _read(start)
    if not _staged(iterable) or isinstance(iterable, (list, tuple)):
        return builtins.sum(iterable, start)   # tensors in a list add with '+'
    loc = _here()
    if isinstance(iterable, GraphList):
        return reduce_list(iterable, "sum", start)
    t = _sequence_tensor(iterable, "sum", loc)
    if t.dtype == tf.bool:
        t = tf.cast(t, tf.int32)
    total = tf.reduce_sum(t, axis=0)
    if isinstance(start, (int, float)) and not isinstance(start, bool) and start == 0:
        return total
    return start + total


# ------------------------------------------------------------- any / all

def any_(iterable):
    iterable = _read(iterable)
    return _truth("any", iterable, _here())


def all_(iterable):
    iterable = _read(iterable)
    return _truth("all", iterable, _here())


def _truth(kind, iterable, loc):
    if not _staged(iterable):
        return getattr(builtins, kind)(iterable)
    if isinstance(iterable, (list, tuple)):
        parts = []
        for e in iterable:
            if not tf.is_tensor(e):
                if kind == "any" and e:
                    return True
                if kind == "all" and not e:
                    return False
                continue
            parts.append(_bool(e, kind, loc))
        if not parts:
            return kind == "all"
        reduce = tf.reduce_any if kind == "any" else tf.reduce_all
        return reduce(tf.stack(parts))
    if isinstance(iterable, GraphList):
        iterable = iterable.stack()
    t = _sequence_tensor(iterable, kind, loc)
    if t.dtype != tf.bool:
        t = tf.not_equal(t, tf.zeros([], t.dtype)) if t.dtype != tf.string \
            else tf.not_equal(t, "")
    reduce = tf.reduce_any if kind == "any" else tf.reduce_all
    return reduce(t)


def _bool(e, kind, loc):
    e = tf.convert_to_tensor(e)
    if e.shape.rank not in (0, None):
        raise StagingValueError(
            f"{kind}() of a list holding a tensor of shape {e.shape}: its truth value is "
            f"ambiguous", location=loc, hints=(f"reduce it first with tf.reduce_{kind}",))
    if e.dtype == tf.bool:
        return e
    if e.dtype == tf.string:
        return tf.not_equal(e, "")
    return tf.not_equal(e, tf.zeros([], e.dtype))


# --------------------------------------------------------------- round

def round_(number, ndigits=None):
    number, ndigits = _read(number), _read(ndigits)
    if not tf.is_tensor(number) or not is_staged(number) and not is_staged(ndigits):
        if tf.is_tensor(number):
            number = number.numpy().item()
        if tf.is_tensor(ndigits):
            ndigits = int(ndigits)
        return builtins.round(number, ndigits)
    loc = _here()
    if tf.is_tensor(ndigits):
        raise UnsupportedStagingError(
            "round(x, n) with a tensor n", location=loc,
            hints=("make the number of digits a Python int",))
    x = tf.convert_to_tensor(number)
    if x.dtype == tf.bool:
        x = tf.cast(x, tf.int32)
    if x.dtype.is_integer:
        if ndigits is None or ndigits >= 0:
            return x
        return _round_int(x, 10 ** -ndigits)
    if not x.dtype.is_floating:
        raise StagingTypeError(f"round() of a {x.dtype.name} tensor", location=loc)
    if ndigits is None:
        out = tf.int64 if x.dtype == tf.float64 else tf.int32
        return tf.cast(tf.round(x), out)      # tf.round: half to even, as Python
    if ndigits >= 0:
        # The decimal digits of the exact binary value, correctly rounded.
        wide = x if x.dtype in (tf.float32, tf.float64) else tf.cast(x, tf.float32)
        text = tf.strings.as_string(wide, precision=ndigits)
        return tf.cast(tf.strings.to_number(text, out_type=wide.dtype), x.dtype)
    scale = tf.constant(10.0 ** -ndigits, x.dtype)
    return tf.round(x / scale) * scale


def _round_int(x, q):
    q = tf.constant(q, x.dtype)
    d = tf.math.floordiv(x, q)
    m = tf.math.floormod(x, q)
    up = tf.logical_or(2 * m > q, tf.logical_and(tf.equal(2 * m, q),
                                                   tf.equal(tf.math.floormod(d, 2), 1)))
    return (d + tf.cast(up, x.dtype)) * q


# -------------------------------------------------------------- divmod

def divmod_(a, b):
    a, b = _read(a), _read(b)
    if not (tf.is_tensor(a) or tf.is_tensor(b)):
        return builtins.divmod(a, b)
    loc = _here()
    at, bt = _divmod_operands(a, b, loc)
    if at.dtype.is_integer:
        return tf.math.floordiv(at, bt), tf.math.floormod(at, bt)
    return _float_divmod(at, bt)


def _divmod_operands(a, b, loc):
    def is_float(v):
        return (v.dtype.is_floating if tf.is_tensor(v) else isinstance(v, float))

    if tf.is_tensor(a) and tf.is_tensor(b):
        if a.dtype != b.dtype:
            raise StagingTypeError(
                f"divmod() of a {a.dtype.name} and a {b.dtype.name} tensor",
                location=loc, hints=("cast one of them to the other's dtype",))
        return a, b
    tensor = a if tf.is_tensor(a) else b
    dtype = tensor.dtype
    if is_float(a if tensor is b else b) and not dtype.is_floating:
        dtype = tf.float64 if dtype == tf.int64 else tf.float32   # int tensor, float number
    return tf.cast(a, dtype), tf.cast(b, dtype)


def _float_divmod(a, b):
    """CPython's float divmod, in graph ops."""
    mod = tf.raw_ops.TruncateMod(x=a, y=b)              # C fmod
    div = (a - mod) / b
    fix = tf.logical_and(tf.not_equal(mod, 0), tf.not_equal(b < 0, mod < 0))
    mod = tf.where(fix, mod + b, mod)
    div = tf.where(fix, div - 1, div)
    # (-zeros, not tf.constant(-0.0): the eager scalar cache answers 0.0 for -0.0)
    zero = tf.zeros([], a.dtype)
    signed_zero_b = tf.where(_negative(b), -zero, zero)
    mod = tf.where(tf.equal(mod, 0), signed_zero_b, mod)
    floor = tf.math.floor(div)
    floor = tf.where(div - floor > 0.5, floor + 1, floor)
    quotient = a / b
    signed_zero_q = tf.where(_negative(quotient), -zero, zero)
    floor = tf.where(tf.equal(div, 0), signed_zero_q, floor)
    return floor, mod


def _negative(x):
    """The sign bit of ``x`` (true for -0.0 too)."""
    return tf.logical_or(x < 0, tf.logical_and(tf.equal(x, 0), 1 / x < 0))
