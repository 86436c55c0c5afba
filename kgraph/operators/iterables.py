"""What a ``for`` loop can iterate in a graph, and the builtins that make them.

``range``, ``enumerate``, ``zip`` and ``len`` in converted code call the
functions below: on Python values they return exactly what the builtins
return; on staged values they return *graph iterables*, which ``for_stmt``
turns into ``tf.while_loop`` over an index (or over a dataset iterator).
"""

from __future__ import annotations

import builtins

import tensorflow as tf

from kgraph.errors import GraphStopIteration, StagingValueError, UnsupportedStagingError
from kgraph.operators import checks
from kgraph.operators.lists import GraphList
from kgraph.operators.staging import caller_location, is_staged, location_text, record
from kgraph.operators.weak import WeakTensor


class IndexedIterable:
    """Something with a tensor length whose k-th element can be computed."""

    description = "an indexed sequence"

    def size(self):
        raise NotImplementedError

    def get(self, k):
        raise NotImplementedError


class TensorRange(IndexedIterable):
    description = "a range with tensor bounds"

    def __init__(self, *args):
        if len(args) == 1:
            start, stop, step = 0, args[0], 1
        elif len(args) == 2:
            (start, stop), step = args, 1
        else:
            start, stop, step = args
        dtype = tf.int64 if any(getattr(a, "dtype", None) == tf.int64 for a in
                                (start, stop, step)) else tf.int32
        self.start = tf.cast(start, dtype)
        self.stop = tf.cast(stop, dtype)
        self.step = tf.cast(step, dtype)
        self._static_step = step if isinstance(step, int) else None
        if self._static_step == 0:
            raise ValueError("range() arg 3 must not be zero")

    @property
    def static_step(self):
        """The step when it is a Python int (the common case), else None."""
        return self._static_step

    def size(self):
        span = self.stop - self.start
        if self._static_step == 1:
            return tf.maximum(span, 0)
        step = self.step
        # ceil(span / step), clamped at zero; works for either sign of step.
        n = (span + step - tf.sign(step)) // step
        return tf.maximum(n, 0)

    def get(self, k):
        if self._static_step == 1:
            return self.start + tf.cast(k, self.start.dtype)
        return self.start + tf.cast(k, self.start.dtype) * self.step


class TensorIterable(IndexedIterable):
    description = "a symbolic tensor (along its first axis)"

    def __init__(self, tensor):
        self.tensor = tf.convert_to_tensor(tensor)
        if self.tensor.shape.rank == 0:
            raise TypeError("cannot iterate over a scalar tensor")

    def size(self):
        dim = self.tensor.shape[0]
        if dim is not None:
            return tf.constant(dim, tf.int32)
        return tf.shape(self.tensor)[0]

    def get(self, k):
        return tf.gather(self.tensor, k)


class Enumerate(IndexedIterable):
    def __init__(self, inner, start=0):
        self.inner = inner
        self.start = start
        self.description = f"enumerate of {inner.description}"

    def size(self):
        return self.inner.size()

    def get(self, k):
        # The index is a Python int in Python: weak (it takes the dtype of the
        # values it meets, ``v + j`` on int64 or float values, and prints as an int).
        return (WeakTensor(tf.cast(k, tf.int32) + self.start, False), self.inner.get(k))


class Zip(IndexedIterable):
    def __init__(self, inners):
        self.inners = inners
        self.description = "zip of " + ", ".join(i.description for i in inners)

    def size(self):
        sizes = [tf.cast(i.size(), tf.int32) for i in self.inners]
        return tf.reduce_min(tf.stack(sizes))

    def get(self, k):
        return tuple(i.get(k) for i in self.inners)


class Reversed(IndexedIterable):
    def __init__(self, inner):
        self.inner = inner
        self.description = f"reversed {inner.description}"

    def size(self):
        return self.inner.size()

    def get(self, k):
        n = tf.convert_to_tensor(self.inner.size())
        return self.inner.get(n - 1 - tf.cast(k, n.dtype))


class DatasetIterable:
    description = "a tf.data.Dataset"

    def __init__(self, dataset, transform=None, description=None):
        self.dataset = dataset
        self._transform = transform
        if description:
            self.description = description

    def transform(self, value):
        return self._transform(value) if self._transform else value


def as_graph_iterable(value):
    """The graph iterable for ``value``, or None when Python should iterate it."""
    if isinstance(value, (IndexedIterable, DatasetIterable, GraphList)):
        return value   # a graph list has size() and get(k) like an IndexedIterable
    if isinstance(value, tf.distribute.DistributedDataset) and not tf.executing_eagerly():
        # strategy.experimental_distribute_dataset(...) iterated in a graph:
        # a graph loop over its iterator's optionals, like a tf.data.Dataset.
        return DatasetIterable(value, description="a distributed dataset")
    if not is_staged(value):
        return None
    if isinstance(value, tf.data.Dataset):
        return DatasetIterable(value)
    return TensorIterable(value)


def range_(*args):
    if any(is_staged(a) for a in args):
        return TensorRange(*args)
    return builtins.range(*(int(a) if tf.is_tensor(a) else a for a in args))


def enumerate_(iterable, start=0):
    inner = as_graph_iterable(iterable)
    if inner is None:
        return builtins.enumerate(iterable, start)
    if isinstance(inner, DatasetIterable):
        # Indices are int32, like every other index kgraph makes (range, len).
        indexed = inner.dataset.enumerate(start).map(
            lambda i, x: (tf.cast(i, tf.int32), x))
        return DatasetIterable(indexed, transform=_weak_index,
                               description="enumerate of a tf.data.Dataset")
    return Enumerate(inner, start)


