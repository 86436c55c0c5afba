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

The arithmetic operators whose TensorFlow meaning differs from Python's on
tensors of one dtype (the ``arithmetic`` pass rewrites them):

* ``a % b`` and ``a // b`` on floats: CPython's algorithm (``1.0 // 0.1`` is
  ``9.0``, where ``floor(1.0 / 0.1)`` is ``10.0``; a zero remainder has the
  divisor's sign, so ``-2.0 % 2.0`` is ``0.0``, not ``-0.0``). Integers keep
  TensorFlow's ops, which already floor like Python.
* ``a ** b`` of an int tensor and a negative Python int gives a float, as in
  Python (TensorFlow refuses negative integer powers).
* An int tensor meeting a Python float (``n % 2.5``, ``n ** 0.5``,
  ``divmod(n, 2.0)``) is a float computation, as in Python.

Wherever Python turns an int into a float (``/``, ``float()``, ``**`` a
negative int, an int meeting a float), the graph computes in float64,
Python's float (as TensorFlow's ``/`` of int tensors does): the results are
Python's, digit for digit.

``int(x)``, ``float(x)`` and ``bool(x)`` of a tensor give tensors: ``int``
truncates toward zero (float32 -> int32, float64 -> int64, as ``round``),
``float`` of an int is float64, ``bool`` is ``x != 0`` (``x != ''`` for
strings).

Graph lists go to ``kgraph.operators.lists``.
"""

from __future__ import annotations

import builtins
import re

import tensorflow as tf

from kgraph.errors import (GraphValueError, GraphZeroDivisionError, StagingTypeError,
                           StagingValueError, UnsupportedStagingError)
from kgraph.operators import checks
from kgraph.operators.iterables import IndexedIterable, TensorRange
from kgraph.operators.lists import GraphList, reduce_list
from kgraph.operators.staging import (caller_location, is_staged, is_weak_proxy,
                                      location_text, record)
from kgraph.operators.weak import WeakTensor, plain, reweak, unweak_args

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
    args, weak = unweak_args(tuple(_read(a) for a in args))
    return reweak(_extreme("min", args, key, default, _here()), weak)


def max_(*args, key=None, default=_MISSING):
    args, weak = unweak_args(tuple(_read(a) for a in args))
    return reweak(_extreme("max", args, key, default, _here()), weak)


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
    (number, ndigits), weak = unweak_args((_read(number), _read(ndigits)))
    return reweak(_round(number, ndigits, _here()), weak)


def _round(number, ndigits, loc):
    if not tf.is_tensor(number) or not is_staged(number) and not is_staged(ndigits):
        if tf.is_tensor(number):
            number = number.numpy().item()
        if tf.is_tensor(ndigits):
            ndigits = int(ndigits)
        return builtins.round(number, ndigits)
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
        return tf.cast(tf.round(x), int_of_width(x.dtype))      # tf.round: half to even, as Python
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
    (a, b), weak = unweak_args((_read(a), _read(b)))
    return reweak(_divmod(a, b, _here()), weak)


def _divmod(a, b, loc):
    if not (tf.is_tensor(a) or tf.is_tensor(b)):
        return builtins.divmod(a, b)
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
        dtype = python_float(dtype)      # int tensor, float number
    return tf.cast(a, dtype), tf.cast(b, dtype)


def python_float(dtype):
    """The float dtype an int (or bool) tensor becomes where Python turns an
    int into a float: float64, Python's float (exact for every int32, and
    what TensorFlow's ``/`` of two int tensors gives)."""
    del dtype
    return tf.float64


def int_of_width(dtype):
    """The int dtype a float (or bool) tensor becomes for ``int()``/``round()``."""
    return tf.int64 if dtype == tf.float64 else tf.int32


def _float_divmod(a, b):
    """CPython's float divmod, in graph ops."""
    mod = tf.raw_ops.TruncateMod(x=a, y=b)              # C fmod
    div = (a - mod) / _not_folded(b)
    fix = tf.logical_and(tf.not_equal(mod, 0), tf.not_equal(b < 0, mod < 0))
    mod = tf.where(fix, mod + b, mod)
    div = tf.where(fix, div - 1, div)
    mod = _zero_with_sign_of(mod, b)
    zero = tf.zeros([], a.dtype)
    floor = tf.math.floor(div)
    floor = tf.where(div - floor > 0.5, floor + 1, floor)
    quotient = a / b
    signed_zero_q = tf.where(_negative(quotient), -zero, zero)
    floor = tf.where(tf.equal(div, 0), signed_zero_q, floor)
    return floor, mod


