"""Control-flow state: how Python values cross tf.cond / tf.while_loop.

Every state variable of a graph ``if`` / ``while`` / ``for`` gets a *slot*: a
small object of one class per kind of value, which knows

* ``encode(value, entry)``: the tensors (a "flow") the value is carried as, or
  None when it does not enter the graph at all;
* ``decode(flow)``: the value again, from the flow;
* ``merge(new, site)``: what a value coming out of a branch or loop body
  means for the slot: ``self`` when it fits, a *learned* better slot (a
  Python number's dtype, a relaxed shape, a list that grows), or an error
  naming the variable when Python's types really differ;
* ``scratch_value(value)``: what a scratch trace (which only learns types)
  hands the body instead of ``value``.

The kinds:

=================  ==========================================================
``TensorSlot``     a dense tensor of one dtype (its shape may be relaxed)
``WeakSlot``       a Python number: no dtype until it meets a tensor
``CompositeSlot``  a ``tf.SparseTensor`` / ``tf.RaggedTensor`` (spec relaxed)
``NestSlot``       a tuple/list/dict of tensors, passed as is
``ListSlot``       a Python list that grows in a graph loop (a ``GraphList``)
``SameSlot``       a Python object that must come out exactly as it went in
``StrSlot``        a Python str that graph control flow changes (a tf.string)
``UndefinedSlot``  no value on entry (a return value not returned yet)
``MaybeSlot``      a tensor bound only on some run-time paths (first bound in a
                   loop): carried with a "bound" flag, see ``MaybeUnbound``
=================  ==========================================================
"""

from __future__ import annotations

import dataclasses
import numbers

import numpy as np
import tensorflow as tf

from kgraph.errors import (StagingError, StagingTypeError, StagingValueError,
                           UndefinedVariableError)
from kgraph.operators.lists import GraphList, TypedList
from kgraph.operators.undefined import InLoop, MaybeUnbound, Undefined, Unobserved
from kgraph.operators.weak import (DEFAULT_DTYPE, Group, Weak, WeakTensor, fits_python,
                                   unwrap)


@dataclasses.dataclass
class Site:
    """Where a value is checked: for error messages and merge rules."""

    name: str
    where: str                 # "the while loop", "the if statement"...
    loc_text: str
    loop: bool
    role: str = None           # "return" / "return-flag" / "break-flag" / None
    near: tuple = ()           # dtypes an if's condition compares (a number's best guess)

    @property
    def shown(self):
        from kgraph.operators.staging import display_name
        return display_name(self.name, self.role)


class OneBranchError(UndefinedVariableError):
    """A variable defined in only one branch of a graph ``if`` and used after it."""

    def __init__(self, shown_names, where, location):
        self.shown_names = list(shown_names)
        listed = ", ".join(self.shown_names)
        plural = len(self.shown_names) > 1
        super().__init__(
            f"{listed} {'are' if plural else 'is'} defined in only one branch of {where} "
            f"and {'are' if plural else 'is'} used after it",
            location=location,
            hints=(f"assign {listed} in both branches, or before {where}",))


def is_python_number(v):
    return isinstance(v, (bool, numbers.Number, np.generic, Weak, WeakTensor)) and \
        not isinstance(v, np.ndarray)


def _is_weak_number(v):
    """A Python int or float (not a bool, not a NumPy scalar: those have dtypes),
    or one that graph control flow already carries (a ``WeakTensor``)."""
    return isinstance(v, (Weak, WeakTensor)) or (
        isinstance(v, (int, float)) and not isinstance(v, bool))


def _is_float_number(v):
    if isinstance(v, Weak):
        return v.group.root().is_float or isinstance(v.value, float)
    if isinstance(v, WeakTensor):
        return v.is_float
    return isinstance(v, float)


def _number_flow(value, dtype):
    """A Python number (or WeakTensor) as a tensor of ``dtype``."""
    if isinstance(value, WeakTensor):
        return value.as_dtype(dtype)
    return tf.constant(unwrap(value), dtype=dtype)


def _python_type_name(is_float):
    return "float" if is_float else "int"


class Slot:
    carried = True

    def encode(self, value, entry=False):
        raise NotImplementedError

    def decode(self, flow):
        return flow

    def merge(self, new, site):
        raise NotImplementedError

    def scratch_value(self, value):
        """A stand-in for ``value`` in a scratch trace (placeholders of its spec)."""
        flow = self.encode(value, entry=True)
        if flow is None:
            return self.decode(None)
        return self.decode(tf.nest.map_structure(_placeholder_of, flow))

    def invariant(self, flow):
        """Shape invariant of the flow in a tf.while_loop (its own spec by default)."""
        return tf.nest.map_structure(_spec_of, flow)

    def zeros(self):
        """A value of this slot standing for one that is never observed."""
        raise StagingTypeError("internal: no placeholder value for this kind of state")

    def __eq__(self, other):
        return type(self) is type(other) and self._key() == other._key()

    def __hash__(self):
        return hash((type(self), self._key()))

    def _key(self):
        return ()


def _placeholder_of(x):
    if isinstance(x, tf.Tensor):
        return tf.raw_ops.Placeholder(dtype=x.dtype, shape=x.shape)
    return x


def _spec_of(x):
    if isinstance(x, tf.Tensor):
        return x.shape
    return tf.type_spec_from_value(x)


# ------------------------------------------------------------------ same

