"""Lists that grow inside graph loops (graph lists), and the list operators.

In a graph loop a Python list cannot grow (the loop body is traced once), so
kgraph carries it as a ``GraphList``: a ``tf.TensorArray`` plus its length.
Outside graph loops lists stay Python lists.

Design decision: what a graph list is
-------------------------------------
A ``GraphList`` is a small Python object around a TensorArray (which inside a
``tf.function`` is TensorFlow's TensorList variant) and an int32 length. We
considered making it a tensor value of its own (the raw TensorList variant,
or a ``tf.experimental.ExtensionType`` holding it) and chose the wrapper:

* the only graph boundary a graph list must cross that kgraph does not build
  itself is ``kgraph.function``'s return, and there the user wants a tensor:
  a graph list is returned *stacked* (one tensor, elements along axis 0);
  ``tf.cond`` and ``tf.while_loop`` boundaries are kgraph's own, and its
  state slots carry the list there as ``(TensorArray, length)``;
* XLA (``jit_compile=True``) has no growable list: a list grown in a ``for``
  loop gets a TensorArray sized from the trip count, and the length must be
  kept apart from the array's size; the wrapper holds both;
* calls to the user's helper functions are plain Python calls during
  tracing, so a wrapper passes into and out of them unchanged.

A graph list behaves like a Python list: it is changed in place (``append``,
``pop``, ``xs[i] = v``, ``extend``, ``insert``, ``+=``...), so aliases and
helper functions that change their argument see Python's results. Every
operation whose Python answer would be a number or a bool (``len``, ``in``,
``sum``, ``==``, ``if xs:``...) is a tensor, so the Python protocols that need
a Python answer (``iter``, ``bool``, and ``len``/``in`` outside converted code)
raise a clear ``TypeError`` instead of looping forever (Python's sequence
protocol would call ``__getitem__`` with 0, 1, 2... and never see an
``IndexError``): converted code calls the operators of this module instead
(``len_``, graph ``for`` loops, ``reduce_list``, ``contains``, ``truth``,
``sorted_``...). TensorFlow ops given a graph list see it stacked (a
registered tensor conversion), and a user's own ``tf.function`` called with
one gets the Python object, whose tensors it captures.

A list changed in place inside a graph branch or loop body where it is not
the branch's/loop's state (e.g. by a helper that appends to a list it was
given, inside a tensor ``if``) would leak a tensor out of that graph: each
``GraphList`` remembers the graph it belongs to, and changing it from
another graph is an error that says how to fix the code.
"""

from __future__ import annotations

import builtins
import os
import sys

import tensorflow as tf

from kgraph.errors import (GraphIndexError, GraphValueError, StagingTypeError,
                           UnsupportedStagingError)
from kgraph.operators import checks

_KGRAPH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class GraphListTypeError(StagingTypeError):
    """A Python protocol that needs a Python answer was used on a graph list.

    Cause: ``len()``, ``iter()``, ``bool()`` or ``in`` on a list whose length
    is only known when the graph runs, outside converted code (or through a
    library function that iterates it in Python). Fix: use the converted
    builtins inside converted code, or ``kgraph.stack(xs)`` to get a tensor.
    """

    kind = "graph-list"


class GraphListUnsupportedError(UnsupportedStagingError):
    """An operation on a graph list that kgraph cannot stage.

    Cause: e.g. ``xs.sort(key=...)``, slice assignment, or changing a list
    inside a graph branch/loop where it is not carried as state. Fix: follow
    the hint (usually: work on ``kgraph.stack(xs)``, a tensor).
    """

    kind = "graph-list"


def _user_location():
    """``file:line`` of the innermost frame outside kgraph (the user's code)."""
    frame = sys._getframe(1)
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not path.startswith(_KGRAPH_DIR + os.sep):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return None


def _xla():
    from kgraph.context import jit_compile
    return jit_compile()


def _current_graph():
    return tf.compat.v1.get_default_graph()