def _weak_index(element):
    index, value = element
    return WeakTensor(index, False), value


def reversed_(seq):
    """``reversed(seq)``: a graph iterable walked from the end when ``seq`` is staged."""
    if isinstance(seq, GraphList):
        return seq[::-1]
    inner = as_graph_iterable(seq)
    if inner is None:
        return builtins.reversed(seq)
    if isinstance(inner, DatasetIterable):
        raise TypeError("reversed() of a tf.data.Dataset: datasets are read in order")
    return Reversed(inner)


def zip_(*iterables):
    inners = [as_graph_iterable(i) for i in iterables]
    if all(i is None for i in inners):
        return builtins.zip(*iterables)
    if all(isinstance(i, DatasetIterable) for i in inners):
        return DatasetIterable(tf.data.Dataset.zip(tuple(i.dataset for i in inners)),
                               description="zip of tf.data.Datasets")
    resolved = []
    for value, inner in zip(iterables, inners):
        if isinstance(inner, DatasetIterable):
            raise TypeError("zip() of a dataset with a non-dataset cannot be staged; "
                            "zip datasets with tf.data.Dataset.zip")
        resolved.append(inner if inner is not None else TensorIterable(value))
    return Zip(resolved)


def len_(value):
    if isinstance(value, GraphList):
        return value.length
    if isinstance(value, tf.TensorArray):
        return value.size()
    if isinstance(value, IndexedIterable):
        return value.size()
    if tf.is_tensor(value) and value.dtype == tf.string and value.shape.rank == 0:
        # A string tensor stands for a Python str: len() counts its characters.
        return tf.strings.length(value, unit="UTF8_CHAR")
    if is_staged(value):
        if isinstance(value, tf.data.Dataset):
            return value.cardinality()
        value = tf.convert_to_tensor(value)
        if value.shape.rank and value.shape[0] is not None:
            return value.shape[0]
        return tf.shape(value)[0]
    return builtins.len(value)


# -- iter / next --------------------------------------------------------------
#
# ``it = iter(ds)`` inside a graph is TensorFlow's iterator (its state is a
# resource, so ``next(it)`` in a graph loop reads one element per iteration).
# ``next(it)`` on an exhausted iterator raises Python's StopIteration
# (``GraphStopIteration``, naming the user's line) after the call, through a
# run-time check, instead of TensorFlow's OutOfRangeError; ``next(it, default)``
# gives ``default`` as Python does.

_NO_DEFAULT = object()

_DISTRIBUTED_HINTS = (
    "make the iterator outside the function (it = iter(dist_dataset)) and pass it in: "
    "next(it) in a tensor loop then reads one element per iteration, across calls",
    "or iterate the whole distributed dataset with a for loop without break/return, "
    "or iterate the dataset before distributing it (ds.take(n))")


def _distributed_refusal(what, loc):
    return UnsupportedStagingError(
        f"{what} a distributed dataset inside a graph function: TensorFlow's multi-device "
        f"iterator made inside a graph can hang when it is not read to its end (the "
        f"function never returns)", location=location_text(loc), hints=_DISTRIBUTED_HINTS,
        kind="distributed-iterator")


def iter_(*args):
    """``iter(x)``: Python's, except a distributed dataset inside a graph (refused:
    an iterator made there that is not read to its end can hang TensorFlow)."""
    if (len(args) == 1 and isinstance(args[0], tf.distribute.DistributedDataset)
            and not tf.executing_eagerly()):
        raise _distributed_refusal("iter() of", caller_location())
    return builtins.iter(*args)


def _is_graph_iterator(value):
    return (isinstance(value, (tf.data.Iterator, tf.distribute.DistributedIterator))
            and not tf.executing_eagerly())


def next_(iterator, default=_NO_DEFAULT):
    """``next(it)`` / ``next(it, default)``: Python's on Python iterators; on a
    TensorFlow iterator inside a graph, the next element, Python's StopIteration
    when there is none (raised after the call), or ``default``."""
    if not _is_graph_iterator(iterator):
        if default is _NO_DEFAULT:
            return builtins.next(iterator)
        return builtins.next(iterator, default)
    loc = caller_location()
    where = location_text(loc)
    record("next", "graph", "a TensorFlow iterator: get_next_as_optional", loc)
    opt = iterator.get_next_as_optional()
    if default is _NO_DEFAULT:
        deps = checks.require(
            opt.has_value(),
            lambda: GraphStopIteration("next() on an exhausted iterator: it has no more "
                                       "elements", location=where,
                                       hints=("give a default: next(it, default)",)),
            f"StopIteration: next() on an exhausted iterator (at {where})", location=where)
        with tf.control_dependencies(deps):
            return opt.get_value()
    spec = opt.element_spec
    try:
        # (the branches may differ in shape, as Python's results do)
        fallback = tf.nest.map_structure(lambda s, d: tf.cast(d, s.dtype), spec, default)
        return tf.cond(opt.has_value(), opt.get_value, lambda: fallback)
    except (TypeError, ValueError) as e:
        raise StagingValueError(
            f"next(it, default): the default {default!r} does not have the structure, dtype "
            f"and shape of the iterator's elements ({spec})", location=where,
            hints=("give a default like an element, e.g. tf.zeros_like(...)",)) from e