class SameSlot(Slot):
    """A Python object (``None``, a layer, a string...) that stays out of the graph."""

    carried = False

    def __init__(self, value):
        self.value = value

    def _key(self):
        return (id(self.value),)

    def encode(self, value, entry=False):
        return None

    def decode(self, flow):
        return self.value

    def scratch_value(self, value):
        return value

    def merge(self, new, site):
        if new is self.value or _same_list(new, self.value):
            return self
        if isinstance(self.value, str) and _is_text(new):
            # A Python string changed by graph control flow (FizzBuzz's
            # ``msg += 'Fizz'``): carried as a scalar tf.string tensor.
            return StrSlot()
        if isinstance(self.value, list) and isinstance(new, (list, GraphList)):
            # A Python list that grows in the body: carry it as a GraphList.
            element = _list_element([self.value, new], site)
            if element is not None:
                return ListSlot(element, weak=not _has_tensor([self.value, new]))
            return self
        if not site.loop:
            hint = ("return the same kind of value on every path (e.g. a tensor of one "
                    "dtype)" if site.role == "return" else
                    f"give {site.shown} a tensor value of one dtype in both branches")
            raise StagingTypeError(
                f"{site.shown} is {_kind_text(self.value)} in one branch of {site.where} and "
                f"{_kind_text(new)} in the other; a graph conditional must produce the "
                f"same kind of value in both", location=site.loc_text, hints=(hint,))
        raise StagingTypeError(
            f"{site.shown} is {_kind_text(self.value)} before {site.where} but becomes "
            f"{_kind_text(new)} inside it; graph control flow cannot change a "
            f"Python object into something else",
            location=site.loc_text,
            hints=(f"give {site.shown} a tensor value of the right dtype before {site.where}",))


# ------------------------------------------------------------------- str

def _is_text(v):
    return isinstance(v, str) or (isinstance(v, tf.Tensor) and v.dtype == tf.string
                                  and v.shape.rank == 0)


class StrSlot(Slot):
    """A Python ``str`` that graph control flow changes: a scalar ``tf.string``.

    Python strings and string tensors both merge into it; the text operators
    (``kgraph/operators/strings.py``) make string tensors print as Python's
    text, so a string built in a tensor loop reads as the Python one.
    """

    def __repr__(self):
        return "StrSlot()"

    def encode(self, value, entry=False):
        if isinstance(value, Undefined):
            return self.zeros()
        if isinstance(value, str):
            return tf.constant(value, tf.string)
        return value

    def zeros(self):
        return placeholder_like(tf.TensorSpec([], tf.string))

    def merge(self, new, site):
        if isinstance(new, Undefined):
            if isinstance(new, Unobserved):     # a path that returned: nothing to merge
                return self
            raise OneBranchError([site.shown], site.where, site.loc_text)
        if _is_text(new):
            return self
        where = (f"before {site.where} but becomes {_kind_text(new)} inside it" if site.loop
                 else f"in one branch of {site.where} and {_kind_text(new)} in the other")
        raise StagingTypeError(
            f"{site.shown} is a string {where}", location=site.loc_text,
            hints=(f"keep {site.shown} a string on every path (str(...) converts a "
                   f"number)",))


# ---------------------------------------------------------------- tensor

class TensorSlot(Slot):
    """A dense tensor of one dtype; ``python`` names the Python type it came from.

    ``weak``: the value is a Python number carried as a tensor (a ``WeakSlot``
    whose dtype was learned): it decodes to a ``WeakTensor``, which takes the
    dtype of the tensors it meets after the loop as the number would.
    """

    def __init__(self, dtype, shape, python=None, weak=False):
        self.dtype = tf.as_dtype(dtype)
        self.shape = tf.TensorShape(shape)
        self.python = python
        self.weak = weak and python is not None

    def _key(self):
        return (self.dtype, tuple(self.shape.as_list()) if self.shape.rank is not None
                else None)

    def __repr__(self):
        return f"TensorSlot({self.dtype.name}, {self.shape})"

    def encode(self, value, entry=False):
        if isinstance(value, Undefined):     # a branch that has not returned yet
            return self.zeros()
        if is_python_number(value):
            return _number_flow(value, self.dtype)
        t = value
        if entry and self.shape.rank is not None and t.shape != self.shape:
            t = tf.compat.v1.placeholder_with_default(t, self.shape)   # relaxed invariant
        elif entry and self.shape.rank is None and t.shape.rank is not None:
            t = tf.compat.v1.placeholder_with_default(t, self.shape)
        return t

    def zeros(self):
        return placeholder_like(tf.TensorSpec(self.shape, self.dtype))

    def decode(self, flow):
        if self.weak and isinstance(flow, tf.Tensor):
            return WeakTensor(flow, self.python == "float")
        return flow

    def merge(self, new, site):
        if isinstance(new, MaybeUnbound):
            return MaybeSlot(self, new.name, new.where).merge(new, site)
        if isinstance(new, InLoop):
            return MaybeSlot(self, site.name, site.loc_text)
        if isinstance(new, Undefined):
            if isinstance(new, Unobserved):
                return self
            return _bound_on_some_paths(self, site)
        if _is_weak_number(new) or isinstance(new, (bool, np.generic)):
            if isinstance(new, Weak) and (self.dtype.is_integer or self.dtype.is_floating):
                new.group.meet(self.dtype)
            fits = (fits_python(new.is_float, self.dtype) if isinstance(new, WeakTensor)
                    else _number_fits(unwrap(new), self.dtype))
            if (site.loop and isinstance(new, WeakTensor) and not new.is_float
                    and self.python is None and not self.dtype.is_integer):
                # A loop that replaces a float tensor by a Python int (``x = i`` with
                # ``i`` a counter): Python's variable holds an int after the loop,
                # a graph loop variable keeps its float dtype. Refused, as before
                # weak values existed (test_reference_errors: float_becomes_int_while).
                fits = False
            if not fits:
                raise _kind_change(site, f"a {self.dtype.name} tensor", _kind_text(new),
                                   self.dtype)
            return self
        if not isinstance(new, tf.Tensor):
            raise StagingTypeError(
                f"{site.shown} is a tensor before {site.where} but becomes {_kind_text(new)} "
                f"inside it" if site.loop else
                f"{site.shown} is a {self.dtype.name} tensor in one branch of {site.where} "
                f"and {_kind_text(new)} in the other",
                location=site.loc_text,
                hints=(f"keep {site.shown} a tensor of dtype {self.dtype.name}",))
        if new.dtype != self.dtype and self.weak and fits_python(self.python == "float",
                                                                 new.dtype):
            # A Python number (carried weak) on this path, a tensor on the other:
            # the number takes the tensor's dtype, as it would in Python.
            return TensorSlot(new.dtype, self.shape.most_specific_compatible_shape(new.shape)
                              if site.loop else new.shape, self.python)
        if new.dtype != self.dtype:
            if not site.loop:
                raise StagingTypeError(
                    f"{site.shown} is a {self.dtype.name} tensor in one branch of "
                    f"{site.where} and a {new.dtype.name} tensor in the other",
                    location=site.loc_text,
                    hints=(f"cast one of them, e.g. tf.cast(..., tf.{new.dtype.name})",))
            raise StagingTypeError(
                f"{site.shown} changes dtype inside {site.where}: {self.dtype.name} before, "
                f"{new.dtype.name} after",
                location=site.loc_text,
                hints=(f"cast it back, e.g. tf.cast(..., tf.{self.dtype.name}), or start "
                       f"{site.shown} with the dtype it gets inside {site.where}",))
        if site.loop and not _fits(new.shape, self.shape):
            relaxed = self.shape.most_specific_compatible_shape(new.shape)
            return TensorSlot(self.dtype, relaxed, self.python, self.weak)
        return self


