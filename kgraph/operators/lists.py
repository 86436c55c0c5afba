"""Lists that grow inside graph loops, and the list helpers of the public API.

In a graph loop a Python list cannot grow (the loop body is traced once), so
kgraph carries it as a ``GraphList``: a ``tf.TensorArray`` plus a length.
Outside graph loops lists stay Python lists.
"""

from __future__ import annotations

import tensorflow as tf

from kgraph.errors import StagingTypeError, UnsupportedStagingError


class GraphList:
    """A list accumulated in a TensorArray (what ``xs`` becomes in a graph loop).

    ``static_count`` counts appends made since the enclosing loop iteration
    started, when Python can know it (None when it depends on a tensor); it
    lets a fixed-size TensorArray (needed by XLA) be checked for exactly one
    append per iteration.
    """

    name = None   # the variable that holds it, for error messages

    def __init__(self, ta, length, element, capacity=None, static_count=0):
        self.ta = ta
        self.length = length
        self.element = element
        self.capacity = capacity
        self.static_count = static_count

    @classmethod
    def from_python(cls, items, element, capacity=None):
        if element is None:
            raise StagingTypeError("the element type of a list accumulated in a graph loop is "
                               "unknown", hints=("call kgraph.set_element_type(xs, dtype, "
                                                 "shape) after creating the list",))
        n0 = len(items)
        if capacity is not None:
            ta = tf.TensorArray(element.dtype, size=capacity + n0, dynamic_size=False,
                                element_shape=element.shape)
        else:
            ta = tf.TensorArray(element.dtype, size=n0, dynamic_size=True,
                                element_shape=element.shape)
        for i, item in enumerate(items):
            ta = ta.write(i, tf.cast(item, element.dtype))
        return cls(ta, tf.constant(n0, tf.int32), element, capacity)

    def append(self, value):
        value = tf.convert_to_tensor(value, dtype_hint=self.element.dtype)
        if value.dtype != self.element.dtype:
            if value.dtype.is_integer and self.element.dtype.is_floating:
                value = tf.cast(value, self.element.dtype)
            else:
                raise StagingTypeError(f"appending a {value.dtype.name} tensor to a list of "
                                   f"{self.element.dtype.name} elements")
        count = None if self.static_count is None else self.static_count + 1
        return GraphList(self.ta.write(self.length, value), self.length + 1,
                         self.element, self.capacity, count)

    def to_flow(self):
        return (self.ta, self.length)

    @classmethod
    def from_flow(cls, flow, element, capacity=None):
        ta, length = flow
        return cls(ta, length, element, capacity)

    def stack(self):
        # A fixed-size (XLA) array is checked to be full at loop exit.
        return self.ta.stack()

    def __add__(self, other):
        import sys
        frame = sys._getframe(1)
        shown = f"list '{self.name}'" if self.name else "a list carried by a graph loop"
        raise UnsupportedStagingError(
            f"{shown} cannot be rebuilt with '+' inside a graph loop (each iteration "
            f"would make a new Python list); it is accumulated in a TensorArray",
            location=f"{frame.f_code.co_filename}:{frame.f_lineno}",
            hints=(f"append to it instead: {self.name or 'xs'}.append(v)",))

    __radd__ = __iadd__ = __add__

    def __len__(self):
        raise TypeError("len() of a list accumulated in a graph loop is a tensor: "
                        "use kgraph's converted len() (it is applied automatically "
                        "inside converted code) or tf.size")

    def __getitem__(self, index):
        return self.ta.read(index)

    def __repr__(self):
        return f"GraphList(dtype={self.element.dtype.name}, shape={self.element.shape})"


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


def list_append(xs, value):
    """``xs.append(value)`` in converted code: returns the (new) list."""
    if isinstance(xs, GraphList):
        return xs.append(value)
    xs.append(value)
    return xs


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