class GraphList:
    """A list held in a TensorArray with an int32 length (a graph list).

    ``static_count`` counts appends made since the enclosing loop iteration
    started, when Python can know it (None when it depends on a tensor); it
    lets a fixed-size TensorArray (needed by XLA) be checked for exactly one
    append per iteration. ``capacity`` is that fixed size (None: growable).
    """

    description = "a list accumulated in a graph loop"
    guess = None   # an ElementGuess to check appends against (operators/element_guess.py)

    def __init__(self, ta, length, element, capacity=None, static_count=0, name=None):
        self.graph = _current_graph()
        # The contents as seen from each graph that changed them (see _scoped).
        self._by_graph = {self.graph: [ta, length, static_count]}
        self.element = element
        self.capacity = capacity
        self.name = name     # the variable that holds it, for error messages

    # The contents (TensorArray, length, static count) seen from the current
    # graph: the innermost graph, from the current one outwards, that set them.
    # Only composite-target state (kg__.write_item, which carries the element
    # out of the branch or loop itself) changes a list from a graph nested in
    # its own; everything else must be carried as state (``_check_owner``).
    def _contents(self):
        g = _current_graph()
        while g is not None:
            found = self._by_graph.get(g)
            if found is not None:
                return found
            g = getattr(g, "outer_graph", None)
        return self._by_graph[self.graph]

    def _own_contents(self):
        g = _current_graph()
        if g not in self._by_graph:
            self._by_graph[g] = list(self._contents())
        return self._by_graph[g]

    ta = property(lambda self: self._contents()[0],
                  lambda self, v: self._own_contents().__setitem__(0, v))
    length = property(lambda self: self._contents()[1],
                      lambda self, v: self._own_contents().__setitem__(1, v))
    static_count = property(lambda self: self._contents()[2],
                            lambda self, v: self._own_contents().__setitem__(2, v))

    # ---------------------------------------------------------- construction

    @classmethod
    def from_python(cls, items, element, capacity=None):
        if element is None:
            raise StagingTypeError("the element type of a list accumulated in a graph loop is "
                               "unknown", location=_user_location(),
                               hints=("call kgraph.set_element_type(xs, dtype, shape) "
                                      "after creating the list",))
        n0 = len(items)
        if capacity is not None:
            ta = tf.TensorArray(element.dtype, size=capacity + n0, dynamic_size=False,
                                element_shape=element.shape)
        else:
            ta = tf.TensorArray(element.dtype, size=n0, dynamic_size=True,
                                element_shape=element.shape)
        for i, item in enumerate(items):
            ta = ta.write(i, _as_element(item, element, None))
        return cls(ta, tf.constant(n0, tf.int32), element, capacity)

    @classmethod
    def from_tensor(cls, values, element, name=None):
        """A growable graph list of the rows of ``values``."""
        values = tf.convert_to_tensor(values, dtype=element.dtype)
        n = tf.shape(values, out_type=tf.int32)[0]
        ta = tf.TensorArray(element.dtype, size=n, dynamic_size=True,
                            element_shape=element.shape).unstack(values)
        return cls(ta, n, element, name=name)

    def to_flow(self):
        return (self.ta, self.length)

    @classmethod
    def from_flow(cls, flow, element, capacity=None):
        ta, length = flow
        return cls(ta, length, element, capacity)

    def copy(self):
        """A new list with the same elements (``xs.copy()``, ``list(xs)``, ``xs[:]``)."""
        new = GraphList(self.ta, self.length, self.element, self.capacity,
                        self.static_count, self.name)
        new.guess = self.guess
        return new

    # --------------------------------------------------------------- helpers

    def _shown(self):
        return f"list '{self.name}'" if self.name else "a graph list"

    def _check_owner(self, what):
        """Changing a list from another graph than its own would leak tensors."""
        g = _current_graph()
        if g is not self.graph and not (what == "item assignment" and g in self._by_graph):
            # (An element the composite-state protocol carries out of this
            # branch/loop body was written here by it first: see _contents.)
            raise GraphListUnsupportedError(
                f"{self._shown()} is changed ({what}) inside a graph branch or loop that "
                f"does not carry it as state (e.g. a function that changes a list it was "
                f"given, called inside a tensor if/while/for)",
                location=_user_location(),
                hints=("return the list from the function and assign it: xs = f(xs, ...)",
                       "or write the change as its own statement in the loop/branch, e.g. "
                       "v = xs.pop()"))

    def _check_growable(self, what):
        if self.capacity is not None:
            raise GraphListUnsupportedError(
                f"{what} on {self._shown()} under jit_compile=True: XLA lists have a fixed "
                f"size, only append, indexing, len and iteration are supported",
                location=_user_location(),
                hints=("stack it first (kgraph.stack(xs)) and use tensor operations",))

    def _set(self, other):
        self.ta, self.length = other.ta, other.length
        self.static_count = None

    def _index(self, index, what="index"):
        """A non-negative int32 index (Python's negative indices count from the end),
        checked against the length when the graph runs."""
        if isinstance(index, bool) or not (isinstance(index, int) or tf.is_tensor(index)):
            raise GraphListTypeError(
                f"{self._shown()} indices must be integers, not {type(index).__name__}",
                location=_user_location())
        if tf.is_tensor(index) and not index.dtype.is_integer:
            raise GraphListTypeError(f"{self._shown()} indices must be integers, not "
                                     f"{index.dtype.name} tensors", location=_user_location())
        i = tf.cast(index, tf.int32)
        if isinstance(index, int):
            i = i + self.length if index < 0 else i
        else:
            i = tf.where(i < 0, i + self.length, i)
        where, shown = _user_location(), self._shown()
        deps = []
        if what == "pop":   # Python's two messages (under XLA: the first that failed)
            deps = checks.require(
                self.length > 0, lambda: GraphIndexError(
                    f"pop from empty list ({shown})", location=where),
                f"IndexError: pop from empty list ({shown}, at {where})", location=where)
        with tf.control_dependencies(deps):
            return checks.gated(
                tf.logical_and(i >= 0, i < self.length), lambda: GraphIndexError(
                    f"{'pop index' if what == 'pop' else 'list ' + what} out of range "
                    f"({shown})", location=where),
                f"IndexError: list {what} out of range ({shown}, at {where}): index",
                tf.identity(i), data=[index, "length", self.length], location=where)

    def _read(self, i):
        v = self.ta.read(i)
        if self.element.shape.rank is not None:
            v = tf.ensure_shape(v, self.element.shape)
        return v

    def stack(self):
        """The elements stacked along a new first axis (shape ``[len, *element]``)."""
        out = self.ta.stack()
        if self.element.shape.rank is not None:
            out.set_shape(tf.TensorShape([None]).concatenate(self.element.shape))
        return out

    # --------------------------------------------------------- in-place ops

    def append(self, value):
        self._check_owner("append")
        self._append(value)

    def _append(self, value):
        if self.guess is not None and not self.guess.check(value):
            return   # a wrong guess: this build is thrown away (element_guess.py)
        value = _as_element(value, self.element, self)
        self.ta = self.ta.write(self.length, value)
        self.length = self.length + 1
        if self.static_count is not None:
            self.static_count += 1

    def extend(self, values):
        self._check_owner("extend")
        self._extend(values)

    def _extend(self, values):
        if isinstance(values, (list, tuple)):
            for v in values:
                self._append(v)
            return
        if isinstance(values, GraphList):
            values = values.stack()
        elif not tf.is_tensor(values):
            raise GraphListTypeError(
                f"{self._shown()} can be extended with a list, a tuple, a tensor or another "
                f"graph list, not {type(values).__name__}", location=_user_location())
        self._check_growable("extend")
        values = tf.convert_to_tensor(values)
        values = _cast_elements(values, self.element, self)
        n = tf.shape(values, out_type=tf.int32)[0]
        self.ta = self.ta.scatter(tf.range(self.length, self.length + n), values)
        self.length = self.length + n
        self.static_count = None

    def insert(self, index, value):
        self._check_owner("insert")
        self._insert(index, value)

    def _insert(self, index, value):
        self._check_growable("insert")
        value = _as_element(value, self.element, self)
        i = _clamped(index, self.length)
        rows = self.stack()
        new = tf.concat([rows[:i], value[tf.newaxis], rows[i:]], axis=0)
        self._set(GraphList.from_tensor(new, self.element))

    def pop(self, index=-1):
        self._check_owner("pop")
        return self._pop(index)

    def _pop(self, index=-1):
        if isinstance(index, int) and index == -1 and self.capacity is None:
            i = self._index(-1, "pop")   # checks that the list is not empty
            shape = self.element.shape
            with tf.control_dependencies([i]):
                # TensorListPopBack reuses the list's buffer: O(1) per pop.
                handle, value = tf.raw_ops.TensorListPopBack(
                    input_handle=self.ta.flow, element_dtype=self.element.dtype,
                    element_shape=tf.constant(-1 if shape.rank is None else [
                        -1 if d is None else d for d in shape.as_list()], tf.int32))
            if shape.rank is not None:
                value = tf.ensure_shape(value, shape)
            self.ta = tf.TensorArray(self.element.dtype, dynamic_size=True, flow=handle)
            self.length = i
            self.static_count = None
            return value
        self._check_growable("pop")
        i = self._index(index, "pop")
        value = self._read(i)
        rows = self.stack()
        self._set(GraphList.from_tensor(tf.concat([rows[:i], rows[i + 1:]], axis=0),
                                        self.element))
        return value

    def __setitem__(self, index, value):
        self._check_owner("item assignment")
        self._setitem(index, value)

    def scoped_setitem(self, index, value):
        """``xs[index] = value`` from a nested graph, visible only inside it (and
        the graphs nested in it): the composite-state protocol carries the
        element out of the branch or loop and writes it again outside."""
        self._setitem(index, value)

    def _setitem(self, index, value):
        if isinstance(index, slice):
            raise GraphListUnsupportedError(
                f"slice assignment to {self._shown()} is not supported in a graph",
                location=_user_location(),
                hints=("assign elements one by one, or build a new list",))
        i = self._index(index, "assignment index")
        self.ta = self.ta.write(i, _as_element(value, self.element, self))

    def __delitem__(self, index):
        self._check_owner("del")
        self._delitem(index)

    def _delitem(self, index):
        if isinstance(index, slice):
            self._check_growable("del xs[a:b]")
            rows = self.stack()
            keep = tf.ones_like(tf.range(self.length), dtype=tf.bool)
            positions = tf.range(self.length)
            dropped = positions[index]
            keep = tf.tensor_scatter_nd_update(
                keep, dropped[:, tf.newaxis], tf.zeros_like(dropped, dtype=tf.bool))
            self._set(GraphList.from_tensor(tf.boolean_mask(rows, keep), self.element))
            return
        self._pop(index)

    def clear(self):
        self._check_owner("clear")
        self._clear()

    def _clear(self):
        self._check_growable("clear")
        self._set(GraphList.from_python([], self.element))

    def reverse(self):
        self._check_owner("reverse")
        self._reverse()

    def _reverse(self):
        self._check_growable("reverse")
        self._set(GraphList.from_tensor(tf.reverse(self.stack(), [0]), self.element))

    def sort(self, *, key=None, reverse=False):
        self._check_owner("sort")
        self._sort(key=key, reverse=reverse)

    def _sort(self, *, key=None, reverse=False):
        self._set(GraphList.from_tensor(_sorted_rows(self, key, reverse), self.element))

    def remove(self, value):
        self._check_owner("remove")
        self._remove(value)

    def _remove(self, value):
        self._pop(self.index(value))

    def __iadd__(self, other):
        self._check_owner("+=")
        self._extend(other)
        return self

    # ---------------------------------------------------------- new values

    def __getitem__(self, index):
        if isinstance(index, slice):
            self._check_growable("slicing")
            return GraphList.from_tensor(self.stack()[index], self.element, self.name)
        return self._read(self._index(index))

    def __add__(self, other):
        if not isinstance(other, (list, tuple, GraphList)) or isinstance(other, tuple):
            return NotImplemented
        out = self.copy()
        out.graph = _current_graph()
        out._extend(other)
        return out

    def __radd__(self, other):
        if not isinstance(other, list):
            return NotImplemented
        out = GraphList.from_python(other, self.element)
        out._extend(self)
        return out

    def __eq__(self, other):
        """``xs == ys`` with a list or graph list: a bool tensor (Python compares
        lengths, then elements); anything else is not equal, as in Python."""
        if isinstance(other, list) and not other:
            return tf.equal(self.length, 0)
        if not isinstance(other, (list, GraphList)):
            return NotImplemented
        mine = self.stack()
        theirs = other.stack() if isinstance(other, GraphList) else tf.cast(
            tf.stack([tf.convert_to_tensor(v, dtype_hint=mine.dtype) for v in other]),
            mine.dtype)
        same_length = tf.equal(tf.shape(mine)[0], tf.shape(theirs)[0])
        return tf.cond(same_length,
                       lambda: tf.reduce_all(tf.equal(mine, theirs)),
                       lambda: tf.constant(False))

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else tf.logical_not(eq)

    __hash__ = object.__hash__   # kgraph's own bookkeeping keys lists by identity

    def index(self, value):
        """The first position of ``value`` (an error at run time when it is missing)."""
        hits = tf.cast(tf.where(_equal_rows(self, value))[:, 0], tf.int32)
        where, shown = _user_location(), self._shown()
        hits = checks.gated(
            tf.size(hits) > 0,
            lambda: GraphValueError(f"value is not in {shown}", location=where),
            f"ValueError: value is not in {shown} (at {where})", hits, location=where)
        # (under XLA a failed call is raised afterwards: read in range meanwhile)
        return hits[0] if not _xla() else tf.concat([hits, [0]], 0)[0]

    def count(self, value):
        return tf.reduce_sum(tf.cast(_equal_rows(self, value), tf.int32))

    # ------------------------------------------- graph iteration (for_stmt)

    def size(self):
        return self.length

    def get(self, k):
        return self._read(k)

    # --------------------------------- Python protocols that need Python answers

    def _refuse(self, what, hint):
        raise GraphListTypeError(
            f"{what} {self._shown()} needs its length in Python, but that is only "
            f"known when the graph runs", location=_user_location(),
            hints=(hint, "or stack it into a tensor first: kgraph.stack(xs)"))

    def __len__(self):
        self._refuse("len() of", "inside a function converted by kgraph, len(xs) is a tensor")

    def __iter__(self):
        self._refuse("iterating over", "inside a function converted by kgraph, `for v in xs:` "
                                  "becomes a graph loop, and sum/min/max work on the list")

    def __contains__(self, value):
        self._refuse("'in' on", "use kgraph.operators.lists.contains(xs, v), a bool tensor")

    def __bool__(self):
        self._refuse("the truth value of", "test len(xs) > 0 instead")

    def __reversed__(self):
        self._refuse("reversed() of", "use xs[::-1]")

    def __repr__(self):
        return f"GraphList(dtype={self.element.dtype.name}, shape={self.element.shape})"


