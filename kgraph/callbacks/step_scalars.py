"""``StepScalars``: one TensorBoard point per training step, also when an epoch
(or the whole ``fit``) ran in one graph call.

With ``steps_per_execution="epoch"``/``"fit"`` Keras' callbacks hear of a
graph call once, with the logs of its last step. kgraph's in-graph loop
records every step's loss and metrics inside the graph and hands them to the
host as ``model.step_records`` (``{"epoch", "names", "rows"}`` per epoch);
this callback writes each row at its own global step after each epoch. In
Keras' own loop it writes the logs of ``on_train_batch_end`` instead (one
point per step, or per execution with an integer ``steps_per_execution``).

Global step: the number of training steps the model has taken, counted from
the optimizer's ``iterations`` when the fit began (so a second ``fit``
continues the curve) plus the steps of this fit, 1-based; models without an
optimizer count from 0 per callback. Values are what the step's logs held:
Keras' running means over the epoch so far, as in the progress bar.

Tags are ``step_<name>`` (``step_loss``, ``step_mae``...), in the run
``<log_dir>/train_steps``: beside, not inside, the ``train`` run of
``keras.callbacks.TensorBoard`` (``epoch_loss``, ``batch_loss``), which keeps
working unchanged when used alongside.
"""

from __future__ import annotations

import numbers
import os

import numpy as np
import tensorflow as tf

import keras

from kgraph.callbacks import _common


class StepScalars(keras.callbacks.Callback):
    """Writes every training step's loss and metrics as TensorBoard scalars.

    Args:
        log_dir: the TensorBoard log directory (as for
            ``keras.callbacks.TensorBoard``).
        run: the run (subdirectory of ``log_dir``) written to.
        prefix: prepended to each metric name to form the tag.
    """

    def __init__(self, log_dir, run="train_steps", prefix="step_"):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self.run = run
        self.prefix = prefix
        self.run_dir = os.path.join(self.log_dir, run) if run else self.log_dir
        self._watcher = _common.InGraphWatcher()
        self._writer = None
        self._base = 0
        self._done = 0            # steps of this fit written or accounted for
        self._epoch_start = 0
        self._own_count = 0       # when the model has no optimizer counter
        self.last_step = None     # the global step of the last point written
        self._graph_writers = {}

    # -- Keras hooks -------------------------------------------------------

    def on_train_begin(self, logs=None):
        if self._writer is not None:   # the previous fit raised before on_train_end
            _common.release_writer(self.run_dir)
        self._writer = _common.acquire_writer(self.run_dir)
        self._watcher.begin(self.model)
        counter = _common.iterations(self.model)
        self._base = counter if counter is not None else self._own_count
        self._done = 0
        self._epoch_start = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = self._done

    def on_train_batch_end(self, batch, logs=None):
        if self._write_records() or self._watcher.in_graph:
            return  # in-graph: this is the end of a graph call, rows are written instead
        self._done = self._epoch_start + int(batch) + 1
        self._write_logs(self._base + self._done, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._write_records()
        if self._writer is not None:
            self._writer.flush()

    def on_train_end(self, logs=None):
        self._write_records()
        self._own_count = self._base + self._done
        if self._writer is not None:
            _common.release_writer(self.run_dir)
            self._writer = None

    # -- writing -----------------------------------------------------------

    def _write_records(self):
        fresh = self._watcher.poll()
        for record in fresh:
            rows = np.asarray(record["rows"], dtype=np.float32)
            if rows.size == 0:
                continue
            first = self._base + self._done + 1
            steps = np.arange(first, first + len(rows), dtype=np.int64)
            self._write_rows(list(record["names"]), rows, steps)
            self._done += len(rows)
        return bool(fresh)

    def _write_rows(self, names, rows, steps):
        tags = tuple(self.prefix + name for name in names)
        with self._writer.as_default():
            if rows.size <= _EAGER_LIMIT:
                for j, tag in enumerate(tags):
                    for step, value in zip(steps.tolist(), rows[:, j].tolist()):
                        tf.summary.scalar(tag, value, step=step)
            else:   # ~1 ms per eager summary call: write a long epoch in one graph call
                key = (self._writer, tags)   # holds the writer: no id reuse
                if key not in self._graph_writers:
                    self._graph_writers = {key: _graph_writer(tags)}
                self._graph_writers[key](tf.constant(rows), tf.constant(steps))
        self.last_step = int(steps[-1])

    def _write_logs(self, step, logs):
        if not isinstance(logs, dict):
            return
        with self._writer.as_default():
            for name, value in logs.items():
                scalar = _as_scalar(value)
                if scalar is not None:
                    tf.summary.scalar(self.prefix + name, scalar, step=step)
        self.last_step = step


_EAGER_LIMIT = 256   # values per record written with eager calls


def _graph_writer(tags):
    """A tf.function writing ``rows[i, j]`` as ``tags[j]`` at ``steps[i]``, all i.
    (It captures the default writer when traced: one per writer.)"""

    @tf.function(autograph=False, reduce_retracing=True)
    def write(rows, steps):
        def body(i):
            # Reset the name scope the loop opens, or tags would read "while/...".
            with tf.compat.v1.get_default_graph().name_scope(None):
                written = [tf.summary.scalar(tag, rows[i, j], step=steps[i])
                           for j, tag in enumerate(tags)]
            with tf.control_dependencies(written):
                return i + 1

        tf.while_loop(lambda i: i < tf.shape(rows)[0], body, [tf.constant(0)])

    return write


def _as_scalar(value):
    if isinstance(value, numbers.Number):
        return float(value)
    try:
        array = np.asarray(keras.ops.convert_to_numpy(value))
    except Exception:   # noqa: BLE001 - not a number: not a scalar to plot
        return None
    if array.shape != () or not np.issubdtype(array.dtype, np.number):
        return None
    return float(array)
