"""Wrap a Keras class's own methods so that each call runs kgraph's converted
version of the user's function.

The wrapper is installed once, when the subclass is created
(``__init_subclass__``), and converts lazily: the first call converts the
function (cached per function by the converter), every call binds it to the
instance and runs it. Keras sees an ordinary method whose
``inspect.signature`` is the user's own (``functools.wraps`` sets
``__wrapped__``), so it still finds ``training`` and ``mask``.
"""

from __future__ import annotations

import functools
import inspect
import types

import tensorflow as tf

from kgraph import api
from kgraph.convert import policy
from kgraph.operators import lists

# Marks a kgraph wrapper; holds the user's original function.
ORIGINAL = "__kgraph_original__"

# Base classes whose methods are Keras', TensorFlow's or kgraph's own
# implementation, never the user's: those are left alone (e.g. Keras' default
# train_step).
_FRAMEWORK_PACKAGES = frozenset({"keras", "tensorflow", "tf_keras", "kgraph"})


def _owner(cls, name):
    """The class in ``cls``'s MRO whose ``__dict__`` defines ``name``."""
    for klass in cls.__mro__:
        if name in vars(klass):
            return klass
    return None


def user_method(cls, name):
    """The plain function ``cls.name`` resolves to, if it is the user's code
    that kgraph should convert; else None.

    Defined by any class of the MRO (the subclass itself or a mixin) that is
    not part of Keras/TensorFlow/kgraph, not already wrapped by kgraph and not marked
    ``kgraph.do_not_convert``.
    """
    owner = _owner(cls, name)
    if owner is None:
        return None
    fn = vars(owner)[name]
    if not isinstance(fn, types.FunctionType):
        return None  # staticmethod, classmethod, property...: not a method to convert
    if hasattr(fn, ORIGINAL):
        return None
    if (owner.__module__ or "").split(".")[0] in _FRAMEWORK_PACKAGES:
        return None
    if getattr(fn, policy.DO_NOT_CONVERT, False):  # kgraph.do_not_convert
        return None
    if inspect.isgeneratorfunction(fn) or inspect.iscoroutinefunction(fn):
        return None
    return fn


def converting_method(fn):
    """A method that runs ``kgraph.to_graph(fn)`` bound to ``self``.

    (When it is traced for XLA, ``kgraph.context.jit_compile()`` sees it, so
    lists grown in graph loops get the fixed capacity XLA needs.)
    """

    @functools.wraps(fn)
    def method(self, *args, **kwargs):
        out = api.to_graph(types.MethodType(fn, self))(*args, **kwargs)
        return lists.to_user(out)   # a list grown in a graph loop: stacked

    setattr(method, ORIGINAL, fn)
    # TensorFlow's AutoGraph must never run over kgraph's output (e.g. when a
    # user wraps a model in a plain tf.function, autograph=True by default).
    return tf.autograph.experimental.do_not_convert(method)


def install(cls, names):
    """Replace each user-defined method ``names`` of ``cls`` by its converting
    wrapper (on ``cls`` itself, so that mixins stay untouched)."""
    for name in names:
        fn = user_method(cls, name)
        if fn is not None:
            setattr(cls, name, converting_method(fn))