def _as_element(value, element, lst):
    value = tf.convert_to_tensor(value, dtype_hint=element.dtype)
    value = _cast_elements(value, element, lst)
    if element.shape.rank is not None and not element.shape.is_compatible_with(value.shape):
        shown = lst._shown() if lst is not None else "a graph list"
        raise GraphListTypeError(
            f"a value of shape {value.shape} does not fit {shown}, whose elements have shape "
            f"{element.shape}", location=_user_location(),
            hints=("append values of one shape; declare it with "
                   "kgraph.set_element_type(xs, dtype, shape)",))
    return value


def _cast_elements(value, element, lst):
    if value.dtype == element.dtype:
        return value
    if value.dtype.is_integer and element.dtype.is_floating:
        return tf.cast(value, element.dtype)
    shown = lst._shown() if lst is not None else "a graph list"
    raise GraphListTypeError(
        f"a {value.dtype.name} value does not fit {shown} of {element.dtype.name} elements",
        location=_user_location(),
        hints=(f"cast it: tf.cast(v, tf.{element.dtype.name})",))


def _clamped(index, length):
    """Python's insert position: negative counts from the end, out of range clamps."""
    i = tf.cast(index, tf.int32)
    i = tf.where(i < 0, tf.maximum(i + length, 0), i)
    return tf.minimum(i, length)


