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

What a graph that runs carries is a tensor; a number that is still a Python
number after the loop or branch (in Python's meaning) comes out of it as a
``WeakTensor`` (below): a tensor that remembers it stands for a Python int or
float, and takes the dtype of the tensors it meets.
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
        """The dtype the group's numbers are carried in: the first integer dtype
        met for ints, the first floating one for floats; None if nothing fitting
        was met. An int that only met floats (``k < y`` with ``y`` float64) is
        still an int in Python, so it is carried as an int (a ``WeakTensor``
        converts it where it meets the floats): only assigning it a float
        result makes it a float, and that is learned as a tensor merge."""
        r = self.root()
        numeric = [d for d in r.met if d.is_integer or d.is_floating or d.is_complex]
        if not r.is_float:
            ints = [d for d in numeric if d.is_integer]
            return ints[0] if ints else None
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

    def __divmod__(self, other):
        return self // other, self % other

    def __rdivmod__(self, other):
        return other // self, other % self

    def __round__(self, ndigits=None):
        if ndigits is None:         # round() of a float is an int
            return Weak(round(self.value), Group() if isinstance(self.value, float)
                        else self.group)
        return Weak(round(self.value, ndigits), self.group)


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
        # A comparison never makes a float: ``k < 2.5`` leaves ``k`` an int
        # (only arithmetic with a float does). Numbers of one kind compared
        # are linked (``j < i`` with ``i`` meeting int64: both int64).
        if isinstance(other, Weak):
            a, b = self.group.root(), other.group.root()
            if a.is_float == b.is_float:
                a.union(b)
        elif not _is_plain_number(other):
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


# ------------------------------------------------------------- WeakTensor

# The dtype a Python number takes when graph control flow must carry it and
# no tensor told it better: int32 / float32, as tf.convert_to_tensor(1) and
# JAX (without x64) choose. Wider defaults would cost on accelerators (TPUs
# emulate 64-bit ints and have no float64; GPUs keep many int32 ops fast),
# and nothing is lost by the narrow default where it matters: a weak value
# takes the dtype of the tensor it meets (an int64 size, float64 values),
# and kgraph learns that dtype before building a loop when the loop itself
# meets it. A weak float computed only among Python numbers is a float32
# (Python's would be float64): the precision limit of the choice.
DEFAULT_DTYPE = {False: tf.int32, True: tf.float32}


def fits_python(is_float, dtype):
    """True when a Python int (``is_float`` False) / float may take ``dtype``:
    an int becomes any int or float, a float only a float (as ``int64_tensor +
    1`` works and ``int64_tensor + 1.5`` does not)."""
    dtype = tf.as_dtype(dtype)
    if is_float:
        return dtype.is_floating or dtype.is_complex
    return dtype.is_integer or dtype.is_floating or dtype.is_complex


class WeakTensor:
    """A Python number that graph control flow carries as a tensor.

    ``k = 0; while k < n: k += 1`` leaves ``k`` a Python int in Python; in the
    graph it comes out of the ``tf.while_loop`` as a tensor. A plain tensor
    would have one fixed dtype (``int32``) and clash with an ``int64`` or
    ``float64`` tensor it meets later; a ``WeakTensor`` keeps Python's meaning:

    * with a tensor (``k + x``, ``x < k``, ``total / k``) it takes the
      tensor's dtype, when Python allows it (an int becomes any int or float
      dtype, a float only a float dtype), and the result is a plain tensor;
    * with Python numbers or other weak values it stays weak (``k + 1``), and
      becomes a float where Python's value would (``k / 2``, ``k + 0.5``);
    * comparisons give plain bool tensors;
    * TensorFlow ops, ``tf.function`` outputs and Keras see a plain tensor of
      its dtype (``tensor`` below; it is registered as a tensor conversion);
      ``print`` and formatting show an int as an int.

    ``tensor`` is any int or float dtype (int32/float32 unless the value met
    a wider one in its loop, see ``DEFAULT_DTYPE``); ``is_float`` says what
    Python type it stands for. Only kgraph's control flow makes these.
    """

    __slots__ = ("tensor", "is_float")

    def __init__(self, tensor, is_float):
        self.tensor = tensor
        self.is_float = bool(is_float)

    @property
    def dtype(self):
        return self.tensor.dtype

    @property
    def shape(self):
        return self.tensor.shape

    def as_dtype(self, dtype):
        """The plain tensor of ``dtype`` this value becomes (TypeError where
        Python's number could not: a float as an int tensor)."""
        dtype = tf.as_dtype(dtype).base_dtype
        if dtype == self.tensor.dtype:
            return self.tensor
        if not fits_python(self.is_float, dtype):
            raise TypeError(
                f"a Python {'float' if self.is_float else 'int'} (carried as a "
                f"{self.tensor.dtype.name} tensor) cannot become a {dtype.name} tensor")
        return tf.cast(self.tensor, dtype)

    def __repr__(self):
        return f"WeakTensor({'float' if self.is_float else 'int'}, {self.tensor!r})"

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(self.tensor, attr)

    def __bool__(self):
        return bool(self.tensor)

    def __index__(self):
        return self.tensor.__index__()

    def __int__(self):
        return int(self.tensor)

    def __float__(self):
        return float(self.tensor)

    def __neg__(self):
        return WeakTensor(-self.tensor, self.is_float)

    def __pos__(self):
        return self

    def __abs__(self):
        return WeakTensor(tf.abs(self.tensor), self.is_float)

    def __invert__(self):
        return WeakTensor(~self.tensor, self.is_float)

    __hash__ = None


def _python_operand(v):
    """(value, is_float) for a Python number (or a scratch ``Weak``), else None."""
    if isinstance(v, Weak):
        return v.value, isinstance(v.value, float) or v.group.root().is_float
    if isinstance(v, bool):
        return int(v), False
    if isinstance(v, (int, float)):
        return v, isinstance(v, float)
    return None


def _wider(a, b):
    return a if a.size >= b.size else b


def _weak_operands(a, other):
    """``a`` (a WeakTensor) and ``other`` as tensors of one dtype, and whether
    the result stays weak (and is a float). None when ``other`` is no number."""
    if isinstance(other, WeakTensor):
        is_float = a.is_float or other.is_float
        if a.is_float == other.is_float:
            dtype = _wider(a.dtype, other.dtype)
        else:
            dtype = a.dtype if a.is_float else other.dtype
        return a.as_dtype(dtype), other.as_dtype(dtype), True, is_float
    number = _python_operand(other)
    if number is not None:
        value, is_float = number
        if is_float and not a.is_float:
            dtype = DEFAULT_DTYPE[True]
        else:
            dtype = a.dtype
        return a.as_dtype(dtype), tf.constant(value, dtype), True, a.is_float or is_float
    if isinstance(other, (str, bytes, list, tuple, dict)) or other is None:
        return None
    try:
        t = tf.convert_to_tensor(other)
    except (TypeError, ValueError):
        return None
    return a.as_dtype(t.dtype.base_dtype), t, False, None


def _weak_binary(fn, reverse=False, compare=False):
    def method(self, other):
        operands = _weak_operands(self, other)
        if operands is None:
            return NotImplemented
        x, y, weak, is_float = operands
        result = fn(y, x) if reverse else fn(x, y)
        if compare or not weak:
            return result
        if fn is operator.truediv:
            is_float = True          # int / int is a float in Python
        return WeakTensor(result, is_float)
    return method


for _name, _fn in [("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("truediv", operator.truediv), ("floordiv", operator.floordiv),
                   ("mod", operator.mod), ("pow", operator.pow)]:
    setattr(WeakTensor, f"__{_name}__", _weak_binary(_fn))
    setattr(WeakTensor, f"__r{_name}__", _weak_binary(_fn, reverse=True))

for _name, _fn in [("lt", operator.lt), ("le", operator.le), ("gt", operator.gt),
                   ("ge", operator.ge), ("eq", tf.equal), ("ne", tf.not_equal)]:
    setattr(WeakTensor, f"__{_name}__", _weak_binary(_fn, compare=True))


def _convert_weak_tensor(value, dtype=None, name=None, as_ref=False):
    del name, as_ref
    return value.tensor if dtype is None else value.as_dtype(dtype)


tf.register_tensor_conversion_function(WeakTensor, _convert_weak_tensor, priority=1)


def plain(v):
    """``v`` with a WeakTensor turned into its plain tensor (others unchanged):
    for TensorFlow, formatting and the function's outputs."""
    return v.tensor if isinstance(v, WeakTensor) else v


def plain_nest(v):
    """``plain`` on every leaf of a tuple / list / dict."""
    if isinstance(v, WeakTensor):
        return v.tensor
    if isinstance(v, (tuple, list, dict)):
        return tf.nest.map_structure(plain, v)
    return v


def unweak_args(args):
    """The arguments of a builtin (``min``, ``max``, ``divmod``, ``round``) with
    every WeakTensor made plain: cast to the dtype of a plain tensor argument
    when there is one (then the result is a plain tensor: returns ``False``),
    else kept in its own dtype, and the result is weak again (returns ``True``)."""
    if not any(isinstance(a, WeakTensor) for a in args):
        return args, False
    strong = next((a for a in args if tf.is_tensor(a) and getattr(a, "dtype", None) is not None
                   and (a.dtype.is_integer or a.dtype.is_floating)), None)
    if strong is None:
        weak = [a for a in args if isinstance(a, WeakTensor)]
        floats = [a.dtype for a in weak if a.is_float]
        kinds = floats or [a.dtype for a in weak]
        dtype = max(kinds, key=lambda d: d.size)      # one dtype for them all
        return tuple(a.as_dtype(dtype) if isinstance(a, WeakTensor) else a
                     for a in args), True
    dtype = strong.dtype.base_dtype
    return tuple(a.as_dtype(dtype) if isinstance(a, WeakTensor) and fits_python(a.is_float, dtype)
                 else plain(a) for a in args), False


def reweak(result, weak):
    """``result`` of a builtin on weak arguments only: weak again (an int
    dtype stands for a Python int, a float dtype for a Python float)."""
    if not weak:
        return result
    if isinstance(result, tuple):
        return tuple(reweak(r, True) for r in result)
    if isinstance(result, tf.Tensor) and (result.dtype.is_integer or result.dtype.is_floating):
        return WeakTensor(result, result.dtype.is_floating)
    return result