def _kind_change(site, before, after, dtype):
    if site.loop:
        return StagingTypeError(
            f"{site.shown} is {before} before {site.where} but becomes {after} inside it",
            location=site.loc_text,
            hints=(f"keep {site.shown} of one type, e.g. tf.cast(..., tf.{dtype.name})",))
    return StagingTypeError(
        f"{site.shown} is {before} in one branch of {site.where} and {after} in the other; "
        f"a graph conditional must produce one dtype",
        location=site.loc_text,
        hints=(f"make both branches give the same type, e.g. tf.cast(..., tf.{dtype.name})",))


# ------------------------------------------------------------------ weak

_DEFAULT_DTYPE = DEFAULT_DTYPE      # see weak.py: int32 / float32, and why


class WeakSlot(Slot):
    """A Python int or float that becomes graph state: it has no dtype until it
    meets a tensor, then takes that tensor's dtype (as ``int64_tensor + 1`` does).

    ``dtype`` is the provisional dtype used if nothing says otherwise; ``group``
    links it to the numbers it met in a scratch trace (see ``weak.py``).
    """

    def __init__(self, is_float, dtype=None, group=None):
        self.is_float = is_float
        self.dtype = tf.as_dtype(dtype) if dtype is not None else _DEFAULT_DTYPE[is_float]
        self.group = group

    def _key(self):
        return ("weak", self.is_float, self.dtype)

    def __repr__(self):
        return f"WeakSlot({_python_type_name(self.is_float)}, {self.dtype.name})"

    def encode(self, value, entry=False):
        if isinstance(value, Undefined):
            return self.zeros()
        if isinstance(value, tf.Tensor):
            return value if value.dtype == self.dtype else tf.cast(value, self.dtype)
        return _number_flow(value, self.dtype)

    def decode(self, flow):
        # Still a Python number after the branch or loop: weak.
        if isinstance(flow, tf.Tensor):
            return WeakTensor(flow, self.is_float)
        return flow

    def zeros(self):
        return tf.zeros([], self.dtype)

    def scratch_value(self, value):
        if isinstance(value, Weak):
            return value
        if _is_weak_number(value):
            if self.group is None:
                self.group = Group(self.is_float)
            if isinstance(value, WeakTensor):
                # Carried already: the scratch trace continues from a zero of its kind.
                value = 0.0 if value.is_float else 0
            return Weak(value, self.group)
        return super().scratch_value(value)

    def resolved(self, site=None):
        """The dtype learned for this number (what it met), else the provisional one."""
        if self.group is not None:
            met = self.group.resolve()
            if met is not None and _dtype_fits_python(self.is_float, met):
                return TensorSlot(met, [], python=_python_type_name(self.is_float), weak=True)
            ints = [d for d in self.group.root().met if d.is_integer]
            if self.is_float and ints and site is not None:
                raise StagingTypeError(
                    f"{site.shown} is a Python float in {site.where} but meets "
                    f"{ints[0].name} tensors there; Python would compute floats, a graph "
                    f"cannot add a float to an {ints[0].name} tensor",
                    location=site.loc_text,
                    hints=(f"start {site.shown} as an int (e.g. 0 instead of 0.0), or cast "
                           f"the tensors: tf.cast(..., tf.float32)",))
        return TensorSlot(self.dtype, [], python=_python_type_name(self.is_float), weak=True)

    def merge(self, new, site):
        if isinstance(new, MaybeUnbound):
            return MaybeSlot(self.merge(new.value, site), new.name, new.where)
        if isinstance(new, InLoop):
            return MaybeSlot(self.resolved(site), site.name, site.loc_text)
        if isinstance(new, Undefined):
            if isinstance(new, Unobserved):
                return self
            return _bound_on_some_paths(self, site)
        if _is_weak_number(new):
            new_float = _is_float_number(new)
            if isinstance(new, Weak) and self.group is not None:
                self.group.union(new.group)
            if new_float == self.is_float:
                if isinstance(new, WeakTensor) and new.dtype != self.dtype and \
                        _wider_dtype(new.dtype, self.dtype):
                    # Carried wider on this path (it met an int64 in a loop): keep it.
                    return WeakSlot(self.is_float, new.dtype, self.group)
                return self
            if site.loop:
                # An int that becomes a float in the loop (Python allows it):
                # carried as a float.
                return WeakSlot(True, _DEFAULT_DTYPE[True] if not self.dtype.is_floating
                                else self.dtype, self.group)
            raise StagingTypeError(
                f"{site.shown} is a Python {_python_type_name(self.is_float)} in one branch "
                f"of {site.where} and a Python {_python_type_name(new_float)} in the other; "
                f"Python would give an int on one path and a float on the other, a graph "
                f"value has one dtype",
                location=site.loc_text,
                hints=(f"use the same type in both branches, e.g. "
                       f"{'0.0 instead of 0' if new_float else 'float(...)'}",))
        if isinstance(new, (bool, np.generic)):
            raise _kind_change(site, f"a Python {_python_type_name(self.is_float)}",
                               _kind_text(new), self.dtype)
        if isinstance(new, tf.Tensor):
            if not _dtype_fits_python(self.is_float, new.dtype):
                raise _kind_change(site, f"a Python {_python_type_name(self.is_float)}",
                                   _kind_text(new), new.dtype)
            if self.group is not None:
                self.group.meet(new.dtype)
            shape = new.shape if not site.loop else \
                tf.TensorShape([]).most_specific_compatible_shape(new.shape)
            return TensorSlot(new.dtype, shape, python=_python_type_name(self.is_float))
        raise _kind_change(site, f"a Python {_python_type_name(self.is_float)}",
                           _kind_text(new), self.dtype)


