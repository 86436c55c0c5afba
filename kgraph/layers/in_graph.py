"""In-graph training loops: ``steps_per_execution="epoch"`` and ``"fit"``.

One loop, written as plain Python below (``_train_loop``) and converted by
kgraph itself, runs epochs ``[start, stop)``: every training step, the metric
updates, and validation when given. ``"epoch"`` mode calls it once per epoch
(callbacks act between calls, as in Keras); ``"fit"`` mode calls it once for
the whole ``fit``. Both modes share one trace: the epoch bounds are tensors.

The contract is Keras' own ``fit``: whatever Keras' loop accepts runs here
and gives the same History and weights. So nothing is re-implemented that
Keras already decides:

* data: Keras' own ``EpochIterator`` / data adapters (arrays, sample and
  class weights, ``tf.data``, generators, ``PyDataset``) and Keras'
  ``train_validation_split``; a fresh iterator per epoch exactly where
  Keras makes one (no ``steps_per_epoch``), else one iterator kept across
  epochs;
* building: nothing runs that Keras would not run. Variables are created by
  tracing the step (as Keras' first ``train_function`` trace creates them),
  after Keras' own symbolic build where Keras does one (a model created
  under a distribution strategy);
* logs: flattened as Keras' ``pythonify_logs`` flattens them (nested dicts
  such as ``compile_metrics`` merge into the top level, keys sorted);
* callbacks and output: Keras' own ``CallbackList`` with its
  ``ProgbarLogger``; batch hooks fire as Keras fires them under
  ``steps_per_execution`` (once per execution: ``on_train_batch_begin(0)``
  before an epoch's steps, ``on_train_batch_end(steps - 1)`` after them).
  In ``"fit"`` mode the epoch boundaries are host calls inside the one graph
  call (``tf.py_function``), so epoch hooks run at their real point and see
  the real weights, and ``model.stop_training`` stops the loop. TPUs allow
  no host calls: there the epochs are replayed to callbacks after the call
  and callbacks that must act between epochs are refused.

Separation of concerns:

* ``_train_loop``: what happens in the graph (converted code);
* ``StepFunctions``: one Keras step as a nested ``tf.function`` run through
  ``strategy.run`` (kept as its own function, as Keras does: it lets
  jit_compile apply to the step alone);
* ``Record``: turns a step's logs into one row of a step-indexed record, which
  comes back to the host as arrays (per-step loss/metrics for TensorBoard);
* ``FitEvents``: the host side of callbacks, progress and History;
* ``fit_in_graph``: data, callbacks and History on the host.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import tensorflow as tf

import keras
# Private seams (Keras has no public name for them; fit uses exactly these).
# tests/test_keras_programs.py::test_private_keras_seams fails loudly if one moves.
from keras.src.trainers.data_adapters import array_slicing
from keras.src.trainers.epoch_iterator import EpochIterator

import kgraph
from kgraph.api import translate_error
from kgraph.errors import KGraphError
from kgraph.layers import _step_failures

# Callbacks that must act *between* epochs of a running fit: without host
# calls (TPU) "fit" mode has no "between", so they are refused there.
_ACTS_BETWEEN_EPOCHS = (
    keras.callbacks.EarlyStopping,
    keras.callbacks.ReduceLROnPlateau,
    keras.callbacks.LearningRateScheduler,
    keras.callbacks.ModelCheckpoint,
    keras.callbacks.BackupAndRestore,
)


def flatten_logs(logs):
    """A step's logs as Keras flattens them (``pythonify_logs``): keys in
    sorted order, a nested dict's items merged into the top level."""
    flat = {}
    for key in sorted(logs):
        value = logs[key]
        if isinstance(value, dict):
            flat.update(flatten_logs(value))
        else:
            flat[key] = value
    return flat


class Record:
    """Logs dict <-> a float32 row, with the names fixed up front."""

    def __init__(self, names, stop_on_nan=False):
        self.names = list(names)
        self.stop_on_nan = stop_on_nan and "loss" in self.names
        # Steps completed, counted in the graph: after a failure it tells the
        # host which step failed.
        self.completed = tf.Variable(0, dtype=tf.int64, trainable=False)

    def count(self, row):
        # Ordered after the step's outputs: a step that fails is not counted.
        with tf.control_dependencies([row]):
            self.completed.assign_add(1)

    def row(self, logs):
        logs = flatten_logs(logs)
        missing = [k for k in self.names if k not in logs]
        if missing:
            raise KGraphError(f"the step returned logs without {missing}")
        return tf.stack([tf.cast(tf.reshape(logs[k], []), tf.float32) for k in self.names])

    def zeros(self):
        return tf.zeros([len(self.names)], tf.float32)

    def is_bad(self, row):
        return tf.logical_not(tf.math.is_finite(row[self.names.index("loss")]))

    def to_logs(self, row):
        return {k: float(v) for k, v in zip(self.names, row)}


