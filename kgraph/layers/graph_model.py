"""kgraph.GraphModel: a Keras model whose ``call`` and custom steps are plain
Python control flow.

Keras 3's TensorFlow trainer wraps its step functions in
``tf.autograph.experimental.do_not_convert`` and traces them with
``tf.function(...)`` (AutoGraph never runs), calling ``self.train_step(data)``,
``self.test_step(data)`` and ``self.predict_step(data)`` from inside. A
subclass of ``GraphModel`` has those methods (and ``call``), where it defines
them, replaced by wrappers that run kgraph's converted version: Keras calls
them as before, and ``if loss > threshold:`` or ``for i in range(k):`` on
tensors becomes graph control flow in the step Keras traces. Keras' own
default steps are left alone (they call the converted ``call`` through
``self(x)``).

When Keras traces a step for XLA (``compile(jit_compile=True)``), the
converter is told so (see ``_convert_methods.converting_method``).

``steps_per_execution``: Keras' integers keep their meaning (one graph call
runs that many steps). The in-graph training loops ``"epoch"`` (an epoch per
graph call) and ``"fit"`` (the whole ``fit`` in one graph call) are accepted
by ``compile`` and ``fit`` and dispatched to ``kgraph.layers.in_graph``.
"""

from __future__ import annotations

import contextlib
import numbers

import keras
# Private seams (no public names): the class of functional models, which
# Keras mixes into a Model subclass built with inputs/outputs (see
# _functional_variant; tests/test_layers.py checks it is still that class),
# and the registry of Keras names (tests/test_keras_programs.py checks it).
from keras.src.models.functional import Functional
from keras.src.saving import object_registration

from kgraph.layers import _convert_methods, _step_failures

CONVERTED_METHODS = ("call", "train_step", "test_step", "predict_step")
IN_GRAPH_LOOPS = ("epoch", "fit")


def validate_steps_per_execution(value):
    """``value`` as GraphModel understands it: a positive int (Keras' own
    multi-step execution) or one of ``IN_GRAPH_LOOPS``; else ValueError."""
    if isinstance(value, str):
        if value in IN_GRAPH_LOOPS:
            return value
        raise ValueError(f"steps_per_execution={value!r}: expected a positive int or one of "
                         f"{', '.join(repr(m) for m in IN_GRAPH_LOOPS)}")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"steps_per_execution={value!r}: expected a positive int or one of "
                         f"{', '.join(repr(m) for m in IN_GRAPH_LOOPS)}")
    return int(value)


def _functional_init_arguments(args, kwargs):
    """Keras' rule for "called with inputs and outputs" (keras.Model.__new__)."""
    return (len(args) == 2 or (len(args) == 1 and "outputs" in kwargs)
            or ("inputs" in kwargs and "outputs" in kwargs))


