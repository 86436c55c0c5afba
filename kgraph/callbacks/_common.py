"""What the kgraph callbacks share: summary writers, the record of what a log
directory already holds, the trace recorder of a running fit, the in-graph
step records, the global step, and real batches of training data.

Nothing here reads private attributes of Keras or TensorFlow objects: the
callbacks see the model only through its public API (``model.variables``,
``model.optimizer.iterations``, ``model.train_step``...) and kgraph's own
contracts (``model.step_records`` written by the in-graph loops,
``kgraph.context.tracing``).
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import sys
import threading
import time

import numpy as np
import tensorflow as tf

import keras

from kgraph import context
from kgraph.report import Recorder

_lock = threading.RLock()


# ---------------------------------------------------------------------------
# Summary writers: one per run directory and process, shared by every kgraph
# callback writing there, open from the first on_train_begin to the last
# on_train_end (two writers on one directory would make two event files that
# TensorBoard's reader must interleave).

_writers = {}   # abspath -> [writer, users]


def acquire_writer(run_dir):
    path = os.path.abspath(run_dir)
    with _lock:
        entry = _writers.get(path)
        if entry is None or not os.path.isdir(path):   # new, or its directory was deleted
            entry = [tf.summary.create_file_writer(path), entry[1] if entry else 0]
            _writers[path] = entry
        entry[1] += 1
        return entry[0]


def release_writer(run_dir):
    path = os.path.abspath(run_dir)
    with _lock:
        entry = _writers.get(path)
        if entry is None:
            return
        entry[0].flush()
        entry[1] -= 1
        if entry[1] <= 0:
            entry[0].close()
            del _writers[path]


# ---------------------------------------------------------------------------
# What a run directory already holds (write-once entries: text tags, graphs).
# Read from the event files themselves, so that a re-run in a new process does
# not duplicate entries either; cached per directory and updated as we write.

SHA_MARK = "kgraph-source-sha1:"
_SHA_RE = re.compile(re.escape(SHA_MARK) + r"\s*([0-9a-f]+)")


class LogIndex:
    """Tags already written to one run directory: ``tag -> {content key: step}``."""

    def __init__(self, run_dir):
        self.run_dir = os.path.abspath(run_dir)
        self.files = set()
        self.entries = {}

    def refresh(self, prefixes):
        files = set(glob.glob(os.path.join(self.run_dir, "*tfevents*")))
        if not self.files <= files:           # the directory was cleared: start over
            self.files, self.entries = set(), {}
        for path in sorted(files - self.files):
            self._scan(path, prefixes)
            self.files.add(path)

    def _scan(self, path, prefixes):
        try:
            for record in tf.data.TFRecordDataset(path):
                event = tf.compat.v1.Event.FromString(record.numpy())
                if event.HasField("graph_def"):
                    self.add("__graph__", "graph_def", event.step)
                for value in event.summary.value:
                    if not value.tag.startswith(prefixes):
                        continue
                    key = value.tag
                    if value.HasField("tensor") and value.tensor.string_val:
                        text = value.tensor.string_val[0].decode("utf-8", "replace")
                        match = _SHA_RE.search(text)
                        key = match.group(1) if match else text_key(text)
                    self.add(value.tag, key, event.step)
        except (tf.errors.DataLossError, tf.errors.OutOfRangeError):
            pass  # a file still being written by someone else: keep what was read

    def add(self, tag, key, step):
        self.entries.setdefault(tag, {}).setdefault(key, int(step))

    def has(self, tag, key=None):
        versions = self.entries.get(tag)
        if not versions:
            return False
        return key is None or key in versions

    def next_step(self, tag):
        return len(self.entries.get(tag, ()))


_indexes = {}


def log_index(run_dir, prefixes=("code/", "graph/", "kgraph_internals/")):
    path = os.path.abspath(run_dir)
    with _lock:
        index = _indexes.setdefault(path, LogIndex(path))
        index.refresh(tuple(prefixes))
        return index


def forget_log_indexes():
    """Drop the in-memory cache (tests: simulate a new process)."""
    with _lock:
        _indexes.clear()


def text_key(text):
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


# ---------------------------------------------------------------------------
# The recorder of a running fit: kgraph's operators report, per statement, what
# became graph control flow while a step is traced, and which functions were
# converted. One recorder per thread while any kgraph callback's fit runs.

class _FitRecording:
    def __init__(self):
        self.recorder = None
        self._manager = None
        self.users = 0


_recording = threading.local()


def start_recording():
    """Install (or share) the recorder of the running fit; returns it."""
    state = getattr(_recording, "state", None)
    if state is None:
        state = _recording.state = _FitRecording()
    if state.users == 0:
        state.recorder = Recorder()
        state._manager = context.tracing(recorder=state.recorder)
        state._manager.__enter__()
    state.users += 1
    return state.recorder


def stop_recording():
    state = getattr(_recording, "state", None)
    if state is None or state.users == 0:
        return
    state.users -= 1
    if state.users == 0:
        state._manager.__exit__(None, None, None)
        state._manager = None


# ---------------------------------------------------------------------------
# In-graph step records and executions.

class InGraphWatcher:
    """Follows ``model.step_records`` (written by kgraph's in-graph loops:
    ``{"epoch", "names", "rows"}`` per epoch) and the graph calls of a fit.

    A fit ran in-graph exactly when records were appended during it: the
    in-graph loops start every fit with a fresh list, Keras' own loop never
    touches it (a list left by an earlier in-graph fit does not grow).
    In-graph loops call ``on_train_batch_begin``/``end`` once per graph call
    (an epoch, or the whole fit), so the time between the two, divided by the
    steps recorded in between, is the time per step inside the loop.
    """

    def __init__(self):
        self.model = None
        self._list = None
        self._seen = 0
        self.records = []         # this fit's records, in order
        self.executions = []      # [seconds, steps, ran validation] per graph call
        self._call_start = None
        self._call_total = 0

    @property
    def in_graph(self):
        return bool(self.records)

    def begin(self, model):
        self.__init__()
        self.model = model
        records = getattr(model, "step_records", None)
        if isinstance(records, list):
            self._list, self._seen = records, len(records)

    def poll(self):
        """Records appended since the last poll (in order)."""
        records = getattr(self.model, "step_records", None)
        if not isinstance(records, list):
            return []
        if records is not self._list:        # a new list: all of it is new
            self._list, self._seen = records, 0
        fresh = list(records[self._seen:])
        self._seen = len(records)
        self.records.extend(fresh)
        return fresh

    def steps(self):
        return sum(len(r["rows"]) for r in self.records)

    def batch_begin(self):
        self.poll()
        self._call_start = time.perf_counter()
        self._call_total = self.steps()

    def batch_end(self):
        if self._call_start is None:
            return
        seconds = time.perf_counter() - self._call_start
        self.poll()
        steps = self.steps() - self._call_total
        if steps > 0:
            self.executions.append([seconds, steps, False])
        self._call_start = None

    def epoch_end(self, logs):
        self.poll()
        if self.executions and any(str(k).startswith("val_") for k in (logs or {})):
            self.executions[-1][2] = True      # this graph call also ran validation

    def seconds_per_step(self):
        """Median time per step of this fit's graph calls after the first (the
        first one traces and compiles), leaving out calls that also ran
        validation: ``(seconds or None, calls used)``."""
        usable = [s / n for s, n, val in self.executions[1:] if not val and n > 0]
        if not usable:
            return None, 0
        return float(np.median(usable)), len(usable)


# ---------------------------------------------------------------------------
# Steps.

def iterations(model):
    """The optimizer's step counter (public), or None."""
    optimizer = getattr(model, "optimizer", None)
    counter = getattr(optimizer, "iterations", None)
    if counter is None:
        return None
    return int(keras.ops.convert_to_numpy(counter))