class Progress:
    """Moves Keras' progress bar from inside the loop, every ``every`` steps."""

    def __init__(self, every, events):
        self.every = every
        self.events = events

    def report(self, step, row):
        # Late binding: the traced loop is reused by later fits, each with its
        # own FitEvents (set_events); look it up when the host call runs.
        tf.py_function(lambda *a: self.events.host_call(self.events.progress)(*a),
                       [step, row], [])


class EpochHooks:
    """The epoch boundary inside a ``"fit"`` graph call: a host call that runs
    the callbacks' epoch hooks at their real point; returns stop_training."""

    def __init__(self, enabled, events):
        self.enabled = enabled
        self.events = events

    def epoch_end(self, epoch, stop, rows, done, val_row, ran_val):
        # The inputs order the host call after the epoch's last step and its
        # validation; the loop's next test reads its output.
        # Late binding, as in Progress.report: this fit's events, not the
        # first fit's (whose callbacks may be closed).
        stopped = tf.py_function(
            lambda *a: self.events.host_call(self.events.epoch_boundary)(*a),
            [epoch, stop, rows, done, val_row, ran_val], tf.bool)
        return tf.reshape(stopped, [])


def _epoch_iterator(data):
    """A fresh iterator for this epoch over a dataset (Keras makes one per
    epoch when ``steps_per_epoch`` is not given), or the iterator kept across
    epochs."""
    if isinstance(data, (tf.data.Dataset, tf.distribute.DistributedDataset)):
        return iter(data)
    return data


# ---------------------------------------------------------------------------
# The loop itself: plain Python, converted by kgraph.

def _rows(dtype, width=None):
    return tf.TensorArray(dtype, size=0, dynamic_size=True,
                          element_shape=[] if width is None else [width])


def _train_loop(train_fn, test_fn, train_data, val_data, start, stop, steps,
                val_steps, val_freq, record, val_record, reset, progress, hooks):
    # Every loop variable starts with its final type (tensors, TensorArrays),
    # so that kgraph builds each graph loop once, without relearning types.
    width, val_width = len(record.names), len(val_record.names)
    step_rows, epoch_rows = _rows(tf.float32, width), _rows(tf.float32, width)
    val_rows, steps_done = _rows(tf.float32, val_width), _rows(tf.int32)
    total = tf.constant(0)
    epochs_run = tf.constant(0)
    stopped = tf.constant(False)
    for epoch in range(start, stop):
        reset()
        train_iterator = _epoch_iterator(train_data)
        last = record.zeros()
        done = tf.constant(0)
        epoch_steps = _rows(tf.float32, width)
        for _ in range(steps):
            last = record.row(train_fn(train_iterator.get_next()))
            record.count(last)
            step_rows = step_rows.write(total, last)
            epoch_steps = epoch_steps.write(done, last)
            total += 1
            done += 1
            if progress.every > 0 and done % progress.every == 0 and done < steps:
                progress.report(done, last)
            if record.stop_on_nan and record.is_bad(last):
                stopped = tf.constant(True)
                break
        epoch_rows = epoch_rows.write(epochs_run, last)
        steps_done = steps_done.write(epochs_run, done)
        val_last = val_record.zeros()
        ran_val = tf.constant(False)
        if val_data is not None:
            if (epoch + 1) % val_freq == 0 and not stopped:
                reset()
                val_iterator = _epoch_iterator(val_data)
                for _ in range(val_steps):
                    val_last = val_record.row(test_fn(val_iterator.get_next()))
                ran_val = tf.constant(True)
            val_rows = val_rows.write(epochs_run, val_last)
        epochs_run += 1
        if hooks.enabled:
            stopped = hooks.epoch_end(epoch, stopped, epoch_steps.stack(), done, val_last,
                                      ran_val)
        if stopped:
            break
    vals = val_rows.stack() if val_data is not None else None
    return step_rows.stack(), epoch_rows.stack(), steps_done.stack(), vals