def _dtype_fits_python(is_float, dtype):
    return fits_python(is_float, dtype)


def _wider_dtype(a, b):
    return a.size > b.size and (a.is_floating == b.is_floating)


def _number_fits(value, dtype):
    if isinstance(value, (bool, np.bool_)):
        return dtype == tf.bool
    if isinstance(value, np.generic):
        return tf.as_dtype(value.dtype) == dtype or (
            np.issubdtype(value.dtype, np.integer) and (dtype.is_integer or dtype.is_floating))
    if isinstance(value, numbers.Integral):
        return dtype.is_integer or dtype.is_floating or dtype.is_complex
    return dtype.is_floating or dtype.is_complex


# ------------------------------------------------------------- composite

class CompositeSlot(Slot):
    """A ``tf.SparseTensor`` or ``tf.RaggedTensor``: its spec is relaxed like a shape."""

    def __init__(self, spec):
        self.spec = spec

    def _key(self):
        return (self.spec,)

    def __repr__(self):
        return f"CompositeSlot({self.spec})"

    def encode(self, value, entry=False):
        return value

    def scratch_value(self, value):
        return value

    def invariant(self, flow):
        return self.spec

    def merge(self, new, site):
        if isinstance(new, Undefined):
            raise OneBranchError([site.shown], site.where, site.loc_text)
        try:
            spec = tf.type_spec_from_value(new)
        except (TypeError, ValueError):
            spec = None
        relaxed = None if spec is None else self.spec.most_specific_common_supertype([spec])
        if relaxed is None:
            raise StagingTypeError(
                f"{site.shown} is {_kind_text_spec(self.spec)} before {site.where} but "
                f"becomes {_kind_text(new)} inside it", location=site.loc_text,
                hints=("keep the same kind of composite tensor and dtype",))
        if site.loop and relaxed != self.spec:
            return CompositeSlot(relaxed)
        return self


def _kind_text_spec(spec):
    return f"a {type(spec).__name__.replace('Spec', '')} of dtype {spec.dtype.name}"


# ------------------------------------------------------------------ nest

class _GraphListHere:
    """Marks, in a ``NestSlot``'s structure, a list carried as a graph list."""

    __slots__ = ()

    def __repr__(self):
        return "<graph list>"


_GRAPH_LIST = _GraphListHere()


def _keys(d):
    try:
        return sorted(d)
    except TypeError:
        return list(d)


def _children(value):
    """The parts of a tuple / list / dict (dict values by sorted key), or None
    for anything else (a leaf: a tensor, a number, a graph list...)."""
    if isinstance(value, (tuple, list)):
        return list(value)
    if isinstance(value, dict):
        return [value[k] for k in _keys(value)]
    return None


def _rebuild(like, parts):
    """A container of ``like``'s type holding ``parts`` (in ``_children`` order)."""
    if isinstance(like, dict):
        by_key = dict(zip(_keys(like), parts))
        return {k: by_key[k] for k in like}
    if isinstance(like, tuple):
        return type(like)(*parts) if hasattr(like, "_fields") else tuple(parts)
    if isinstance(like, TypedList):
        out = TypedList(parts)
        out.element = like.element
        return out
    return list(parts)


def _plain(like, parts):
    """A builtin container (what tf.cond / tf.while_loop carry) holding ``parts``."""
    if isinstance(like, dict):
        return dict(zip(_keys(like), parts))
    return tuple(parts) if isinstance(like, tuple) else list(parts)


def _same_shape_parts(tree, value):
    """The parts of ``value`` matching those of the container ``tree`` (a tuple
    or list matches a tuple or list of its length, a dict one with its keys),
    else None."""
    if isinstance(tree, dict):
        if isinstance(value, dict) and set(value) == set(tree):
            return [value[k] for k in _keys(tree)]
        return None
    if isinstance(value, (tuple, list)) and len(value) == len(tree):
        return list(value)
    return None


def _tree_leaves(tree, out):
    """The leaves of a NestSlot's structure in order (a graph list is one)."""
    parts = None if tree is _GRAPH_LIST else _children(tree)
    if parts is None:
        out.append(tree)
    else:
        for p in parts:
            _tree_leaves(p, out)
    return out