def _equal_rows(lst, value):
    rows = lst.stack()
    value = tf.cast(tf.convert_to_tensor(value, dtype_hint=lst.element.dtype), rows.dtype)
    eq = tf.equal(rows, value)
    if rows.shape.rank is None or rows.shape.rank > 1:
        eq = tf.reduce_all(tf.reshape(eq, [tf.shape(rows)[0], -1]), axis=1)
    return eq


def _sorted_rows(lst, key, reverse):
    if key is not None:
        raise GraphListUnsupportedError(
            f"sorting {lst._shown()} with key= is not supported in a graph",
            location=_user_location(), hints=("sort a tensor of keys with tf.argsort and "
                                              "tf.gather the rows",))
    if lst.element.shape.rank != 0:
        raise GraphListTypeError(
            f"sorting {lst._shown()}: its elements have shape {lst.element.shape}, and "
            f"Python cannot compare tensors that are not scalars",
            location=_user_location())
    return tf.sort(lst.stack(), direction="DESCENDING" if reverse else "ASCENDING")


# ------------------------------------------------------------------------------
# Operators called by generated code (passes/lists.py): on Python lists they do
# exactly what the Python method does; they return the list so that the
# generated assignment makes it a variable that graph control flow carries.

def list_append(xs, value):
    """``xs.append(value)``; on a ``tf.TensorArray`` (which has no ``append``: the
    2018 AutoGraph idiom ``ta.append(x)``) it writes at index ``ta.size()``."""
    if isinstance(xs, tf.TensorArray):
        return xs.write(xs.size(), value)
    xs.append(value)
    return xs


