"""A guessed element type for a list that enters a graph loop empty.

A loop whose body only appends to a list that is empty before it (``outputs
= []`` ... ``outputs.append(h)``) must carry that list as a graph list, whose
TensorArray needs its element dtype and shape before the loop is built. The
converter tells the loop which variable is appended (``appends=(('outputs',
'h'),)``); when that variable is loop state with a known tensor type, the loop
is built right away with that type as a *guess*. Every append checks that the
value has exactly the guessed dtype and shape; the loop checks, once its body
is traced, that an append happened and none differed. If not, that build is
thrown away having learned what a first build with the Python list learns (the
element type of the last value appended), so a wrong guess costs what no guess
costs: one discarded build. A right guess saves it.
"""

from __future__ import annotations

import tensorflow as tf


class ElementGuess:
    """The guessed ``tf.TensorSpec`` of a list's elements, and what the appends
    traced since ``reset()`` made of it."""

    def __init__(self, spec, name, source):
        self.spec = spec
        self.name = name          # the list variable
        self.source = source      # the variable whose type was guessed
        self.reset()

    def reset(self):
        self.appended = False     # an append was traced
        self.wrong = False        # an append did not match
        self.last = None          # the last value appended

    @property
    def holds(self):
        return self.appended and not self.wrong

    def check(self, value):
        """Record an append of ``value``; True if it matches the guess (then it
        is written), False if not (the build will be thrown away: skip it)."""
        self.appended = True
        self.last = value
        if isinstance(value, tf.Tensor) and value.dtype == self.spec.dtype and \
                _same_shape(value.shape, self.spec.shape):
            return True
        self.wrong = True
        return False


def _same_shape(a, b):
    if a.rank is None or b.rank is None:
        return a.rank is None and b.rank is None
    return a.as_list() == b.as_list()