def _not_folded(b):
    """``b``, hidden from Grappler's constant folding, which turns a division
    by a constant into a multiplication by its (rounded) reciprocal: a
    quotient beyond 2**53 would come out one float off. (XLA does the same
    rewrite; there such quotients may differ from Python's.)"""
    if tf.executing_eagerly() or tf.get_static_value(b) is None:
        return b
    return tf.raw_ops.PlaceholderWithDefault(input=b, shape=b.shape)


def _zero_with_sign_of(r, b):
    """``r``, with a zero made ``copysign(0.0, b)`` (CPython's zero remainder)."""
    # (-zeros, not tf.constant(-0.0): the eager scalar cache answers 0.0 for -0.0)
    zero = tf.zeros([], r.dtype)
    return tf.where(tf.equal(r, 0), tf.where(_negative(b), -zero, zero), r)


def _negative(x):
    """The sign bit of ``x`` (true for -0.0 too)."""
    return tf.logical_or(x < 0, tf.logical_and(tf.equal(x, 0), 1 / x < 0))


# ------------------------------------------------- %, // and ** on tensors

def _dense(v):
    return isinstance(v, (tf.Tensor, tf.Variable))


def _dense_or_weak(v):
    return _dense(v) or isinstance(v, WeakTensor)


def _number(v):
    """A Python (or NumPy) scalar number, or a Weak stand-in for one."""
    import numpy as np
    if is_weak_proxy(v):
        return True
    return isinstance(v, (int, float, np.number)) and not isinstance(v, bool)


def _is_float_number(v):
    import numpy as np
    if isinstance(v, WeakTensor):
        return v.is_float
    if is_weak_proxy(v):
        return isinstance(v.value, float)
    return isinstance(v, (float, np.floating))


def _float_operands(a, b):
    """``(a, b)`` as two float tensors of one dtype when Python computes
    ``a op b`` in floats and one of them is a tensor; None when TensorFlow's
    own operator already means what Python means (ints, mismatched dtypes it
    reports itself, values that are not numbers)."""
    if _dense(a) and _dense(b):
        if a.dtype == b.dtype and a.dtype.is_floating:
            return a, b
        return None
    if _dense(a) and _number(b):
        tensor, other, tensor_first = a, b, True
    elif _dense(b) and _number(a):
        tensor, other, tensor_first = b, a, False
    else:
        return None
    dtype = tensor.dtype
    if dtype.is_integer and _is_float_number(other):
        dtype = python_float(dtype)         # Python: int op float is a float
    elif not dtype.is_floating:
        return None
    tensor = tf.cast(tensor, dtype) if tensor.dtype != dtype else tensor
    other = tf.convert_to_tensor(other, dtype=dtype)
    return (tensor, other) if tensor_first else (other, tensor)


def mod(a, b):
    """``a % b``: Python's remainder (the divisor's sign, also for a zero)."""
    (a, b), weak = unweak_args((_read(a), _read(b)))
    return reweak(_mod(a, b), weak)


def _mod(a, b):
    if isinstance(a, str):                  # a template the strings pass could not see
        from kgraph.operators.strings import percent_text
        return percent_text(a, b, location_text(caller_location(3)))
    pair = _float_operands(a, b)
    if pair is None:
        return a % b
    x, y = pair
    # TensorFlow's floormod is fmod moved to the divisor's sign (CPython's rule)
    # except for a zero remainder, which keeps the dividend's sign.
    return _zero_with_sign_of(tf.math.floormod(x, y), y)


