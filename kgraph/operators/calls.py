"""Calls from converted code to functions that are not known at conversion time.

``kg__.call(f, *args)`` converts ``f`` first when it is the user's own code
(see ``kgraph.convert.policy``) and calls it as is otherwise.
"""

from __future__ import annotations

import tensorflow as tf

from kgraph.errors import UnsupportedStagingError
from kgraph.operators.staging import caller_location, is_staged, location_text


def call(f, *args, **kwargs):
    from kgraph.convert import policy
    return policy.converted_callable(f)(*args, **kwargs)


def comp_iter(iterable):
    """The iterable of a comprehension: Python semantics, tensors unrolled."""
    if not is_staged(iterable):
        return iterable
    loc = location_text(caller_location())
    if isinstance(iterable, tf.data.Dataset):
        raise UnsupportedStagingError(
            "a comprehension iterates a tf.data.Dataset inside a graph", location=loc,
            hints=("write a for loop that appends to a list, then kgraph.stack(xs)",))
    t = tf.convert_to_tensor(iterable)
    if t.shape.rank and t.shape[0] is not None:
        return tf.unstack(t)
    raise UnsupportedStagingError(
        f"a comprehension iterates a symbolic tensor whose length is not known "
        f"(shape {t.shape}); comprehensions are unrolled in Python",
        location=loc,
        hints=("write a for loop that appends to a list, then kgraph.stack(xs)",
               "or use tf.map_fn / vectorized ops"))