# ---------------------------------------------------------------------------
# Real batches of the training data.

def take_batches(data, batch_size=None, count=10):
    """The first ``count`` batches of ``data`` as tuples of eager tensors,
    shaped as Keras' ``train_step`` receives them.

    ``data``: a ``tf.data.Dataset`` of batches (as given to ``fit``), a tuple
    ``(x, y)`` / ``(x, y, sample_weight)`` of arrays (batched by
    ``batch_size``, default 32, in order), or an array ``x``.
    """
    if isinstance(data, tf.data.Dataset):
        ds = data
    else:
        if isinstance(data, list):
            data = tuple(data)
        if not isinstance(data, tuple):
            data = (data,)
        ds = tf.data.Dataset.from_tensor_slices(data).batch(batch_size or 32)
    batches = []
    for batch in ds.take(count):
        if not isinstance(batch, tuple):
            batch = (batch,)
        batches.append(batch)
    if not batches:
        raise ValueError("the data given to the kgraph callback has no batches")
    return batches


class FitData:
    """The training data of a running ``fit``, as its caller passed it.

    Found by ``fit_data(model)`` from inside a callback hook: the frames of
    the running ``fit`` (Keras' own, or kgraph's in-graph ``fit_in_graph``) are
    read, never written, so nothing about the fit changes. ``x`` and ``y`` are
    the training part (after ``validation_split``).
    """

    def __init__(self, x, y=None, sample_weight=None, batch_size=None):
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.batch_size = batch_size

    @property
    def is_dataset(self):
        return isinstance(self.x, tf.data.Dataset)

    @property
    def usable(self):
        """Data that can be read again without disturbing anyone: arrays
        (batched afresh, in order) or a ``tf.data.Dataset``."""
        if self.is_dataset:
            return True
        return _is_arrays(self.x)

    def source(self):
        """What ``take_batches`` accepts."""
        if self.is_dataset:
            return self.x
        x = tuple(self.x) if isinstance(self.x, list) else self.x
        parts = [p for p in (x, self.y, self.sample_weight) if p is not None]
        return tuple(parts) if len(parts) > 1 else x

    def spec(self):
        """The element spec of one training batch, without reading the
        dataset (arrays: one batch is built from the arrays)."""
        if self.is_dataset:
            spec = self.x.element_spec
            return spec if isinstance(spec, tuple) else (spec,)
        return spec_of(take_batches(self.source(), self.batch_size, 1)[0])