# ---------------------------------------------------------------------------
# Host side.

class StepFunctions:
    """Keras steps as nested tf.functions running on every replica."""

    def __init__(self, model):
        self.model = model
        self.strategy = model.distribute_strategy
        jit = bool(model.jit_compile)
        # (guarded_step: under XLA, failing asserts reach the host and the
        # state is left as after the last good step; see _step_failures.py)
        self.train = tf.function(
            self._replicated(_step_failures.guarded_step(model, model.train_step)),
            autograph=False, jit_compile=jit, reduce_retracing=True)
        self.test = tf.function(
            self._replicated(_step_failures.guarded_step(model, model.test_step, count=False)),
            autograph=False, jit_compile=jit, reduce_retracing=True)

    def _replicated(self, step):
        strategy = self.strategy

        def run(data):
            outputs = strategy.run(step, args=(data,))
            return tf.nest.map_structure(lambda v: _mean_over_replicas(strategy, v), outputs)

        return run


def _mean_over_replicas(strategy, value):
    # Each replica returns its local metric results: average them, as Keras'
    # "auto" reduction does off TPU (equal per-replica batch shares).
    if strategy.num_replicas_in_sync == 1:
        return strategy.experimental_local_results(value)[0]
    return strategy.reduce("MEAN", value, axis=None)


@dataclasses.dataclass
class Source:
    """One stream of batches, as Keras' EpochIterator would serve it."""
    adapter: object
    dataset: tf.data.Dataset
    steps: int | None
    fresh_each_epoch: bool   # Keras makes a new iterator each epoch

    @classmethod
    def of(cls, x, y, sample_weight, batch_size, steps_per_epoch, shuffle, class_weight=None):
        keras_iterator = EpochIterator(x=x, y=y, sample_weight=sample_weight,
                                       batch_size=batch_size, steps_per_epoch=steps_per_epoch,
                                       shuffle=shuffle, class_weight=class_weight)
        adapter = keras_iterator.data_adapter
        return cls(adapter, adapter.get_tf_dataset(), keras_iterator.num_batches,
                   steps_per_epoch is None)

    def graph_data(self, strategy):
        """What the traced loop iterates: the distributed dataset itself (an
        iterator is made in the graph at each epoch) or one iterator."""
        if self.fresh_each_epoch:
            return strategy.experimental_distribute_dataset(self.dataset)
        return iter(strategy.experimental_distribute_dataset(self.dataset.repeat()))


def _build_like_keras(model, source, train, val, steps_fns):
    """Create every variable the way Keras' fit creates it, running nothing
    Keras would not run.

    Keras symbolically builds a model created under a distribution strategy
    (``_maybe_symbolic_build``); otherwise its first ``train_function`` trace
    creates the variables (layers, compiled metrics and loss, optimizer
    slots). Here a model with a ``call`` is built by Keras' own symbolic
    build (KerasTensors: no step runs, no random number is drawn), which
    spares the step trace TensorFlow repeats after creating variables; a
    model without one (a GAN with only ``train_step``), or one whose symbolic
    build fails, gets its variables from the step's first trace, as in Keras.
    """
    strategy = model.distribute_strategy
    if getattr(model, "_distribute_strategy", None) is not None:
        model._maybe_symbolic_build(data_batch=next(iter(source.dataset)))
    elif _has_own_call(model):
        try:
            with strategy.scope():
                model._symbolic_build(data_batch=source.dataset.element_spec)
        except Exception:  # noqa: BLE001 - Keras' own trace-time build follows
            pass
    if (isinstance(model.optimizer, keras.optimizers.Optimizer) and not model.optimizer.built
            and all(layer.built for layer in model._flatten_layers())):
        # What Keras' symbolic build does last: a built model's optimizer is
        # built outside any step (its slots then never depend on a step's
        # tensors, e.g. when an `assert` gates apply_gradients).
        with strategy.scope():
            model.optimizer.build(model.trainable_variables)
    with strategy.scope():
        names = _names_of(steps_fns.train, train.spec, "train_step")
        val_names = _names_of(steps_fns.test, val.spec, "test_step") if val else []
    return names, val_names


def _has_own_call(model):
    return type(model).call is not keras.Model.call


