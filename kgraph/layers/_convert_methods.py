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
import os
import sys
import threading
import types

import tensorflow as tf
# Private seam: Keras' symbolic shape inference runs call in a stateless scope
# that collects add_loss itself (tests/test_keras_programs.py uses it).
from keras.src.backend import in_stateless_scope

from kgraph import api
from kgraph.convert import policy
from kgraph.errors import StagingError
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
        graphs = _entry_graphs()
        graphs.append(None if tf.executing_eagerly() else tf.compat.v1.get_default_graph())
        try:
            out = api.to_graph(types.MethodType(fn, self))(*args, **kwargs)
        finally:
            graphs.pop()
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



_KGRAPH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

# The graph each running converted method was entered in (innermost last).
_local = threading.local()


def _entry_graphs():
    graphs = getattr(_local, "graphs", None)
    if graphs is None:
        graphs = _local.graphs = []
    return graphs


def check_add_loss(depth=2):
    """Refuse ``self.add_loss(...)`` under graph control flow of a converted
    method, at the user's line.

    Inside a tensor ``if`` or loop the loss is a tensor of the branch's
    (or body's) own graph: Keras would read it later, from the step's graph,
    and fail there with TensorFlow's InaccessibleTensorError and no user line.
    """
    graphs = _entry_graphs()
    if not graphs or graphs[-1] is None or tf.executing_eagerly():
        return
    if in_stateless_scope():   # Keras' symbolic calls collect losses in a scope
        return
    if tf.compat.v1.get_default_graph() is graphs[-1]:
        return
    frame = sys._getframe(depth)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_KGRAPH_DIR):
        frame = frame.f_back   # kg__.call(...) and other operators: up to the user's line
    raise StagingError(
        "self.add_loss(...) inside graph control flow (an `if` or loop on a tensor): the loss "
        "would be a tensor of the branch's own graph, which Keras cannot read when it sums "
        "the losses",
        location=f"{frame.f_code.co_filename}:{frame.f_lineno}",
        hints=("add the loss unconditionally and gate its value instead, e.g. "
               "`self.add_loss(tf.where(condition, penalty, 0.0))`",))
