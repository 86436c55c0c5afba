"""In-graph training loops: ``steps_per_execution="epoch"`` and ``"fit"``.

One loop, written as plain Python below (``_train_loop``) and converted by
kgraph itself, runs epochs ``[start, stop)``: every training step, the metric
updates, and validation when given. ``"epoch"`` mode calls it once per epoch
(callbacks act between calls, as in Keras); ``"fit"`` mode calls it once for
the whole ``fit``. Both modes share one trace: the epoch bounds are tensors.

Separation of concerns:

* ``_train_loop`` / ``_data_loop``: what happens in the graph (converted code);
* ``StepFunctions``: one Keras step as a nested ``tf.function`` run through
  ``strategy.run`` (kept as its own function, as Keras does: it lets jit_compile apply to the
  step alone; in our first prototype, whose loop wrapped each step in a
  tf.cond, the inlined GRU step ran 4x slower than a nested one);
* ``Record``: turns a step's logs into one row of a step-indexed record, which
  comes back to the host as arrays (per-step loss/metrics for TensorBoard);
* ``Progress``: the only host round trip inside the loop, every N steps, to
  move the progress bar (off with ``progress_every=0``, and on TPUs);
* ``fit_in_graph``: data, callbacks and History on the host.
"""

from __future__ import annotations

import dataclasses
import math
import sys

import numpy as np
import tensorflow as tf

import keras

import kgraph
from kgraph.errors import KGraphError
from kgraph.layers import _step_failures

# Callbacks that must act *between* epochs of a running fit: in "fit" mode
# there is no "between", so they are refused with a clear error.
_ACTS_BETWEEN_EPOCHS = (
    keras.callbacks.EarlyStopping,
    keras.callbacks.ReduceLROnPlateau,
    keras.callbacks.LearningRateScheduler,
    keras.callbacks.ModelCheckpoint,
    keras.callbacks.BackupAndRestore,
)


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
    """Moves the progress bar from inside the loop, every ``every`` steps."""

    def __init__(self, every, steps, epochs, record, verbose):
        self.every = every
        self.steps = steps
        self.epochs = epochs
        self.record = record
        self.verbose = verbose
        self._bars = {}

    def report(self, epoch, step, row):
        tf.py_function(self._host_report, [epoch, step, row], [])

    def _host_report(self, epoch, step, row):
        epoch, step = int(epoch), int(step)
        bar = self._bars.get(epoch)
        if bar is None:
            print(f"Epoch {epoch + 1}/{self.epochs}")
            bar = keras.utils.Progbar(self.steps, verbose=self.verbose, interval=0)
            self._bars[epoch] = bar
        bar.update(step, values=list(zip(self.record.names, row.numpy().tolist())))
        sys.stdout.flush()

    def finish(self, epoch, steps_done, row, val_row=None, val_names=()):
        bar = self._bars.get(epoch)
        if bar is None:
            print(f"Epoch {epoch + 1}/{self.epochs}")
            bar = keras.utils.Progbar(self.steps, verbose=self.verbose)
            self._bars[epoch] = bar
        values = list(zip(self.record.names, row))
        if val_row is not None:
            values += [(f"val_{k}", v) for k, v in zip(val_names, val_row)]
        bar.update(steps_done, values=values, finalize=True)


# ---------------------------------------------------------------------------
# The loop itself: plain Python, converted by kgraph.

def _train_loop(train_fn, test_fn, train_iterator, val_iterator, start, stop, steps,
                val_steps, val_freq, record, val_record, reset, progress):
    step_rows = []
    epoch_rows = []
    val_rows = []
    steps_done = []
    stopped = False
    for epoch in range(start, stop):
        reset()
        last = record.zeros()
        done = 0
        for step in range(steps):
            # The data is repeated: every epoch takes exactly `steps` batches.
            last = record.row(train_fn(train_iterator.get_next()))
            record.count(last)
            step_rows.append(last)
            done += 1
            if progress.every > 0 and done % progress.every == 0:
                progress.report(epoch, done, last)
            if record.stop_on_nan and record.is_bad(last):
                stopped = True
                break
        epoch_rows.append(last)
        steps_done.append(done)
        if val_iterator is not None:
            val_last = val_record.zeros()
            if (epoch + 1) % val_freq == 0 and not stopped:
                reset()
                for _ in range(val_steps):
                    val_last = val_record.row(test_fn(val_iterator.get_next()))
            val_rows.append(val_last)
        if stopped:
            break
    vals = kgraph.stack(val_rows) if val_iterator is not None else None
    return (kgraph.stack(step_rows), kgraph.stack(epoch_rows), kgraph.stack(steps_done),
            vals)


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