def _names_of(step_fn, spec, what):
    concrete = step_fn.get_concrete_function(spec)
    out = concrete.structured_outputs
    if not isinstance(out, dict):
        raise KGraphError(f"{what} must return a dict of scalar logs (got {type(out).__name__}) "
                          f"to run in an in-graph loop")
    flat = flatten_logs(out)
    bad = [k for k, v in flat.items()
           if not isinstance(v, tf.Tensor) or (v.shape.rank is not None and v.shape.num_elements()
                                               not in (None, 1))]
    if bad:
        raise KGraphError(f"{what} returned logs {bad} that are not scalar tensors; the "
                          f"in-graph loops record one number per log and step",
                          hints=("return scalars (e.g. metric.result()), or train with "
                                 "steps_per_execution=1",))
    return list(flat)


@dataclasses.dataclass
class _GraphData:
    data: object
    spec: object


@dataclasses.dataclass
class InGraphResult:
    """What one graph call returned, per step and per epoch."""
    names: list
    step_rows: np.ndarray        # [total steps, len(names)]
    epoch_rows: np.ndarray       # [epochs, len(names)]
    steps_done: np.ndarray       # [epochs]
    val_names: list
    val_rows: np.ndarray | None  # [epochs, len(val_names)]


def _traced_loop(loop, *args):
    loop._traces += 1
    return loop._run(*args)


class InGraphLoop:
    """Compiled once per model; runs epochs [start, stop) per call."""

    def __init__(self, model, train, val, val_freq, progress_every, stop_on_nan, host_calls,
                 epoch_hooks):
        self.model = model
        self.steps_fns = StepFunctions(model)
        self.events = None
        self.set_data(train, val)
        names, val_names = _build_like_keras(model, train, self.train, self.val,
                                             self.steps_fns)
        self.record = Record(names, stop_on_nan)
        self.val_record = Record(val_names)
        self.progress = Progress(progress_every if host_calls else 0, None)
        self.hooks = EpochHooks(epoch_hooks and host_calls, None)
        self.val_freq = val_freq
        self.calls = 0
        self._traces = 0
        # Each loop its own tf.function object with its own call-stats key (a
        # partial has no __code__), so that building several models does not
        # look like retracing one function to TensorFlow.
        self._function = tf.function(functools.partial(_traced_loop, self), autograph=False)

    def set_events(self, events):
        self.events = events
        self.progress.events = events
        self.hooks.events = events

    def set_data(self, train, val):
        """The data of one fit(). The traced loop only sees datasets,
        iterators and step counts as arguments, so a new fit with data of
        the same structure reuses the trace."""
        strategy = self.model.distribute_strategy
        self.sources = (train, val)
        data = train.graph_data(strategy)
        self.train = _GraphData(data, data.element_spec)
        self.val = None
        if val is not None:
            vdata = val.graph_data(strategy)
            self.val = _GraphData(vdata, vdata.element_spec)
        self.steps = train.steps
        self.val_steps = val.steps if val is not None else 0

    def release(self):
        self.train = self.val = None
        self.sources = (None, None)

    def _run(self, start, stop, steps, val_steps, train_data, val_data):
        # Step counts are tensors so that the loops are graph loops, not unrolled.
        # kgraph never converts its own modules implicitly: convert explicitly.
        return kgraph.to_graph(_train_loop)(
            self.steps_fns.train, self.steps_fns.test, train_data, val_data, start,
            stop, steps, val_steps, self.val_freq, self.record, self.val_record, self._reset,
            self.progress, self.hooks)

    def _reset(self):
        for metric in self.model.metrics:
            metric.reset_state()

    @property
    def trace_count(self):
        return self._traces

    def run(self, start, stop):
        self.calls += 1
        before = int(self.record.completed.numpy())
        self.events.host_error = None
        _step_failures.reset(self.model)
        try:
            with self.model.distribute_strategy.scope():
                try:
                    steps, epochs, done, vals = self._function(
                        tf.constant(start), tf.constant(stop), tf.constant(self.steps),
                        tf.constant(self.val_steps), self.train.data,
                        None if self.val is None else self.val.data)
                except tf.errors.InvalidArgumentError as e:
                    err = translate_error(e)   # a failed `assert`: AssertionError, user's line
                    if err is None:
                        raise
                    raise err from e
            failure = _step_failures.xla_failure(self.model)
            if failure is not None:     # an assert compiled by XLA failed
                err, good = failure
                self.record.completed.assign(before + good)
                raise err
        except (AssertionError, tf.errors.OpError, KGraphError) as e:
            host_error = self.events.host_error
            if host_error is not None:   # a callback raised inside a host call
                raise host_error.with_traceback(host_error.__traceback__) from None
            completed = int(self.record.completed.numpy()) - before
            epoch = start + completed // self.steps
            e.add_note(f"kgraph: raised by training step {completed + 1} of this graph call "
                       f"(epoch {epoch + 1}, batch {completed % self.steps + 1}); the "
                       f"{completed} steps before it completed")
            raise
        return InGraphResult(self.record.names, steps.numpy(), epochs.numpy(), done.numpy(),
                             self.val_record.names,
                             None if vals is None else vals.numpy())