class NestSlot(Slot):
    """A tuple / list / dict of tensors, Python numbers and lists (``return x, xs``).

    ``value`` is its structure (the value first seen), ``leaves`` a slot per
    leaf (None for leaves passed as they are: TensorArrays, optionals, NumPy
    arrays), so a Python number inside (``return x, 9``) is weak too.

    A list inside whose length differs between two paths, or that is a graph
    list on one of them (``xs = [x]`` returned early on one path, appended to in
    a graph loop or popped on the other), is carried as a graph list: one leaf,
    a ``ListSlot``, marked ``_GRAPH_LIST`` in ``value``. Python would give
    lists of different lengths; a graph value has one structure, and a graph
    list's length is a tensor. Its elements must share one dtype.
    """

    def __init__(self, value, leaves=None, near=()):
        self.value = value
        self.leaves = leaves if leaves is not None else [
            _leaf_slot(x, near) for x in _tree_leaves(value, [])]

    def _key(self):
        return (_structure_key(self.value),) + tuple(
            leaf._key() if leaf is not None else None for leaf in self.leaves)

    def __repr__(self):
        return f"NestSlot({_structure_key(self.value)}, {self.leaves})"

    # The walks below visit ``value`` and a value (or flow) of its structure
    # together, one leaf slot at a time.

    def _flat(self, value):
        """The leaves of ``value`` at this structure's leaves."""
        out = []

        def walk(tree, v):
            parts = None if tree is _GRAPH_LIST else _children(tree)
            if parts is None:
                out.append(v)
                return
            for t, x in zip(parts, _same_shape_parts(tree, v) or [None] * len(parts)):
                walk(t, x)

        walk(self.value, value)
        return out

    def _build(self, leaves, plain):
        """This structure holding ``leaves`` (builtin containers if ``plain``)."""
        it = iter(leaves)

        def walk(tree):
            parts = None if tree is _GRAPH_LIST else _children(tree)
            if parts is None:
                return next(it)
            return (_plain if plain else _rebuild)(tree, [walk(p) for p in parts])

        return walk(self.value)

    def encode(self, value, entry=False):
        if isinstance(value, Undefined):
            return self.zeros()
        return self._build([x if leaf is None else leaf.encode(x, entry)
                            for leaf, x in zip(self.leaves, self._flat(value))], plain=True)

    def decode(self, flow):
        # (each leaf decodes itself: a carried Python number is a WeakTensor again)
        if flow is None:
            return flow
        return self._build([f if leaf is None else leaf.decode(f)
                            for leaf, f in zip(self.leaves, self._flat(flow))], plain=False)

    def zeros(self):
        return self._build([placeholder_like(x) if leaf is None else leaf.zeros()
                            for leaf, x in zip(self.leaves, _tree_leaves(self.value, []))],
                           plain=True)

    def scratch_value(self, value):
        return self._build([x if leaf is None else leaf.scratch_value(x)
                            for leaf, x in zip(self.leaves, self._flat(value))], plain=False)

    def invariant(self, flow):
        return self._build([tf.nest.map_structure(_spec_of, f) if leaf is None else
                            leaf.invariant(f)
                            for leaf, f in zip(self.leaves, self._flat(flow))], plain=True)

    def resolved(self, site=None):
        return NestSlot(self.value, [l.resolved(site) if isinstance(l, (WeakSlot, NestSlot))
                                     else l for l in self.leaves])

    def merge(self, new, site):
        if isinstance(new, Undefined):
            if isinstance(new, Unobserved):
                return self
            raise OneBranchError([site.shown], site.where, site.loc_text)
        leaves = iter(self.leaves)
        merged = []

        def walk(tree, x):
            if tree is _GRAPH_LIST:
                merged.append(next(leaves).merge(x, site))
                return tree
            parts = _children(tree)
            if parts is None:
                merged.append(_merge_leaf(next(leaves), tree, x, self.value, new, site))
                return tree
            if isinstance(tree, list) and (isinstance(x, GraphList) or isinstance(
                    x, list) and len(x) != len(tree)):
                # Lists of different lengths on two paths: a graph list.
                for _ in range(len(_tree_leaves(tree, []))):
                    next(leaves)
                merged.append(ListSlot(_list_element([tree, x], site),
                                       weak=not _has_tensor([tree, x])))
                return _GRAPH_LIST
            got = _same_shape_parts(tree, x)
            if got is None:
                raise _structure_error(self.value, new, site)
            out = [walk(t, v) for t, v in zip(parts, got)]
            if all(a is b for a, b in zip(out, parts)):
                return tree
            return _rebuild(tree, out)

        tree = walk(self.value, new)
        if tree is _GRAPH_LIST:
            return merged[0]      # the whole value is a list that became a graph list
        if tree is self.value and all(m is l for m, l in zip(merged, self.leaves)):
            return self
        return NestSlot(tree, merged)


def _structure_key(tree):
    if tree is _GRAPH_LIST:
        return "graph list"
    parts = _children(tree)
    if parts is None:
        return None
    kind = "dict" if isinstance(tree, dict) else type(tree).__name__
    keys = tuple(_keys(tree)) if isinstance(tree, dict) else None
    return (kind, keys, tuple(_structure_key(p) for p in parts))


def _merge_leaf(leaf, before, x, whole_before, whole_new, site):
    """One leaf of a nest on another path."""
    if isinstance(leaf, ListSlot):      # a graph list: a list of any length fits
        return leaf.merge(x, site)
    if isinstance(x, (list, tuple, dict, GraphList)):
        raise _structure_error(whole_before, whole_new, site)
    if leaf is None or not (isinstance(x, tf.Tensor) or _is_weak_number(x)
                            or isinstance(x, (bool, np.generic))):
        bd, ad = getattr(before, "dtype", None), getattr(x, "dtype", None)
        if bd is not None and ad is not None and tf.as_dtype(bd) != tf.as_dtype(ad):
            raise StagingTypeError(
                f"an element of {site.shown} changes dtype inside {site.where}: "
                f"{tf.as_dtype(bd).name} before, {tf.as_dtype(ad).name} after",
                location=site.loc_text, hints=("cast it back to the dtype it had before",))
        return leaf
    try:
        return leaf.merge(x, site)
    except StagingTypeError as e:
        raise StagingTypeError(
            f"an element of {site.shown} changes type inside {site.where}: "
            f"{_leaf_text(leaf)} before, {_kind_text(x)} after",
            location=site.loc_text,
            hints=("give it one type on every path (cast it, e.g. "
                   "tf.cast(..., tf.int64))",)) from e