def floordiv(a, b):
    """``a // b``: for floats CPython's ``(a - a % b) / b``, snapped to an integer."""
    (a, b), weak = unweak_args((_read(a), _read(b)))
    pair = _float_operands(a, b)
    if pair is None:
        return reweak(a // b, weak)
    return reweak(_float_divmod(*pair)[0], weak)


def pow_(a, b, mod=None):
    """``a ** b`` (and ``pow(a, b)``): an int tensor to a negative Python int,
    or to a Python float, is a float (Python's result); everything else is
    TensorFlow's pow."""
    (a, b), weak = unweak_args((_read(a), _read(b)))
    return reweak(_pow(a, b, _read(mod)), weak)


def _pow(a, b, mod):
    if mod is not None:
        if _dense(a) or _dense(b) or _dense(mod):
            raise UnsupportedStagingError(
                "pow(a, b, mod) of tensors", location=location_text(caller_location(3)),
                hints=("compute it with a loop of multiplications, each taken % mod",))
        return builtins.pow(a, b, mod)
    if _dense(a) and (a.dtype.is_integer or a.dtype == tf.bool) and _number(b):
        value = b.value if is_weak_proxy(b) else b
        if _is_float_number(b) or value < 0:
            x = tf.cast(a, python_float(a.dtype))
            return x ** tf.convert_to_tensor(b, dtype=x.dtype)
    elif _dense(b) and b.dtype.is_integer and _is_float_number(a):
        y = tf.cast(b, python_float(b.dtype))
        return tf.convert_to_tensor(a, dtype=y.dtype) ** y
    return a ** b


def mod_assign(a, b):
    """``a %= b`` (in place for values that define ``__imod__``)."""
    a, b = _read(a), _read(b)
    if _dense_or_weak(a) or _dense_or_weak(b) or isinstance(a, str):
        return mod(a, b)
    a %= b
    return a


def floordiv_assign(a, b):
    a, b = _read(a), _read(b)
    if _dense_or_weak(a) or _dense_or_weak(b):
        return floordiv(a, b)
    a //= b
    return a


def pow_assign(a, b):
    a, b = _read(a), _read(b)
    if _dense_or_weak(a) or _dense_or_weak(b):
        return pow_(a, b)
    a **= b
    return a


# ------------------------------------------------- int(), float(), bool()

def int_(x=0, *args, **kwargs):
    (x,), weak = unweak_args((_read(x),))
    return reweak(_int(x, *args, **kwargs), weak)


def _int(x, *args, **kwargs):
    if args or kwargs or not _dense(x) or not is_staged(x):
        return builtins.int(x, *args, **kwargs)
    if x.dtype == tf.string:
        return tf.strings.to_number(x, out_type=tf.int64)
    if x.dtype.is_integer:
        return x
    if x.dtype == tf.bool:
        return tf.cast(x, tf.int32)
    if x.dtype.is_floating:
        return tf.cast(x, int_of_width(x.dtype))   # truncates toward zero, as Python
    raise StagingTypeError(f"int() of a {x.dtype.name} tensor",
                           location=location_text(caller_location(3)))


def float_(x=0.0):
    (x,), weak = unweak_args((_read(x),))
    return reweak(_float(x), weak)


def _float(x):
    if not _dense(x) or not is_staged(x):
        return builtins.float(x)
    if x.dtype == tf.string:
        return tf.strings.to_number(x, out_type=tf.float64)
    if x.dtype.is_floating:
        return x
    if x.dtype.is_integer or x.dtype == tf.bool:
        return tf.cast(x, python_float(x.dtype))
    raise StagingTypeError(f"float() of a {x.dtype.name} tensor",
                           location=location_text(caller_location(3)))


def bool_(x=False):
    x = plain(_read(x))
    if not _dense(x) or not is_staged(x):
        return builtins.bool(x)
    if x.shape.rank not in (0, None):
        raise StagingValueError(
            f"bool() of a tensor of shape {x.shape}: its truth value is ambiguous",
            location=_here(), hints=("reduce it first, e.g. tf.reduce_any(x != 0)",))
    return _bool(x, "bool", None)


# ------------------------------------------------- run-time arithmetic errors

_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')


def _user_line(message):
    """``file:line`` of the innermost frame in a TensorFlow "defined at" trace
    that is neither kgraph's, TensorFlow's nor Keras' (generated code runs
    under the user's file and lines), or None."""
    import os
    import keras
    import kgraph
    libraries = tuple(os.path.dirname(m.__file__) + os.sep for m in (kgraph, tf, keras))
    found = None
    for m in _FRAME.finditer(message):
        path = m.group("file")
        if not os.path.abspath(path).startswith(libraries) and "/tensorflow/" not in path:
            found = f"{path}:{m.group('line')}"
    return found


def _source_of(where):
    """`` in `<the user's line>``" for ``file:line``, or ""."""
    import linecache
    if not where:
        return ""
    path, _, line = where.rpartition(":")
    text = linecache.getline(path, int(line)).strip()
    return f" in `{text}`" if text else ""


def translate_arithmetic(message):
    """The error Python would raise for a TensorFlow run-time arithmetic
    failure in converted code (integer division by zero: ZeroDivisionError;
    an int to a negative int power: a TypeError), or None."""
    if "Integer division by zero" in message:
        where = _user_line(message)
        return GraphZeroDivisionError(
            f"integer division or modulo by zero{_source_of(where)}", location=where,
            hints=("test the divisor before dividing",))
    if "Integers to negative integer powers are not allowed" in message:
        where = _user_line(message)
        return StagingTypeError(
            f"an int tensor to a negative int power{_source_of(where)}: Python gives a "
            f"float, which an int graph value cannot hold", location=where,
            hints=("make the base a float (2.0 ** n, or tf.cast(x, tf.float32) ** n)",),
            kind="negative-int-power")
    return None


# ------------------------------------------------- the math module on tensors

def _math_table():
    import math
    as_int = "int"       # Python gives an int: the int of the float's width
    as_float = "float"   # Python gives a float: ints computed in float64
    as_bool = "bool"
    return {
        math.floor: (as_int, tf.math.floor), math.ceil: (as_int, tf.math.ceil),
        math.trunc: (as_int, lambda x: tf.where(x < 0, tf.math.ceil(x), tf.math.floor(x))),
        math.sqrt: (as_float, tf.math.sqrt), math.exp: (as_float, tf.math.exp),
        math.expm1: (as_float, tf.math.expm1), math.log1p: (as_float, tf.math.log1p),
        math.log2: (as_float, lambda x: tf.math.log(x) / tf.math.log(tf.constant(2, x.dtype))),
        math.log10: (as_float, lambda x: tf.math.log(x) / tf.math.log(tf.constant(10, x.dtype))),
        math.log: (as_float, lambda x, base=None: tf.math.log(x) if base is None
                   else tf.math.log(x) / tf.math.log(base)),
        math.sin: (as_float, tf.math.sin), math.cos: (as_float, tf.math.cos),
        math.tan: (as_float, tf.math.tan), math.asin: (as_float, tf.math.asin),
        math.acos: (as_float, tf.math.acos), math.atan: (as_float, tf.math.atan),
        math.sinh: (as_float, tf.math.sinh), math.cosh: (as_float, tf.math.cosh),
        math.tanh: (as_float, tf.math.tanh), math.fabs: (as_float, tf.math.abs),
        math.atan2: (as_float, tf.math.atan2), math.pow: (as_float, tf.math.pow),
        math.hypot: (as_float, lambda a, b: tf.math.sqrt(a * a + b * b)),
        math.fmod: (as_float, lambda a, b: tf.raw_ops.TruncateMod(x=a, y=b)),
        math.copysign: (as_float, lambda a, b: tf.where(_negative(b), -tf.abs(a), tf.abs(a))),
        math.isnan: (as_bool, tf.math.is_nan), math.isinf: (as_bool, tf.math.is_inf),
        math.isfinite: (as_bool, tf.math.is_finite),
    }


_MATH = None


def math_call(fn, *args):
    """``math.f(*args)``: Python's own on Python values and eager tensors; on
    symbolic tensors the TensorFlow op, with Python's result kind (an int
    from ``floor``/``ceil``/``trunc``, a float from the others, ints computed
    in float64)."""
    global _MATH
    args = tuple(_read(a) for a in args)
    if not any(_dense(a) and is_staged(a) for a in args):
        # (eager scalars as the Python numbers they hold: math.trunc needs __trunc__)
        return fn(*(a.numpy().item() if _dense(a) and a.shape.rank == 0 else a
                    for a in args))
    if _MATH is None:
        _MATH = _math_table()
    entry = _MATH.get(fn)
    if entry is None:
        raise UnsupportedStagingError(
            f"math.{fn.__name__}() of a symbolic tensor", location=_here(),
            hints=(f"use the TensorFlow function (tf.math...), or call math.{fn.__name__} "
                   f"on Python values",))
    kind, op = entry
    tensors = [a for a in args if _dense(a)]
    dtype = tensors[0].dtype
    if any(t.dtype != dtype for t in tensors):
        raise StagingTypeError(
            f"math.{fn.__name__}() of tensors of different dtypes "
            f"({', '.join(t.dtype.name for t in tensors)})", location=_here(),
            hints=("cast them to one dtype",))
    if kind == "int" and dtype.is_integer:
        return args[0]
    if not dtype.is_floating:
        dtype = python_float(dtype)
    xs = [tf.cast(a, dtype) if _dense(a) else tf.convert_to_tensor(a, dtype) for a in args]
    out = op(*xs)
    if kind == "int":
        out = tf.cast(out, int_of_width(dtype))
    return out