class FitEvents:
    """Callbacks, progress bar, History and step records of one fit, on the
    host: called between graph calls, from host calls inside one, or to
    replay a call's epochs afterwards (TPU)."""

    def __init__(self, model, cb, loop, epochs, stop_epoch, verbose):
        self.model = model
        self.cb = cb
        self.loop = loop
        self.epochs = epochs
        self.stop_epoch = stop_epoch
        self.host_error = None
        self.progbar = next((c for c in cb.callbacks
                             if isinstance(c, keras.callbacks.ProgbarLogger)), None)
        self.live_epochs = set()   # epochs whose end was reported from inside the graph
        self.last_logs = None

    def host_call(self, fn):
        """``fn`` as a host function for tf.py_function: an exception is kept
        and re-raised as is after the graph call fails."""

        def call(*args):
            try:
                return fn(*args)
            except BaseException as e:
                self.host_error = e
                raise

        return call

    # -- hooks --------------------------------------------------------------

    def epoch_begin(self, epoch):
        adapter = self.loop.sources[0].adapter
        adapter.on_epoch_begin()
        self.cb.on_epoch_begin(epoch)
        self.cb.on_train_batch_begin(0)

    def progress(self, step, row):
        if self.progbar is not None:
            self.progbar.on_train_batch_end(int(step) - 1, self.loop.record.to_logs(row.numpy()))

    def epoch_end(self, epoch, rows, done, val_row):
        names = self.loop.record.names
        self.model.step_records.append({"epoch": epoch, "names": names, "rows": rows[:done]})
        logs = self.loop.record.to_logs(rows[done - 1]) if done else {}
        self.cb.on_train_batch_end(max(done - 1, 0), dict(logs))
        if val_row is not None:
            logs.update({f"val_{k}": float(v)
                         for k, v in zip(self.loop.val_record.names, val_row)})
        if self.loop.record.stop_on_nan and not np.isfinite(logs.get("loss", 0.0)):
            print(f"Epoch {epoch + 1}: invalid loss, terminating training")
            self.model.stop_training = True
        self.loop.sources[0].adapter.on_epoch_end()
        self.cb.on_epoch_end(epoch, logs)
        self.last_logs = logs

    def epoch_boundary(self, epoch, stop, rows, done, val_row, ran_val):
        """Inside a "fit" graph call: end this epoch, begin the next one."""
        epoch, done = int(epoch), int(done)
        self.live_epochs.add(epoch)
        self.epoch_end(epoch, rows.numpy(), done, val_row.numpy() if bool(ran_val) else None)
        stop = bool(stop) or bool(self.model.stop_training)
        if not stop and epoch + 1 < self.stop_epoch:
            self.epoch_begin(epoch + 1)
        return stop

    def replay(self, result, first_epoch):
        """Tell callbacks what happened inside one graph call, epoch by epoch
        (what host calls did not already report)."""
        offset = 0
        for i, (row_done) in enumerate(result.steps_done):
            done = int(row_done)
            epoch = first_epoch + i
            rows = result.step_rows[offset:offset + done]
            offset += done
            if epoch in self.live_epochs:
                continue
            if i > 0:
                self.epoch_begin(epoch)
            val_row = None
            if result.val_rows is not None and (epoch + 1) % self.loop.val_freq == 0:
                val_row = result.val_rows[i]
            self.epoch_end(epoch, rows, done, val_row)


def host_calls_allowed(strategy):
    """Host calls (tf.py_function) inside the loop: CPU and GPU yes, TPU no."""
    return not isinstance(strategy, tf.distribute.TPUStrategy)