def list_extend(xs, values):
    """``xs.extend(values)``."""
    if isinstance(values, GraphList) and type(xs) is list:
        # A Python list extended by a graph list becomes a graph list.
        out = GraphList.from_python(xs, values.element) if xs else values.copy()
        if xs:
            out._extend(values)
        return out
    xs.extend(values)
    return xs


def list_insert(xs, index, value):
    """``xs.insert(index, value)``."""
    xs.insert(index, value)
    return xs


def list_pop(xs, *index):
    """``v = xs.pop(*index)`` becomes ``xs, v = list_pop(xs, *index)``."""
    return xs, xs.pop(*index)


def list_setitem(xs, index, value):
    """``xs[index] = value`` where ``index`` is not a constant (a constant index is
    composite-target state: see operators/composites.py)."""
    xs[index] = value
    return xs


def list_delitem(xs, index):
    """``del xs[index]``."""
    del xs[index]
    return xs


def list_mutate(xs, method, *args, **kwargs):
    """``xs.clear()``, ``xs.reverse()``, ``xs.sort(...)``, ``xs.remove(v)``."""
    getattr(xs, method)(*args, **kwargs)
    return xs


def truth(value):
    """The truth value of a graph list (``if xs:``, ``while xs:``, ``not xs``):
    ``len(xs) > 0``, a bool tensor; any other value is returned as it is."""
    if isinstance(value, GraphList):
        return value.length > 0
    return value