def _structure_error(before, after, site):
    return StagingValueError(
        f"{site.shown} changes structure inside {site.where}: {_structure_text(before)} "
        f"before, {_structure_text(after)} after",
        location=site.loc_text,
        hints=("keep the same nesting (same tuple lengths and dict keys)",))


def _leaf_slot(x, near=()):
    """The slot of one leaf of a nest: None for leaves passed as they are
    (TensorArrays, optionals, NumPy arrays)."""
    if isinstance(x, tf.Tensor) or _is_weak_number(x) or isinstance(x, (bool, np.generic)):
        return slot_for(x, near=near)
    if isinstance(x, GraphList):
        return slot_for(x)
    return None


def _leaf_text(slot):
    if isinstance(slot, WeakSlot):
        return f"a Python {_python_type_name(slot.is_float)}"
    if isinstance(slot, TensorSlot):
        return f"a {slot.dtype.name} tensor"
    return "a value"


# ------------------------------------------------------------------ list

class ListSlot(Slot):
    """A list carried as a ``GraphList`` (TensorArray + length): appended to in a
    graph loop, or of different lengths on two paths of a graph ``if``/loop.

    Python lists and graph lists whose elements fit ``element`` merge into it
    (a Python list is written into a graph list when it enters the graph).
    ``weak``: the element dtype only comes from Python numbers so far (a tensor
    element met later decides it). ``capacity`` is set when XLA needs the final
    size up front.
    """

    def __init__(self, element, capacity=None, guess=None, *, weak=False):
        self.element = element
        self.capacity = capacity
        self.guess = guess    # an ElementGuess: element is a guess to check
        self.weak = weak

    def _key(self):
        return (self.element, self.capacity is not None)

    def __repr__(self):
        return f"ListSlot({self.element})"

    def encode(self, value, entry=False):
        if isinstance(value, Undefined):
            return self.zeros()
        if not isinstance(value, GraphList):
            value = GraphList.from_python(value, self.element, self.capacity)
        return value.to_flow()

    def decode(self, flow):
        out = GraphList.from_flow(flow, self.element, self.capacity)
        out.guess = self.guess
        return out

    def zeros(self):
        return GraphList.from_python([], self.element, self.capacity).to_flow()

    def scratch_value(self, value):
        return self.decode(self.encode(value, entry=True))

    def invariant(self, flow):
        return None

    def merge(self, new, site):
        if isinstance(new, Undefined):
            if isinstance(new, Unobserved):
                return self
            raise OneBranchError([site.shown], site.where, site.loc_text)
        if not isinstance(new, (list, GraphList)):
            where = (f"before {site.where} but becomes {_kind_text(new)} inside it"
                     if site.loop else
                     f"in one branch of {site.where} and {_kind_text(new)} in the other")
            raise StagingTypeError(
                f"{site.shown} is a list {where}", location=site.loc_text,
                hints=(f"keep {site.shown} a list on every path",))
        mine = [] if self.element is None else [_WeakSpec(self.element) if self.weak
                                                else self.element]
        element = _list_element(mine + [new], site)
        weak = self.weak and not _has_tensor([new])
        if element == self.element and weak == self.weak:
            return self
        return ListSlot(element, self.capacity, self.guess, weak=weak)


class _WeakSpec:
    """An element spec learned from Python numbers only: it gives way to tensors."""

    def __init__(self, spec):
        self.spec = spec


def _has_tensor(sources):
    for src in sources:
        if isinstance(src, (GraphList, tf.TensorSpec)):
            return True
        if isinstance(src, list):
            if isinstance(src, TypedList) and src.element is not None:
                return True
            if any(not _is_weak_number(x) for x in src):
                return True
    return False


def _list_element(sources, site):
    """The element spec of a list carried as a graph list, from what it holds on
    every path: ``sources`` are Python lists, graph lists and specs. Tensors
    decide the dtype (and a declared ``set_element_type`` first); Python numbers
    take it, as ``int64_tensor + 1`` does. Tensors of two dtypes (or a Python
    float among integer tensors) cannot be one graph list: an error naming the
    variable. None when every list is empty."""
    shown = f"list {site.shown}" if site.shown.startswith("'") else f"a list in {site.shown}"
    specs, numbers, weak_specs = [], [], []
    for src in sources:
        if isinstance(src, _WeakSpec):
            weak_specs.append(src.spec)
        elif isinstance(src, tf.TensorSpec):
            specs.append(src)
        elif isinstance(src, (GraphList, TypedList)) and src.element is not None:
            specs.append(src.element)
            if isinstance(src, GraphList):
                continue
        if not isinstance(src, list):
            continue
        for item in src:
            if _is_weak_number(item):
                numbers.append(item)
                continue
            try:
                t = tf.convert_to_tensor(unwrap(item))
            except (TypeError, ValueError):
                raise StagingTypeError(
                    f"{shown} holds {_kind_text(item)} and is carried as a graph "
                    f"list by {site.where}; a graph list holds tensors (or numbers)",
                    location=site.loc_text,
                    hints=("keep only tensors and numbers in the list",)) from None
            specs.append(tf.TensorSpec(t.shape, t.dtype))
    if not specs:
        specs = weak_specs
    if not specs and numbers:
        is_float = any(_is_float_number(v) for v in numbers)
        dtypes = [getattr(v, "dtype", None) for v in numbers]
        dtype = next((tf.as_dtype(d) for d in dtypes if d is not None
                      and _dtype_fits_python(is_float, tf.as_dtype(d))),
                     _DEFAULT_DTYPE[is_float])
        specs = [tf.TensorSpec([], dtype)]
    if not specs:
        return None
    dtype = specs[0].dtype
    for s in specs[1:]:
        if s.dtype != dtype:
            raise StagingTypeError(
                f"{shown} holds {dtype.name} and {s.dtype.name} tensors on the "
                f"paths of {site.where}; it is carried as a graph list there (its length "
                f"differs between paths), and a graph list has one element dtype",
                location=site.loc_text,
                hints=(f"cast the elements to one dtype, e.g. tf.cast(v, tf.{dtype.name})",))
    floats = [v for v in numbers if _is_float_number(v)]
    if floats and not dtype.is_floating:
        raise StagingTypeError(
            f"{shown} holds {dtype.name} tensors and the Python float "
            f"{unwrap(floats[0])!r} on the paths of {site.where}; it is carried as a graph "
            f"list there, and a graph list has one element dtype",
            location=site.loc_text,
            hints=(f"cast the tensors: tf.cast(v, tf.float32), or keep ints in the list",))
    shape = specs[0].shape
    for s in specs[1:]:
        shape = shape.most_specific_compatible_shape(s.shape)
    if numbers:
        shape = shape.most_specific_compatible_shape(tf.TensorShape([]))
    return tf.TensorSpec(shape, dtype)


