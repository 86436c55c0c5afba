"""``Speedup``: how much faster a training step runs as a graph, and inside an
in-graph loop, than eagerly, measured on real batches of the run.

At the end of training (everything is built, the run's own timings are
known), on the first ``batches`` batches of the fit's own training data (or
of ``data=``), the median time per training step:

* **eager**: ``model.train_step(batch)`` run eagerly (kgraph's converted code
  takes its Python paths), one call per step;
* **graph**: ``tf.function(model.train_step, autograph=False)`` (what Keras
  runs with ``steps_per_execution=1``), one graph call per step, after a
  warm-up call that traces it;
* **in-graph loop**: when this fit ran with ``steps_per_execution="epoch"``,
  from the run itself: the wall time of each epoch's graph call divided by its
  steps, median over the calls after the first (the first one traces and
  compiles), leaving out calls that also ran validation. Otherwise (Keras'
  own loop, ``"fit"`` mode whose single call includes tracing, validation in
  every call, or one epoch only) it is measured: one ``tf.function`` running
  ``tf.while_loop`` over the same batches, each step the graph step above
  nested as its own function (as kgraph's in-graph loop does), median over
  ``repeats`` calls after a warm-up call.

Times are written as scalars ``speedup/<mode>_ms_per_step`` and the ratios
as ``speedup/graph_vs_eager``, ``speedup/in_graph_vs_eager`` and
``speedup/in_graph_vs_graph`` (how many times faster), at the model's global
step (optimizer iterations), with a Markdown table as the text
``speedup/table`` and a bar chart as the image ``speedup/chart`` (log scale),
in the run ``<log_dir>/kgraph``; in-graph runs also get
``speedup/this_run_ms_per_step``, one point per epoch call after the first. The table is also printed
and kept as ``callback.results``.

Measuring does not change training: the weights, optimizer and metric
variables and the global random states are captured before and restored
after each measurement (see ``_state.TrainingState``), so the model after
``fit`` is bitwise what it would be without this callback (the measured steps
really update the variables, which are then put back). The fit's own data
is found by reading (never changing) the frames of the running ``fit``:
arrays are batched again as ``fit`` batches them, in order (no random state
touched); a ``tf.data.Dataset`` is iterated once more after training, so a
dataset that reshuffles each iteration gives a *later* ``fit`` on the same
object another order: pass ``data=`` (arrays, or another dataset) if that
matters. Generators and ``PyDataset`` cannot be read twice: pass ``data=``.
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np
import tensorflow as tf

import keras

from kgraph.callbacks import _common
from kgraph.callbacks._state import TrainingState

MODES = ("eager", "graph", "in_graph")
_LABELS = {
    "eager": "eager (train_step run eagerly)",
    "graph": "graph (one tf.function call per step)",
    "in_graph": "in-graph loop",
}


class Speedup(keras.callbacks.Callback):
    """Measures the time per training step eagerly, as a graph call, and inside
    an in-graph loop, and logs times and speedups to TensorBoard.

    Args:
        log_dir: the TensorBoard log directory.
        data: optional: the data to time steps on (a ``tf.data.Dataset`` of
            batches, or ``(x, y)`` / ``(x, y, sample_weight)`` arrays, or ``x``).
            By default, the fit's own training data: the first ``batches``
            batches of the dataset given to ``fit``, or of its arrays batched
            as ``fit`` batches them (in order).
        batch_size: batch size for array ``data`` (default: the fit's, or 32).
        batches: how many batches (the first ones) to time.
        repeats: graph steps are timed ``repeats`` times over the batches, the
            measured in-graph loop runs ``repeats`` times; eager steps once.
        run: the run (subdirectory of ``log_dir``) written to.
        verbose: print the table at the end of training.

    After training, ``results`` holds ``eager``, ``graph``, ``in_graph``
    (median seconds per step, None for a mode that could not run),
    ``in_graph_source`` (from this run, or measured), ``batches`` and
    ``step`` (the global step the scalars were written at).
    """

    def __init__(self, log_dir, data=None, batch_size=None, batches=10, repeats=3,
                 run="kgraph", verbose=True):
        super().__init__()
        if batches < 1 or repeats < 1:
            raise ValueError("batches and repeats must be at least 1")
        self.log_dir = os.fspath(log_dir)
        self.data = data
        self.batch_size = batch_size
        self.batches = int(batches)
        self.repeats = int(repeats)
        self.run_dir = os.path.join(self.log_dir, run) if run else self.log_dir
        self.verbose = verbose
        self.results = {}
        self._watcher = _common.InGraphWatcher()
        self._fit_data = None

    # -- Keras hooks -------------------------------------------------------

    def on_train_begin(self, logs=None):
        self._watcher.begin(self.model)
        self._fit_data = None if self.data is not None else _common.fit_data(self.model)
        # Hold the run's shared writer for the whole fit: one event file per
        # run directory, shared with ConvertedCode (which releases it first).
        if getattr(self, "_held", False):
            _common.release_writer(self.run_dir)
        _common.acquire_writer(self.run_dir)
        self._held = True

    def on_train_batch_begin(self, batch, logs=None):
        self._watcher.batch_begin()

    def on_train_batch_end(self, batch, logs=None):
        self._watcher.batch_end()

    def on_epoch_end(self, epoch, logs=None):
        self._watcher.epoch_end(logs)

    def on_train_end(self, logs=None):
        try:
            self.results = self.measure()
            if not self.results:
                return
            self._write(self.results)
            if self.verbose:
                print(self.table(self.results, markdown=False))
        finally:
            if getattr(self, "_held", False):
                self._held = False
                _common.release_writer(self.run_dir)

    # -- measuring ---------------------------------------------------------

    def measure(self):
        """Time the three modes; the model's state is restored afterwards."""
        model = self.model
        state = TrainingState.capture(model)
        jit = getattr(model, "jit_compile", False) is True
        try:
            batches = self._batches()
            if batches is None:
                return {}
            results = {"batches": len(batches), "step": _common.iterations(model) or 0}
            with model.distribute_strategy.scope():
                results["eager"] = self._guarded("eager", self._time_eager, batches)
                state.restore()
                graph_step = tf.function(model.train_step, autograph=False, jit_compile=jit,
                                         reduce_retracing=True)
                results["graph"] = self._guarded("graph", self._time_graph, graph_step,
                                                 batches)
                state.restore()
                from_run, calls = self._watcher.seconds_per_step()
                if from_run is not None:
                    results["in_graph"] = from_run
                    results["in_graph_source"] = (
                        f"this run: {calls} in-graph epoch call{'s' if calls > 1 else ''} "
                        f"after the first")
                else:
                    same = _common.same_shapes(batches)
                    results["in_graph"] = self._guarded("in_graph", self._time_loop,
                                                        graph_step, same)
                    results["in_graph_source"] = (
                        f"measured: tf.while_loop over {len(same)} batches, "
                        f"median of {self.repeats} calls")
        finally:
            state.restore()
        created = state.new_variables()
        if created:
            warnings.warn(f"kgraph.callbacks.Speedup: measuring created {len(created)} "
                          f"variables that did not exist after training (the model was not "
                          f"fully built); they keep the values the measurement gave them",
                          stacklevel=2)
        return results

    def _batches(self):
        if self.data is not None:
            return _common.take_batches(self.data, self.batch_size, self.batches)
        found = self._fit_data
        if found is None or not found.usable:
            warnings.warn("kgraph.callbacks.Speedup: the fit's training data is not a "
                          "tf.data.Dataset or arrays (a generator or PyDataset cannot be "
                          "read twice): pass data= to Speedup to time the steps", stacklevel=3)
            return None
        return _common.take_batches(found.source(), self.batch_size or found.batch_size,
                                    self.batches)

    def _guarded(self, mode, fn, *args):
        try:
            return fn(*args)
        except Exception as e:  # noqa: BLE001 - a mode that cannot run is reported, not fatal
            warnings.warn(f"kgraph.callbacks.Speedup: could not time the {mode} step: "
                          f"{type(e).__name__}: {e}", stacklevel=3)
            return None

    def _time_eager(self, batches):
        step = self.model.train_step
        _sync(step(batches[0]))                   # warm-up (first-call caches)
        times = []
        for batch in batches:
            start = time.perf_counter()
            _sync(step(batch))
            times.append(time.perf_counter() - start)
        return float(np.median(times))

    def _time_graph(self, graph_step, batches):
        for batch in batches:
            _sync(graph_step(batch))              # warm-up: trace (each batch shape)
        times = []
        for _ in range(self.repeats):
            for batch in batches:
                start = time.perf_counter()
                _sync(graph_step(batch))
                times.append(time.perf_counter() - start)
        return float(np.median(times))

    def _time_loop(self, graph_step, batches):
        n = len(batches)
        stacked = tf.nest.map_structure(lambda *ts: tf.stack(ts), *batches)

        def body(i, stacked):
            batch = tf.nest.map_structure(lambda s: s[i], stacked)
            logs = graph_step(batch)
            outputs = [t for t in tf.nest.flatten(logs) if isinstance(t, tf.Tensor)]
            with tf.control_dependencies(outputs):
                return i + 1, stacked

        @tf.function(autograph=False)
        def loop(stacked):
            i, _ = tf.while_loop(lambda i, _: i < n, body, (tf.constant(0), stacked))
            return i

        loop(stacked).numpy()                      # warm-up: trace
        times = []
        for _ in range(self.repeats):
            start = time.perf_counter()
            loop(stacked).numpy()
            times.append((time.perf_counter() - start) / n)
        return float(np.median(times))

    # -- reporting ---------------------------------------------------------

    @staticmethod
    def ratios(results):
        def ratio(slow, fast):
            a, b = results.get(slow), results.get(fast)
            return a / b if a and b else None

        return {"graph_vs_eager": ratio("eager", "graph"),
                "in_graph_vs_eager": ratio("eager", "in_graph"),
                "in_graph_vs_graph": ratio("graph", "in_graph")}

    def table(self, results, markdown=True):
        eager = results.get("eager")
        rows = []
        for mode in MODES:
            seconds = results.get(mode)
            label = _LABELS[mode]
            if mode == "in_graph" and results.get("in_graph_source"):
                label += f" ({results['in_graph_source']})"
            ms = "n/a" if seconds is None else f"{seconds * 1e3:.3f}"
            speed = "n/a" if not (seconds and eager) else f"{eager / seconds:.1f}x"
            rows.append((label, ms, speed))
        title = (f"kgraph Speedup: median time per training step on "
                 f"{results.get('batches', 0)} batches of the run")
        if markdown:
            lines = [f"**{title}**", "", "| mode | ms / step | vs eager |", "|---|---:|---:|"]
            lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
            return "\n".join(lines)
        width = max(len(a) for a, _, _ in rows)
        lines = [title] + [f"  {a:<{width}}  {b:>10} ms  {c:>7}" for a, b, c in rows]
        return "\n".join(lines)

    def _write(self, results):
        step = int(results.get("step", 0))
        writer = _common.acquire_writer(self.run_dir)
        try:
            with writer.as_default():
                for mode in MODES:
                    if results.get(mode) is not None:
                        tf.summary.scalar(f"speedup/{mode}_ms_per_step", results[mode] * 1e3,
                                          step=step)
                for name, value in self.ratios(results).items():
                    if value is not None:
                        tf.summary.scalar(f"speedup/{name}", value, step=step)
                tf.summary.text("speedup/table", self.table(results), step=step)
                chart = bar_chart(results)
                if chart is not None:
                    tf.summary.image("speedup/chart", chart[None], step=step)
                for epoch, ms in self._per_call_ms():
                    tf.summary.scalar("speedup/this_run_ms_per_step", ms, step=epoch)
        finally:
            _common.release_writer(self.run_dir)


    def _per_call_ms(self):
        """(epoch, ms per step) of each in-graph graph call of this run after
        the first (tracing), without validation: the run's own speed, a point
        per epoch."""
        out = []
        for i, (seconds, steps, val) in enumerate(self._watcher.executions):
            if i > 0 and not val and steps > 0:
                out.append((i + 1, seconds / steps * 1e3))
        return out


def bar_chart(results):
    """A small PNG bar chart of the three times (uint8 ``[H, W, 4]``), or None
    without matplotlib."""
    try:
        import matplotlib
        from matplotlib.figure import Figure
        from matplotlib.backends.backend_agg import FigureCanvasAgg
    except ImportError:
        return None
    del matplotlib
    modes = [m for m in MODES if results.get(m)]
    if not modes:
        return None
    eager = results.get("eager")
    labels = {"eager": "eager", "graph": "graph call\nper step", "in_graph": "in-graph\nloop"}
    values = [results[m] * 1e3 for m in modes]
    fig = Figure(figsize=(5.0, 0.6 * len(modes) + 1.3), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    colours = {"eager": "#9e9e9e", "graph": "#5c9bd5", "in_graph": "#ef7d22"}
    ax.barh(range(len(modes)), values, color=[colours[m] for m in modes], height=0.6)
    ax.set_yticks(range(len(modes)), [labels[m] for m in modes], fontsize=11)
    ax.invert_yaxis()
    # Log scale: eager steps are often 100x slower, which would hide the rest.
    ax.set_xscale("log")
    low, top = min(values), max(values)
    for i, (m, v) in enumerate(zip(modes, values)):
        number = f"{v:,.0f}" if v >= 100 else f"{v:.3g}"
        text = f"{number} ms" + (f"  {eager / results[m]:.1f}x faster" if eager and m != "eager"
                                 else "")
        ax.text(v * 1.08, i, text, va="center", fontsize=11, fontweight="bold")
    ax.set_xlim(low / 2, top * 40)
    ax.set_xlabel("ms per training step (median, log scale)", fontsize=10)
    ax.set_title(f"kgraph Speedup: {results.get('batches', 0)} batches of the run",
                 fontsize=11)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def _sync(logs):
    """Wait for a step's results (device work may be asynchronous)."""
    for value in tf.nest.flatten(logs):
        if hasattr(value, "numpy"):
            value.numpy()