def contains(xs, value):
    """``value in xs`` for a graph list: a bool tensor."""
    if isinstance(xs, GraphList):
        return tf.reduce_any(_equal_rows(xs, value))
    return value in xs


def reduce_list(xs, kind, start=0):
    """``sum(xs, start)``, ``min(xs)``, ``max(xs)`` of a graph list, as Python computes
    them: elementwise over the elements (so a list of vectors sums to a vector);
    ``min``/``max`` of an empty list fail when the graph runs, as Python raises."""
    rows = xs.stack()
    if kind == "sum":
        total = tf.reduce_sum(rows, axis=0)
        if isinstance(start, (int, float)) and not isinstance(start, bool) and start == 0:
            return total
        return start + total
    if xs.element.shape.rank != 0:
        raise GraphListTypeError(
            f"{kind}() of {xs._shown()}: its elements have shape {xs.element.shape}, and "
            f"Python cannot compare tensors that are not scalars",
            location=_user_location(), hints=(f"use tf.reduce_{kind}(kgraph.stack(xs), "
                                              f"axis=0) for an elementwise {kind}",))
    where, shown = _user_location(), xs._shown()
    rows = checks.gated(
        xs.length > 0,
        lambda: GraphValueError(f"{kind}() arg is an empty sequence ({shown})", location=where),
        f"ValueError: {kind}() arg is an empty sequence ({shown}, at {where})", rows,
        location=where)
    return tf.reduce_min(rows, axis=0) if kind == "min" else tf.reduce_max(rows, axis=0)