def fit_in_graph(model, mode, x=None, y=None, batch_size=None, epochs=1, verbose="auto",
                 callbacks=None, validation_split=0.0, validation_data=None, shuffle=True,
                 class_weight=None, sample_weight=None, initial_epoch=0, steps_per_epoch=None,
                 validation_steps=None, validation_batch_size=None, validation_freq=1,
                 progress_every=None):
    """``GraphModel.fit`` with ``steps_per_execution`` ``"epoch"`` or ``"fit"``."""
    if not model.compiled:
        raise ValueError("You must call `compile()` before using the model.")
    if isinstance(validation_freq, bool) or not isinstance(validation_freq, int) \
            or validation_freq < 1:
        raise KGraphError("validation_freq must be a positive int in the in-graph loops")
    strategy = model.distribute_strategy
    host_calls = host_calls_allowed(strategy)
    callbacks = list(callbacks or [])
    if mode == "fit" and not host_calls:
        refused = [type(c).__name__ for c in callbacks if isinstance(c, _ACTS_BETWEEN_EPOCHS)]
        if refused:
            raise KGraphError(
                f"steps_per_execution='fit' runs every epoch in one graph call and TPUs allow "
                f"no host calls inside it, so {', '.join(refused)} cannot act between epochs",
                hints=("use steps_per_execution='epoch': one graph call per epoch, and "
                       "callbacks act between epochs as usual",))

    # Data: exactly what Keras' fit builds.
    if validation_split and validation_data is None:
        (x, y, sample_weight), validation_data = array_slicing.train_validation_split(
            (x, y, sample_weight), validation_split=validation_split)
    train = Source.of(x, y, sample_weight, batch_size, steps_per_epoch, shuffle, class_weight)
    val = None
    if validation_data is not None:
        vx, vy, vw = keras.utils.unpack_x_y_sample_weight(validation_data)
        val = Source.of(vx, vy, vw, validation_batch_size or batch_size, validation_steps,
                        False)
    if train.steps is None:
        raise KGraphError("the training data has unknown length: pass steps_per_epoch "
                          "(the in-graph loops run a fixed number of steps per epoch)")
    if val is not None and val.steps is None:
        raise KGraphError("the validation data has unknown length: pass validation_steps")
    if progress_every is None:
        progress_every = max(1, train.steps // 10)
    live_progress = verbose in (1, "auto") and progress_every > 0

    cb = keras.callbacks.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                      model=model, verbose=verbose, epochs=epochs,
                                      steps=train.steps)
    model.stop_training = False
    model.step_records = []
    # Built and traced after on_train_begin, as Keras traces after it.
    cb.on_train_begin()
    stop_on_nan = any(isinstance(c, keras.callbacks.TerminateOnNaN) for c in callbacks)
    key = (train.dataset.element_spec, train.fresh_each_epoch,
           None if val is None else (val.dataset.element_spec, val.fresh_each_epoch),
           validation_freq, stop_on_nan, progress_every if live_progress else 0, mode)
    loop = getattr(model, "_kgraph_loop", None)
    if loop is None or loop[0] != key:
        loop = (key, InGraphLoop(model, train, val, validation_freq,
                                 progress_every if live_progress else 0, stop_on_nan,
                                 host_calls, epoch_hooks=(mode == "fit")))
        model._kgraph_loop = loop
    runner = loop[1]
    runner.set_data(train, val)
    events = FitEvents(model, cb, runner, epochs, epochs, verbose)
    runner.set_events(events)
    initial_epoch = getattr(model, "_initial_epoch", None) or initial_epoch
    try:
        if mode == "fit":
            if initial_epoch < epochs:
                events.epoch_begin(initial_epoch)
                result = runner.run(initial_epoch, epochs)
                events.replay(result, initial_epoch)
        else:
            for epoch in range(initial_epoch, epochs):
                events.epoch_begin(epoch)
                result = runner.run(epoch, epoch + 1)
                events.replay(result, epoch)
                if model.stop_training:
                    break
    finally:
        # Release the datasets and iterators (their prefetch threads and
        # buffered batches) now, not at the next fit.
        runner.release()
    if isinstance(model.optimizer, keras.optimizers.Optimizer) and epochs > 0:
        model.optimizer.finalize_variable_values(model.trainable_weights)
    cb.on_train_end(logs=events.last_logs)
    return model.history