# ------------------------------------------------------------- undefined

class UndefinedSlot(Slot):
    """No value on entry. For the return value (``NO_RETURN``) the kind of
    value it will hold is learned from the first path that returns: ``inner``."""

    def __init__(self, value, inner=None):
        self.value = value
        self.inner = inner

    @property
    def carried(self):
        return self.inner is not None

    def _key(self):
        return (self.inner,)

    def __repr__(self):
        return f"UndefinedSlot({self.value!r}, {self.inner!r})"

    def encode(self, value, entry=False):
        if self.inner is None:
            return None
        if isinstance(value, Undefined):     # not returned yet: a placeholder value
            return self.inner.zeros()
        return self.inner.encode(value, entry)

    def decode(self, flow):
        if self.inner is None:
            return self.value
        return self.inner.decode(flow)

    def scratch_value(self, value):
        if type(value) is Undefined:
            # Not bound when the loop starts: a read in the scratch trace
            # (before an earlier iteration would have bound it) gives a weak zero.
            return InLoop(value.name)
        if self.inner is None or isinstance(value, Undefined):
            return value
        return self.inner.scratch_value(value)

    def invariant(self, flow):
        return self.inner.invariant(flow)

    def merge(self, new, site):
        if isinstance(new, Undefined):
            return self
        if not isinstance(self.value, Unobserved):
            if isinstance(new, MaybeUnbound) or _tensor_like(new) and site.name.isidentifier() \
                    and site.role is None:
                # First bound inside a loop or in one branch of an if: bound
                # after it on the paths that bound it, as in Python; checked at
                # run time where it is read (``kg__.bound``).
                return MaybeSlot.for_value(new, site)
            if not site.loop:
                raise OneBranchError([site.shown], site.where, site.loc_text)
            raise UndefinedVariableError(
                f"{site.shown} is defined inside {site.where} but not before it, and is used "
                f"after it",
                location=site.loc_text,
                hints=(f"assign {site.shown} a value (of the dtype and shape it will have) "
                       f"before {site.where}",))
        if self.inner is None:
            inner = slot_for(new)
            if not inner.carried:
                raise StagingTypeError(
                    f"{site.where} returns {_kind_text(new)}, which cannot be a graph value",
                    location=site.loc_text,
                    hints=("return tensors (or Python numbers) from inside graph control "
                           "flow",))
            return UndefinedSlot(self.value, inner)
        merged = self.inner.merge(new, site)
        return self if merged is self.inner else UndefinedSlot(self.value, merged)


# ------------------------------------------------------------- slot_for

def _convertible_nest(v):
    """True for a (possibly nested) structure of tensors / TensorArrays."""
    leaves = tf.nest.flatten(v, expand_composites=False)
    return bool(leaves) and all(
        tf.is_tensor(x) or isinstance(x, (tf.TensorArray, np.ndarray, GraphList))
        or is_python_number(x) or isinstance(x, tf.experimental.Optional)
        for x in leaves)


def slot_for(value, entry=None, near=()):
    """The slot for a value entering graph control flow (or first coming out of a
    branch: ``entry`` is then the value the variable had before the ``if``, and
    ``near`` the dtypes its condition compares, a Python number's best guess)."""
    if isinstance(value, MaybeUnbound):
        return MaybeSlot(slot_for(value.value), value.name, value.where)
    if isinstance(value, GraphList):
        return ListSlot(value.element, guess=value.guess)
    if isinstance(value, Undefined):
        return UndefinedSlot(value)
    if isinstance(value, tf.Variable):
        return SameSlot(value)
    if isinstance(value, (tf.SparseTensor, tf.RaggedTensor)):
        return CompositeSlot(tf.type_spec_from_value(value))
    if _is_text(value) and isinstance(value, tf.Tensor):
        return StrSlot()
    if isinstance(value, str) and isinstance(entry, tf.Tensor) and _is_text(entry):
        return StrSlot()
    if isinstance(value, tf.Tensor):
        return TensorSlot(value.dtype, value.shape)
    if isinstance(value, Weak):
        return WeakSlot(_is_float_number(value), group=value.group)
    if isinstance(value, WeakTensor):
        return WeakSlot(value.is_float, value.dtype)
    if _is_weak_number(value):
        is_float = isinstance(value, float)
        provisional = None
        if isinstance(entry, tf.Tensor) and (entry.dtype.is_floating if is_float
                                             else entry.dtype.is_integer):
            provisional = entry.dtype
        else:
            # Carried in a dtype of its own kind (an int stays an int: it prints
            # as one, and converts where it meets floats).
            same_kind = [d for d in near if d.is_floating] if is_float else (
                [d for d in near if d.is_integer])
            if same_kind:
                provisional = same_kind[0]
        return WeakSlot(is_float, provisional)
    if isinstance(value, (bool, np.generic)):
        t = tf.convert_to_tensor(value)
        return TensorSlot(t.dtype, t.shape)
    if isinstance(value, (list, tuple, dict)) and (len(value) > 0 and _convertible_nest(value)):
        return NestSlot(value, near=near)
    if isinstance(value, list) and len(value) == 0:
        return NestSlot(value)
    if tf.is_tensor(value) or isinstance(value, (tf.TensorArray, tf.experimental.Optional)):
        return NestSlot(value)
    return SameSlot(value)