def _is_arrays(x):
    leaves = tf.nest.flatten(tuple(x) if isinstance(x, list) else x)
    return bool(leaves) and all(isinstance(a, (np.ndarray, tf.Tensor)) or
                                hasattr(a, "__array__") for a in leaves)


_FIT_NAMES = ("fit", "fit_in_graph")


def fit_data(model):
    """The data of ``model``'s running fit (a ``FitData``), or None.

    Reads the local variables of the innermost frame of a ``fit`` (Keras'
    ``Model.fit``) or ``fit_in_graph`` (kgraph's in-graph loops) whose model is
    ``model``: the arguments the user passed, after Keras' own
    ``validation_split``.
    """
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name in _FIT_NAMES:
            local = frame.f_locals
            owner = local.get("self", local.get("model"))
            if owner is model and "x" in local:
                return FitData(local.get("x"), local.get("y"), local.get("sample_weight"),
                               local.get("batch_size"))
        frame = frame.f_back
    return None


def same_shapes(batches):
    """The batches whose shapes and structure match the first one's."""
    first = tf.nest.map_structure(lambda t: tuple(t.shape), batches[0])
    out = []
    for b in batches:
        try:
            if tf.nest.map_structure(lambda t: tuple(t.shape), b) == first:
                out.append(b)
        except (ValueError, TypeError):
            pass
    return out


def spec_of(batch):
    return tf.nest.map_structure(tf.TensorSpec.from_tensor, batch)
