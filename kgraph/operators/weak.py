"""Weak Python numbers: what a Python number becomes while kgraph learns its dtype.

A Python number that becomes graph state (``k = 0`` then ``while k < n: k += 1``)
has no dtype of its own: in Python it is an ``int``, and ``int + int64 tensor``
is an int64 tensor. A graph loop variable needs one dtype before the loop is
built, so kgraph traces the loop body once in a *scratch* graph with each such
number replaced by a ``Weak`` stand-in, and watches which tensors it meets:

* ``Weak`` arithmetic with Python numbers or other ``Weak`` values stays weak
  and *links* the operands (they must end up with one dtype);
* converting a ``Weak`` to a tensor for a dtype (``k < n`` with ``n`` int64
  asks for an int64 ``k``) records that dtype for its whole linked group.

After the scratch trace each group's dtype is read off (``Group.resolve``).
``Weak`` values only ever exist inside scratch traces: they are never carried
by a graph that runs.
"""

from __future__ import annotations

import operator

import tensorflow as tf


class Group:
    """A union-find node: Python numbers that must share one dtype."""

    __slots__ = ("parent", "met", "is_float")

    def __init__(self, is_float=False):
        self.parent = None
        self.met = []          # dtypes met, in order
        self.is_float = is_float

    def root(self):
        g = self
        while g.parent is not None:
            g = g.parent
        return g

    def union(self, other):
        a, b = self.root(), other.root()
        if a is not b:
            b.parent = a
            a.met.extend(d for d in b.met if d not in a.met)
            a.is_float = a.is_float or b.is_float
        return a

    def meet(self, dtype):
        r = self.root()
        dtype = tf.as_dtype(dtype).base_dtype
        if dtype not in r.met:
            r.met.append(dtype)

    def resolve(self):
        """The dtype the group's numbers take: an integer dtype met wins for
        ints (they stay ints), then a floating one; None if nothing was met."""
        r = self.root()
        numeric = [d for d in r.met if d.is_integer or d.is_floating or d.is_complex]
        if not r.is_float:
            ints = [d for d in numeric if d.is_integer]
            if ints:
                return ints[0]
        floats = [d for d in numeric if d.is_floating or d.is_complex]
        if floats:
            return floats[0]
        return None


class Weak:
    """A Python number in a scratch trace: behaves as the number, records meetings."""

    __slots__ = ("value", "group")

    def __init__(self, value, group=None):
        self.value = value
        self.group = group if group is not None else Group(isinstance(value, float))

    # -- Python number protocol
    def __index__(self):
        return operator.index(self.value)

    def __int__(self):
        return int(self.value)

    def __float__(self):
        return float(self.value)

    def __bool__(self):
        return bool(self.value)

    def __hash__(self):
        return hash(self.value)

    def __repr__(self):
        return repr(self.value)

    __str__ = __repr__

    def __format__(self, spec):
        return format(self.value, spec)

    def __neg__(self):
        return Weak(-self.value, self.group)

    def __pos__(self):
        return self

    def __abs__(self):
        return Weak(abs(self.value), self.group)


def unwrap(v):
    return v.value if isinstance(v, Weak) else v


def _is_plain_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _operands(a, b):
    """The group linking ``a`` and ``b``, or None if ``b`` is not a number."""
    if isinstance(b, Weak):
        return a.group.union(b.group)
    if _is_plain_number(b):
        if isinstance(b, float):
            a.group.root().is_float = True
        return a.group.root()
    return None


def _arith(fn, reverse=False):
    def method(self, other):
        group = _operands(self, other)
        if group is None:
            return NotImplemented      # a tensor: its operator converts us (a meeting)
        x, y = (unwrap(other), self.value) if reverse else (self.value, unwrap(other))
        try:
            result = fn(x, y)
        except (ZeroDivisionError, OverflowError, ValueError):
            result = 0.0 if isinstance(x, float) or isinstance(y, float) else 0
        if fn is operator.truediv:
            return Weak(float(result), Group(True))   # int / int is a float
        return Weak(result, group)
    return method


def _compare(fn):
    def method(self, other):
        if _operands(self, other) is None:
            return NotImplemented
        result = fn(self.value, unwrap(other))
        # A comparison of a value that will be a tensor is a tensor: whatever it
        # decides keeps both of its branches traced, as the real graph will.
        return tf.compat.v1.placeholder_with_default(bool(result), [])
    return method


for _name, _fn in [("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("truediv", operator.truediv), ("floordiv", operator.floordiv),
                   ("mod", operator.mod), ("pow", operator.pow)]:
    setattr(Weak, f"__{_name}__", _arith(_fn))
    setattr(Weak, f"__r{_name}__", _arith(_fn, reverse=True))

for _name, _fn in [("lt", operator.lt), ("le", operator.le), ("gt", operator.gt),
                   ("ge", operator.ge), ("eq", operator.eq), ("ne", operator.ne)]:
    setattr(Weak, f"__{_name}__", _compare(_fn))
Weak.__hash__ = lambda self: hash(self.value)


def _convert(value, dtype=None, name=None, as_ref=False):
    del as_ref
    if dtype is not None:
        value.group.meet(dtype)
        return tf.constant(value.value, dtype=dtype, name=name)
    return tf.constant(value.value, name=name)


tf.register_tensor_conversion_function(Weak, _convert, priority=1)