def placeholder_like(like):
    """Zeros standing for a value that is never observed (a return value not
    returned yet on this path): same dtype and rank; unknown dims become 0."""
    if not (tf.is_tensor(like) or isinstance(like, tf.TensorSpec)):
        like = tf.convert_to_tensor(unwrap(like))
    shape = like.shape
    dims = [0 if d is None else d for d in shape.as_list()] if shape.rank is not None else []
    return tf.zeros(dims, like.dtype)


def merge_all(values, slots, sites):
    """Merge every value into its slot; variables defined in one branch only are
    reported together. Returns the merged slots."""
    missing = []
    merged = []
    for v, s, site in zip(values, slots, sites):
        try:
            merged.append(s.merge(v, site))
        except OneBranchError as e:
            missing.extend(e.shown_names)
            merged.append(s)
    if missing:
        raise OneBranchError(missing, sites[0].where, sites[0].loc_text)
    return merged


def _fits(actual, invariant):
    """True if a value of shape ``actual`` satisfies the loop invariant."""
    if invariant.rank is None:
        return True
    if actual.rank != invariant.rank:
        return False
    return all(i is None or i == a for i, a in zip(invariant.as_list(), actual.as_list()))


def _structure_text(v):
    try:
        return str(tf.nest.map_structure(lambda x: type(x).__name__, v))
    except Exception:  # noqa: BLE001 - only used for a message
        return type(v).__name__


def _kind_text(v):
    if v is None:
        return "None"
    if isinstance(v, Undefined):
        return "undefined"
    if isinstance(v, Weak):
        v = v.value
    if isinstance(v, WeakTensor):
        return (f"a Python {'float' if v.is_float else 'int'} (carried as a "
                f"{v.dtype.name} tensor)")
    if isinstance(v, (tf.SparseTensor, tf.RaggedTensor)):
        return f"a {type(v).__name__} of dtype {v.dtype.name}"
    if tf.is_tensor(v):
        return f"a {v.dtype.name} tensor"
    if isinstance(v, GraphList):
        return "a list accumulated in a TensorArray"
    return f"a Python {type(v).__name__} ({v!r})"[:120]


def _same_list(a, b):
    """Two copies of one list, dict or set (each branch of a graph ``if`` changes
    its own copy of a container it mutates, see ``control_flow._copy_lists``)."""
    if type(a) is set and type(b) is set:
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(a[k] is b[k] for k in a)
    return (isinstance(a, list) and isinstance(b, list) and len(a) == len(b)
            and all(x is y for x, y in zip(a, b)))


__all__ = ["Site", "Slot", "SameSlot", "StrSlot", "TensorSlot", "WeakSlot", "CompositeSlot", "NestSlot",
           "ListSlot", "UndefinedSlot", "OneBranchError", "slot_for", "merge_all",
           "placeholder_like", "is_python_number", "StagingError"]


# ------------------------------------------------------------- maybe unbound

def _bound_on_some_paths(slot, site):
    """A tensor variable that one branch (or a loop iteration, after a ``del``)
    leaves unbound: carried with a run-time "bound" flag, as in Python it is
    bound after the statement on the paths that bound it."""
    if site.name.isidentifier() and site.role is None:
        return MaybeSlot(slot, site.name, site.loc_text)
    raise OneBranchError([site.shown], site.where, site.loc_text)


def _tensor_like(v):
    return (isinstance(v, tf.Tensor) and not isinstance(v, tf.Variable)) or (
        is_python_number(v))


class MaybeSlot(Slot):
    """A variable bound only on some run-time paths (first bound inside a graph
    loop, e.g. ``for i in tf.range(n): last = i``), carried as ``(value, bound)``:
    ``inner`` (a tensor slot) for the value, a bool tensor for the flag. It
    decodes to a ``MaybeUnbound``, whose reads are checked at run time."""

    def __init__(self, inner, name, where):
        if isinstance(inner, WeakSlot):
            inner = inner.resolved()
        self.inner = inner
        self.name = name
        self.where = where

    @classmethod
    def for_value(cls, value, site):
        if isinstance(value, MaybeUnbound):
            return cls(slot_for(value.value), value.name, value.where)
        return cls(slot_for(value, near=site.near), site.name, site.loc_text)

    def _key(self):
        return (self.inner, self.name)

    def __repr__(self):
        return f"MaybeSlot({self.inner!r})"

    def encode(self, value, entry=False):
        if isinstance(value, MaybeUnbound):
            flow = self.inner.encode(value.value, entry)
            bound = value.bound
        elif isinstance(value, Undefined):
            flow, bound = self.inner.zeros(), False
            if entry:
                flow = self.inner.encode(flow, entry)
        else:
            flow, bound = self.inner.encode(value, entry), True
        return flow, tf.convert_to_tensor(bound, tf.bool)

    def decode(self, flow):
        value, bound = flow
        return MaybeUnbound(self.inner.decode(value), bound, self.name, self.where)

    def invariant(self, flow):
        return (self.inner.invariant(flow[0]), tf.TensorShape([]))

    def zeros(self):
        return self.inner.zeros(), tf.constant(False)

    def merge(self, new, site):
        if isinstance(new, Undefined):
            return self
        value = new.value if isinstance(new, MaybeUnbound) else new
        merged = self.inner.merge(value, site)
        return self if merged is self.inner else MaybeSlot(merged, self.name, self.where)