def _to_dataset(x, y, sample_weight, batch_size, shuffle, seed=None):
    if isinstance(x, tf.data.Dataset):
        if y is not None:
            raise ValueError("y must be None when x is a tf.data.Dataset")
        return x
    if y is None:
        data = (x,)
    elif sample_weight is None:
        data = (x, y)
    else:
        data = (x, y, sample_weight)
    n = len(tf.nest.flatten(x)[0])
    ds = tf.data.Dataset.from_tensor_slices(data)
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size or 32).prefetch(tf.data.AUTOTUNE)


def _split(x, y, sample_weight, fraction):
    n = len(tf.nest.flatten(x)[0])
    cut = int(math.floor(n * (1.0 - fraction)))

    def take(a, lo, hi):
        return None if a is None else tf.nest.map_structure(lambda t: t[lo:hi], a)

    return ((take(x, 0, cut), take(y, 0, cut), take(sample_weight, 0, cut)),
            (take(x, cut, n), take(y, cut, n), take(sample_weight, cut, n)))


def _cardinality(ds):
    n = int(ds.cardinality())
    return None if n < 0 else n


def _build_before_tracing(model, data):
    """Create every variable (layers, compiled metrics, optimizer) now.

    Variables cannot be created inside a graph loop, a distribution strategy
    cannot create them inside a replica step, and a variable's initializer
    must not depend on the step's tensors. Keras' own evaluate() on one batch
    builds the model and its metrics through Keras' own code path.
    """
    with model.distribute_strategy.scope():
        model.evaluate(data.take(1), verbose=0)
        optimizer = model.optimizer
        if optimizer is not None and not optimizer.built:
            optimizer.build(model.trainable_variables)
        for metric in model.metrics:
            metric.reset_state()


def _names_of(step_fn, spec, what):
    concrete = step_fn.get_concrete_function(spec)
    out = concrete.structured_outputs
    if not isinstance(out, dict):
        raise KGraphError(f"{what} must return a dict of scalar logs (got {type(out).__name__}) "
                          f"to run in an in-graph loop")
    return sorted(out)


@dataclasses.dataclass
class InGraphResult:
    """What one fit call returned, per step and per epoch."""
    names: list
    step_rows: np.ndarray        # [total steps, len(names)]
    epoch_rows: np.ndarray       # [epochs, len(names)]
    steps_done: np.ndarray       # [epochs]
    val_names: list
    val_rows: np.ndarray | None  # [epochs, len(val_names)]