@keras.saving.register_keras_serializable(package="kgraph")
class GraphModel(keras.Model):
    """A ``keras.Model`` whose subclass's ``call``, ``train_step``,
    ``test_step`` and ``predict_step`` kgraph converts.

    Subclass it exactly like ``keras.Model``::

        class Thresholded(kgraph.GraphModel):
            def train_step(self, data):
                x, y = data
                with tf.GradientTape() as tape:
                    loss = self.compute_loss(x, y, self(x, training=True))
                if loss > 0.1:
                    grads = tape.gradient(loss, self.trainable_variables)
                    self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
                ...
    """

    def __new__(cls, *args, **kwargs):
        # ``kgraph.GraphModel(inputs, outputs)`` builds a FunctionalGraphModel,
        # as ``keras.Model(inputs, outputs)`` builds a Functional.
        if cls is GraphModel and _functional_init_arguments(args, kwargs):
            cls = FunctionalGraphModel
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        # Keras decides "functional subclass" in Model.__init__, from the
        # arguments that reach it (so ``VAE(encoder, decoder)`` whose
        # __init__ calls ``super().__init__()`` is not functional), and then
        # rewrites the bases of every class up to keras.Model. kgraph decides
        # from the same arguments but never rewrites a class: the instance
        # becomes a subclass of its own class with FunctionalGraphModel mixed
        # in (one per class, cached), and Functional.__init__ builds it.
        if _functional_init_arguments(args, kwargs):
            if not isinstance(self, Functional):
                self.__class__ = _functional_variant(type(self))
            Functional.__init__(self, *args, **kwargs)
        else:
            super().__init__(*args, **kwargs)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _convert_methods.install(cls, CONVERTED_METHODS)

    def add_loss(self, loss):
        # Refused, at the user's line, under graph control flow (see
        # _convert_methods.check_add_loss); else Keras' own.
        _convert_methods.check_add_loss()
        return super().add_loss(loss)

    # -- steps_per_execution -------------------------------------------------
    # Keras' compile() stores its argument with a plain attribute assignment
    # (``self.steps_per_execution = ...``) and its loops read that attribute as
    # an int. The property validates at compile time, remembers an in-graph
    # loop mode, and shows Keras' loops 1 for such a mode. The compile config
    # (what model.save stores) keeps the argument, so the mode round-trips.

    @property
    def steps_per_execution(self):
        value = self.__dict__.get("_kgraph_steps_per_execution", 1)
        return 1 if isinstance(value, str) else value

    @steps_per_execution.setter
    def steps_per_execution(self, value):
        self.__dict__["_kgraph_steps_per_execution"] = validate_steps_per_execution(value)

    @property
    def in_graph_loop(self):
        """``"epoch"`` or ``"fit"`` when compiled for an in-graph training loop, else None."""
        value = self.__dict__.get("_kgraph_steps_per_execution", 1)
        return value if isinstance(value, str) else None

    def fit(self, *args, steps_per_execution=None, **kwargs):
        """``keras.Model.fit``, plus ``steps_per_execution`` for this call only
        (a positive int, ``"epoch"`` or ``"fit"``; default: compile's value)."""
        if steps_per_execution is None:
            mode = self.in_graph_loop or self.steps_per_execution
        else:
            mode = validate_steps_per_execution(steps_per_execution)
        if isinstance(mode, str):
            return self._fit_in_graph(mode, *args, **kwargs)
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or ()),
                               _step_failures.StepTracker(self)]
        with self._keras_steps_per_execution(mode):
            return super().fit(*args, **kwargs)

    # -- failing steps in Keras' own loops: see kgraph/layers/_step_failures.py

    def _make_function(self, step_function):
        # Private seam (Keras' TF trainer builds train/test functions here):
        # under XLA the step reports failing asserts to the model's register
        # and leaves the state as before the step. tests/test_reliability.py
        # fails loudly if Keras stops calling it.
        return super()._make_function(_step_failures.guarded_step(self, step_function))

    def make_train_function(self, force=False):
        super().make_train_function(force)
        self.train_function = _step_failures.checked(self, self.train_function, "training")
        return self.train_function

    def make_test_function(self, force=False):
        super().make_test_function(force)
        self.test_function = _step_failures.checked(self, self.test_function, "test")
        return self.test_function

    def _fit_in_graph(self, mode, *args, progress_every=None, **kwargs):
        """``steps_per_execution="epoch"`` / ``"fit"``: see kgraph/layers/in_graph.py.

        ``progress_every``: move the progress bar every N steps from inside
        the graph (default: ten updates per epoch; 0 disables the host call).
        """
        from kgraph.layers import in_graph

        return in_graph.fit_in_graph(self, mode, *args, progress_every=progress_every,
                                     **kwargs)

    @contextlib.contextmanager
    def _keras_steps_per_execution(self, n):
        """Run Keras' loops with ``n`` steps per execution, then restore."""
        saved = self.__dict__.get("_kgraph_steps_per_execution", 1)
        if n == self.steps_per_execution:
            yield
            return
        self.steps_per_execution = n
        self._reset_step_functions()
        try:
            yield
        finally:
            self.steps_per_execution = saved
            self._reset_step_functions()

    def _reset_step_functions(self):
        # Keras' compile() does the same: its step functions read
        # steps_per_execution when they are traced.
        self.train_function = None
        self.test_function = None
        self.predict_function = None


@keras.saving.register_keras_serializable(package="kgraph")
class FunctionalGraphModel(GraphModel, Functional):
    """What ``kgraph.GraphModel(inputs, outputs)`` builds: a functional model
    with GraphModel's methods (as ``keras.Model(inputs, outputs)`` builds a
    Functional)."""


_FUNCTIONAL_VARIANTS = {}


def _functional_variant(cls):
    """``cls`` with FunctionalGraphModel mixed in: what an instance of ``cls``
    constructed with inputs/outputs becomes. Same name, module and
    registered Keras name as ``cls`` (so saving and loading name ``cls``);
    ``cls`` itself is left untouched."""
    variant = _FUNCTIONAL_VARIANTS.get(cls)
    if variant is None:
        variant = type(cls.__name__, (cls, FunctionalGraphModel),
                       {"__module__": cls.__module__, "__qualname__": cls.__qualname__,
                        "__doc__": cls.__doc__})
        if cls in object_registration.GLOBAL_CUSTOM_NAMES:
            object_registration.GLOBAL_CUSTOM_NAMES[variant] = \
                object_registration.GLOBAL_CUSTOM_NAMES[cls]
        _FUNCTIONAL_VARIANTS[cls] = variant
    return variant
