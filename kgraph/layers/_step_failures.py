"""A failing step in Keras' own training loop (``steps_per_execution`` an
int): the error a user sees, and the state the model is left in.

Keras runs ``train_function(iterator)``; a graph assertion that fails inside
it surfaces as ``InvalidArgumentError: Graph execution error`` with no step
named. ``checked`` wraps Keras' function: the failure becomes the
``AssertionError`` the user's Python would raise (message, file and line) with
a note naming the step, as the in-graph loops ("epoch"/"fit") do.

State: an ``assert`` gates the statements after it (kgraph/passes/asserts.py),
so without XLA a step whose assert fails applies nothing written after the
assert. Under XLA assertion ops do not exist: ``guarded_step`` runs the step
with the model's error register active (kgraph/operators/builtins.py), reads
every variable of the model, its optimizer and its metrics before the step,
and after it writes the old values back where an assert failed, in the same
compiled computation (an elementwise select per variable, no host round
trip). The register stays set until the host reads it, so the later steps of
the same graph call (``steps_per_execution > 1``, the in-graph loops) are
undone too: the model is left as after the last good step.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from kgraph import api, context
from kgraph.operators.builtins import AssertRegister


def register_of(model):
    """The model's error register for asserts compiled by XLA (made on first use)."""
    register = model.__dict__.get("_kgraph_assert_register")
    if register is None:
        register = AssertRegister()
        model.__dict__["_kgraph_assert_register"] = register
    return register


def _state_variables(model):
    seen, out = set(), []
    groups = [model.variables]
    if getattr(model, "optimizer", None) is not None:
        groups.append(model.optimizer.variables)
    groups.extend(m.variables for m in model.metrics)
    for group in groups:
        for v in group:
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
    return out


def guarded_step(model, step, count=True):
    """``step`` (a Keras step function of ``model``), made safe under XLA.

    ``count``: count the step in the register's ``good_steps`` (training
    steps; the in-graph loops' validation steps are not counted)."""

    def guarded(data):
        if not context.tracing_for_xla():
            return step(data)
        register = register_of(model)
        variables = _state_variables(model)
        with register.active():
            before = [tf.identity(v.value) for v in variables]
            sites = len(register.sites)
            logs = step(data)
            if len(register.sites) > sites:   # the step holds asserts
                failed = register.failed()
                for v, old in zip(variables, before):
                    v.assign(tf.where(failed, old, v.value))
                if count:
                    register.good_steps.assign_add(tf.where(failed, 0, 1))
        return logs

    guarded.__name__ = getattr(step, "__name__", "step")
    return guarded


class StepTracker(keras.callbacks.Callback):
    """Remembers the epoch and batch Keras' loop is at, for the error note."""

    def __init__(self, model):
        super().__init__()
        self._tracked = model

    def on_epoch_begin(self, epoch, logs=None):
        self._tracked.__dict__["_kgraph_at"] = (epoch, 0)

    def on_train_batch_begin(self, batch, logs=None):
        epoch = self._tracked.__dict__.get("_kgraph_at", (0, 0))[0]
        self._tracked.__dict__["_kgraph_at"] = (epoch, batch)


def _note(model, err, kind, good=None):
    epoch, batch = model.__dict__.get("_kgraph_at", (None, None))
    n = model.steps_per_execution
    if kind == "training" and epoch is not None:
        if good is not None:      # known under XLA: the steps that completed in this call
            where = f"(epoch {epoch + 1}, batch {batch + good + 1})"
        else:
            where = f"(epoch {epoch + 1}, batch {batch + 1}" + (
                f" to {batch + n}" if n > 1 else "") + ")"
        err.add_note(f"kgraph: raised by the {kind} step {where}; the model's state is as "
                     f"after the last step that completed")
    else:
        err.add_note(f"kgraph: raised by a {kind} step; the model's state is as after the "
                     f"last step that completed")
    return err


def checked(model, function, kind):
    """Keras' ``train_function``/``test_function``, raising a failing assert
    as the user's AssertionError with the step named."""
    if function is None or getattr(function, "_kgraph_checked", False):
        return function

    def run(iterator):
        register = model.__dict__.get("_kgraph_assert_register")
        armed = register is not None and register.sites
        if armed:
            register.reset()
        try:
            logs = function(iterator)
        except tf.errors.InvalidArgumentError as e:
            err = api.translate_error(e)
            if err is None:
                raise
            raise _note(model, err, kind) from e
        if register is not None and register.sites:
            err = register.error()
            if err is not None:
                raise _note(model, err, kind, int(register.good_steps.numpy()))
        return logs

    run._kgraph_checked = True
    run.__wrapped__ = function
    return run


# -- the in-graph loops ("epoch"/"fit", kgraph/layers/in_graph.py) ----------

def reset(model):
    """Before a graph call of an in-graph loop."""
    register = model.__dict__.get("_kgraph_assert_register")
    if register is not None and register.sites:
        register.reset()


def xla_failure(model):
    """After a graph call: ``(AssertionError, steps completed in the call)``
    if an assert compiled by XLA failed, else None."""
    register = model.__dict__.get("_kgraph_assert_register")
    if register is None or not register.sites:
        return None
    err = register.error()
    if err is None:
        return None
    return err, int(register.good_steps.numpy())