class InGraphLoop:
    """Compiled once per model; runs epochs [start, stop) per call."""

    def __init__(self, model, train_data, val_data, steps, val_steps, val_freq,
                 progress_every, stop_on_nan, verbose, epochs):
        self.model = model
        self.steps_fns = StepFunctions(model)
        strategy = model.distribute_strategy
        _build_before_tracing(model, train_data)
        self.iterators = None
        self.set_data(train_data, val_data, steps, val_steps)
        with strategy.scope():
            names = _names_of(self.steps_fns.train, self.train_data.element_spec, "train_step")
            val_names = (_names_of(self.steps_fns.test, self.val_data.element_spec,
                                   "test_step") if val_data is not None else [])
        self.record = Record(names, stop_on_nan)
        self.val_record = Record(val_names)
        on_tpu = isinstance(strategy, tf.distribute.TPUStrategy)
        self.progress = Progress(0 if on_tpu or not verbose else progress_every, steps,
                                 epochs, self.record, verbose)
        self.val_freq = val_freq
        self.calls = 0
        self._function = kgraph.function(self._run)

    def _reset(self):
        for metric in self.model.metrics:
            metric.reset_state()

    def set_data(self, train_data, val_data, steps, val_steps):
        """The data of one fit(). The traced loop only sees iterators and step
        counts as arguments, so a new fit with data of the same structure
        reuses the trace."""
        strategy = self.model.distribute_strategy
        # Repeated, and iterated by iterators made on the host (as Keras does):
        # each epoch pulls exactly `steps` batches, and a distributed iterator
        # is never created inside a graph loop.
        self.train_data = strategy.experimental_distribute_dataset(train_data.repeat())
        self.val_data = (strategy.experimental_distribute_dataset(val_data.repeat())
                         if val_data is not None else None)
        self.steps, self.val_steps = steps, val_steps
        if getattr(self, "progress", None) is not None:
            self.progress.steps = steps

    def new_iterators(self):
        """Fresh iterators for one fit() (epochs then continue the same stream)."""
        self.iterators = (iter(self.train_data),
                          iter(self.val_data) if self.val_data is not None else None)

    def _run(self, start, stop, steps, val_steps, train_iterator, val_iterator):
        # Step counts are tensors so that the loops are graph loops, not unrolled.
        # kgraph never converts its own modules implicitly: convert explicitly.
        return kgraph.to_graph(_train_loop)(
            self.steps_fns.train, self.steps_fns.test, train_iterator, val_iterator, start,
            stop, steps, val_steps, self.val_freq, self.record, self.val_record, self._reset,
            self.progress)

    @property
    def trace_count(self):
        return self._function.trace_count

    def run(self, start, stop):
        self.calls += 1
        before = int(self.record.completed.numpy())
        _step_failures.reset(self.model)
        try:
            with self.model.distribute_strategy.scope():
                steps, epochs, done, vals = self._function(
                    tf.constant(start), tf.constant(stop), tf.constant(self.steps),
                    tf.constant(self.val_steps), *self.iterators)
            failure = _step_failures.xla_failure(self.model)
            if failure is not None:     # an assert compiled by XLA failed
                err, good = failure
                self.record.completed.assign(before + good)
                raise err
        except (AssertionError, tf.errors.OpError, KGraphError) as e:
            completed = int(self.record.completed.numpy()) - before
            epoch = start + completed // self.steps
            e.add_note(f"kgraph: raised by training step {completed + 1} of this graph call "
                       f"(epoch {epoch + 1}, batch {completed % self.steps + 1}); the "
                       f"{completed} steps before it completed")
            raise
        return InGraphResult(self.record.names, steps.numpy(), epochs.numpy(), done.numpy(),
                             self.val_record.names,
                             None if vals is None else vals.numpy())