def sorted_list(xs, key=None, reverse=False):
    """``sorted(xs)`` of a graph list: a new graph list."""
    return GraphList.from_tensor(_sorted_rows(xs, key, reverse), xs.element)


# The builtins sorted/list/tuple in converted code (passes/builtins.py): Python's
# own on everything but a graph list, whose length Python cannot see.

def sorted_(iterable, *, key=None, reverse=False):
    if isinstance(iterable, GraphList):
        return sorted_list(iterable, key, reverse)
    return builtins.sorted(iterable, key=key, reverse=reverse)


def list_(*args):
    if len(args) == 1 and isinstance(args[0], GraphList):
        return args[0].copy()
    return builtins.list(*args)


def tuple_(*args):
    """``tuple(xs)`` of a graph list is a graph list too (a tuple's length would
    have to be known in Python): a copy, so changing ``xs`` does not change it."""
    if len(args) == 1 and isinstance(args[0], GraphList):
        return args[0].copy()
    return builtins.tuple(*args)


def to_user(value):
    """What ``kgraph.function`` (and a converted Keras method) returns for a graph
    list: its elements stacked. Values without graph lists come back as they are."""
    if not _has_graph_list(value):
        return value
    if isinstance(value, GraphList):
        return value.stack()
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(to_user(v) for v in value)
    if type(value) is list:
        return [to_user(v) for v in value]
    if type(value) is dict:
        return {k: to_user(v) for k, v in value.items()}
    return value


def _has_graph_list(value):
    if isinstance(value, GraphList):
        return True
    if isinstance(value, (tuple, list)):
        return any(_has_graph_list(v) for v in value)
    if type(value) is dict:
        return any(_has_graph_list(v) for v in value.values())
    return False


class TypedList(list):
    """A Python list that knows the element type it will have in a graph."""

    element = None


def set_element_type(xs, dtype, shape=None):
    """Declare the dtype (and shape) of the elements ``xs`` will hold.

    Needed only when kgraph cannot learn the element type from the first
    append (e.g. the first append happens in a nested loop). Returns the list;
    in plain Python (outside converted code) it does nothing else.
    """
    spec = tf.TensorSpec(tf.TensorShape(shape), tf.as_dtype(dtype))
    if isinstance(xs, GraphList):
        return xs
    if isinstance(xs, TypedList):
        xs.element = spec
        return xs
    typed = TypedList(xs)
    typed.element = spec
    return typed


def stack(xs, axis=0):
    """Stack the elements of a list (Python list or graph-accumulated) into a tensor."""
    if isinstance(xs, GraphList):
        out = xs.stack()
        return out if axis == 0 else tf.experimental.numpy.moveaxis(out, 0, axis)
    if isinstance(xs, tf.TensorArray):
        return xs.stack()
    if isinstance(xs, TypedList) and not xs and xs.element is not None:
        return tf.zeros([0] + xs.element.shape.as_list(), xs.element.dtype)
    return tf.stack(list(xs), axis=axis)


def _to_tensor(value, dtype=None, name=None, as_ref=False):
    """TensorFlow ops given a graph list (``tf.reduce_sum(xs)``) see it stacked."""
    del name, as_ref
    out = value.stack()
    if dtype is not None and dtype != out.dtype:
        return NotImplemented
    return out


tf.register_tensor_conversion_function(GraphList, _to_tensor)