def fit_in_graph(model, mode, x=None, y=None, batch_size=None, epochs=1, verbose="auto",
                 callbacks=None, validation_split=0.0, validation_data=None, shuffle=True,
                 class_weight=None, sample_weight=None, initial_epoch=0, steps_per_epoch=None,
                 validation_steps=None, validation_batch_size=None, validation_freq=1,
                 progress_every=None):
    """``GraphModel.fit`` with ``steps_per_execution`` ``"epoch"`` or ``"fit"``."""
    if class_weight is not None:
        raise KGraphError("class_weight is not supported by the in-graph loops",
                          hints=("weight samples with sample_weight instead",))
    if not isinstance(validation_freq, int) or validation_freq < 1:
        raise KGraphError("validation_freq must be a positive int in the in-graph loops")
    callbacks = list(callbacks or [])
    if mode == "fit":
        refused = [type(c).__name__ for c in callbacks if isinstance(c, _ACTS_BETWEEN_EPOCHS)]
        if refused:
            raise KGraphError(
                f"steps_per_execution='fit' runs every epoch in one graph call, so "
                f"{', '.join(refused)} cannot act between epochs",
                hints=("use steps_per_execution='epoch': one graph call per epoch, and "
                       "callbacks act between epochs as usual",))
    verbose = 1 if verbose == "auto" else int(verbose)

    if validation_split and validation_data is None:
        if isinstance(x, tf.data.Dataset):
            raise ValueError("validation_split is not supported for datasets")
        (x, y, sample_weight), (vx, vy, vw) = _split(x, y, sample_weight, validation_split)
        validation_data = (vx, vy) if vw is None else (vx, vy, vw)
    train_ds = _to_dataset(x, y, sample_weight, batch_size, shuffle)
    val_ds = None
    if validation_data is not None:
        if isinstance(validation_data, tf.data.Dataset):
            val_ds = validation_data
        else:
            vx, vy, *vw = validation_data
            val_ds = _to_dataset(vx, vy, vw[0] if vw else None,
                                 validation_batch_size or batch_size, False)
    steps = steps_per_epoch or _cardinality(train_ds)
    if steps is None:
        raise KGraphError("the training data has unknown length: pass steps_per_epoch")
    val_steps = validation_steps or (_cardinality(val_ds) if val_ds is not None else 0) or 0
    if val_ds is not None and not val_steps:
        raise KGraphError("the validation data has unknown length: pass validation_steps")
    every = progress_every if progress_every is not None else max(1, steps // 10)

    cb = keras.callbacks.CallbackList(callbacks, add_history=True, add_progbar=False,
                                      model=model, verbose=verbose, epochs=epochs,
                                      steps=steps)
    model.stop_training = False
    model.step_records = []
    cb.on_train_begin()
    # Built (and traced) after on_train_begin, as Keras traces after it.
    stop_on_nan = any(isinstance(c, keras.callbacks.TerminateOnNaN) for c in callbacks)
    key = (train_ds.element_spec, None if val_ds is None else val_ds.element_spec,
           validation_freq, stop_on_nan, every, verbose)
    loop = getattr(model, "_kgraph_loop", None)
    if loop is None or loop[0] != key:
        loop = (key, InGraphLoop(model, train_ds, val_ds, steps, val_steps, validation_freq,
                                 every, stop_on_nan, verbose, epochs))
        model._kgraph_loop = loop
    runner = loop[1]
    runner.set_data(train_ds, val_ds, steps, val_steps)
    runner.progress.epochs = epochs
    runner.new_iterators()
    try:
        if mode == "fit":
            cb.on_epoch_begin(initial_epoch)
            cb.on_train_batch_begin(0)
            result = runner.run(initial_epoch, epochs)
            _replay(model, cb, result, initial_epoch, runner, verbose, first_begun=True)
        else:
            for epoch in range(initial_epoch, epochs):
                cb.on_epoch_begin(epoch)
                cb.on_train_batch_begin(0)
                result = runner.run(epoch, epoch + 1)
                _replay(model, cb, result, epoch, runner, verbose, first_begun=True)
                if model.stop_training:
                    break
    finally:
        # Release the iterators (their prefetch threads and buffered batches)
        # now, not at the next fit.
        runner.iterators = None
    cb.on_train_end(logs=model.history.history and {
        k: v[-1] for k, v in model.history.history.items()})
    return model.history


def _replay(model, cb, result, first_epoch, runner, verbose, first_begun):
    """Tell callbacks what happened inside one graph call, epoch by epoch."""
    offset = 0
    for i, (row, done) in enumerate(zip(result.epoch_rows, result.steps_done)):
        epoch = first_epoch + i
        if i > 0 or not first_begun:
            cb.on_epoch_begin(epoch)
        logs = runner.record.to_logs(row)
        step_rows = result.step_rows[offset:offset + int(done)]
        model.step_records.append({"epoch": epoch, "names": result.names, "rows": step_rows})
        offset += int(done)
        if i == len(result.epoch_rows) - 1:
            cb.on_train_batch_end(max(int(done) - 1, 0), logs)
        val_row = None
        if result.val_rows is not None:
            val_row = result.val_rows[i]
            logs.update({f"val_{k}": float(v) for k, v in zip(result.val_names, val_row)})
        if verbose:
            runner.progress.finish(epoch, int(done), row, val_row, result.val_names)
        if runner.record.stop_on_nan and not np.isfinite(logs.get("loss", 0.0)):
            print(f"Epoch {epoch + 1}: invalid loss, terminating training")
            model.stop_training = True
        cb.on_epoch_end(epoch, logs)
