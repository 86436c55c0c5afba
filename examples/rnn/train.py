"""Training colorbot: the whole training in one graph call, several ways,
against the same model trained with Keras' best settings, Keras' defaults,
and eagerly.

1. ``train_graph_model``: ``Colorbot`` is a ``kgraph.GraphModel``; compiled
   with ``steps_per_execution="fit"``, one ``fit`` call runs every epoch over a
   shuffled ``tf.data`` pipeline, with validation, as one graph call; with
   ``"epoch"``, one graph call per epoch (its validation included). Each mode
   with and without XLA (``jit_compile``).
2. ``train_seed_style``: the same training written by hand, one
   ``@kgraph.function`` holding the epoch loop, the batch loop, the gradient
   tape and the optimizer step (``make_seed_style_training``), called once.
3. Baselines, measured in the same run: ``train_keras`` with
   ``best=True`` (``compile(jit_compile=True, steps_per_execution=<steps per
   epoch>)``: the fastest Keras' own ``fit`` goes today; validation is a
   separate ``evaluate`` call after each epoch) and with Keras' defaults (one
   graph call per step, no XLA on CPU), and ``time_eager`` (the same train
   step as 2, run eagerly).

``measure_warm`` then times each way again once everything is traced and
compiled, interleaving them to share out the noise of a busy machine;
``speed_table`` and ``loss_table`` format the results.

One performance rule shapes the code (the rule kgraph's in-graph loop follows,
see kgraph/layers/in_graph.py): the per-batch train step runs as its own
nested graph function, XLA-compiled (``jit_compile=True``), called from the
loop, rather than inlined into the loop body.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import statistics
import sys
import time
from typing import Callable, List, Optional

import keras
import numpy as np
import tensorflow as tf

import kgraph

from examples.rnn import data
from examples.rnn.model import Colorbot, build_model

__all__ = [
    "Config", "Data", "Run", "load_data", "make_datasets", "predict", "loss_on",
    "tensorboard_callbacks", "train_graph_model", "make_seed_style_training",
    "train_seed_style", "train_keras", "train_keras_defaults", "time_eager", "measure_warm",
    "speed_table", "loss_table",
]


# ---------------------------------------------------------------------------
# Configuration and data

@dataclasses.dataclass
class Config:
    """Everything a run depends on (``main.py`` fills it from the command line)."""

    epochs: int = 25
    batch_size: int = 64
    hidden: int = 64
    cell: str = "gru"
    embedding_dim: int = 32
    learning_rate: float = 1e-2
    seed: int = 0
    val_fraction: float = 0.1      # of the xkcd names, for validation during training
    train_limit: Optional[int] = None   # use only this many training names (--quick)
    jit_compile: bool = True       # XLA-compile the train step of the one-call trainings
    eager_steps: int = 12          # eager baseline: steps timed
    warm_epochs: int = 4           # warm timing: epochs per timed call ...
    warm_rounds: int = 5           # ... and rounds (median taken)
    speedup_batches: int = 5       # batches kgraph.callbacks.Speedup times
    log_dir: Optional[str] = None
    verbose: int = 1


@dataclasses.dataclass
class Data:
    train: list                    # (name, (r, g, b)) pairs: xkcd minus validation
    val: list                      # xkcd names held out for validation
    heldout: list                  # all CSS4 names
    heldout_unseen: list           # the CSS4 names that are not xkcd names
    max_len: int                   # T: every name is padded to it


def load_data(cfg: Config) -> Data:
    """xkcd names split into train/validation; CSS4 names held out."""
    xkcd = data.load_colors("xkcd")
    css4 = data.load_colors("css4")
    train, val = data.train_val_split(xkcd, cfg.val_fraction, seed=cfg.seed)
    if cfg.train_limit is not None:
        order = np.random.default_rng(cfg.seed).permutation(len(train))[: cfg.train_limit]
        train = [train[i] for i in sorted(order.tolist())]
    xkcd_names = {name for name, _ in xkcd}
    unseen = [p for p in css4 if p[0] not in xkcd_names]
    max_len = max(len(name) for name, _ in xkcd + css4)
    return Data(train, val, css4, unseen, max_len)


def make_datasets(cfg: Config, d: Data):
    """A fresh ``(train, val)`` pair of ``tf.data`` pipelines.

    Each training run gets its own pair built with the same seed, so every run
    sees the same sequence of shuffled epochs.
    """
    # drop_remainder: every training batch has the same static shape, so XLA
    # compiles the train step once (the names left over change every epoch).
    train = data.make_dataset(d.train, cfg.batch_size, shuffle=True, seed=cfg.seed,
                              max_len=d.max_len, drop_remainder=True)
    val = data.make_dataset(d.val, 256, shuffle=False, max_len=d.max_len)
    return train.prefetch(2), val


def new_model(cfg: Config) -> Colorbot:
    """A built model; the same ``cfg.seed`` gives every run the same initial weights."""
    return build_model(cfg.hidden, cfg.cell, cfg.embedding_dim, seed=cfg.seed)


def new_optimizer(cfg: Config):
    return keras.optimizers.Adam(cfg.learning_rate)


# ---------------------------------------------------------------------------
# Prediction and losses

_PREDICT_FUNCTIONS = {}


def predict(model, names, max_len):
    """RGB predictions ``[N, 3]`` for ``names`` (one graph call)."""
    fn = _PREDICT_FUNCTIONS.get((id(model), max_len))
    if fn is None:
        def forward(ids, lengths):
            return model((ids, lengths))

        fn = kgraph.function(forward, input_signature=[
            tf.TensorSpec([None, max_len], tf.int32), tf.TensorSpec([None], tf.int32)])
        _PREDICT_FUNCTIONS[(id(model), max_len)] = fn
    ids, lengths = data.encode_names(list(names), max_len=max_len)
    return fn(tf.constant(ids), tf.constant(lengths)).numpy()


def loss_on(model, pairs, max_len):
    """Mean squared error over the three channels and all ``pairs``
    (as ``keras.losses.MeanSquaredError`` and ``data.mean_color_loss``)."""
    names = [name for name, _ in pairs]
    true = np.asarray([rgb for _, rgb in pairs], np.float64)
    return float(np.mean((predict(model, names, max_len).astype(np.float64) - true) ** 2))


def mean_colour_losses(d: Data):
    return {key: data.mean_color_loss(d.train, pairs) for key, pairs in _loss_sets(d).items()}


def _loss_sets(d: Data):
    return {"train": d.train, "val": d.val, "heldout": d.heldout,
            "heldout_unseen": d.heldout_unseen}


# ---------------------------------------------------------------------------
# What one way of training produced

@dataclasses.dataclass
class Run:
    """One way of training, and how fast it went."""

    name: str
    model: Optional[Colorbot]
    steps: int                     # training steps of the timed run
    seconds: float                 # its wall time (all of it: tracing, compiling, validation)
    epoch_loss: List[float] = dataclasses.field(default_factory=list)
    epoch_val_loss: List[float] = dataclasses.field(default_factory=list)
    losses: dict = dataclasses.field(default_factory=dict)   # final: train/val/heldout
    rerun: Optional[Callable[[int], int]] = None   # train k more epochs, return steps
    warm_steps_per_second: Optional[float] = None
    logging_seconds: float = 0.0   # spent in TensorBoard callbacks, not in ``seconds``

    @property
    def steps_per_second(self):
        return self.steps / self.seconds if self.seconds > 0 else float("nan")

    def evaluate(self, d: Data):
        self.losses = {key: loss_on(self.model, pairs, d.max_len)
                       for key, pairs in _loss_sets(d).items()}
        return self.losses


# ---------------------------------------------------------------------------
# TensorBoard

_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
          "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
          "on_test_batch_begin", "on_test_batch_end")


class TimedCallback(keras.callbacks.Callback):
    """Runs ``inner``'s hooks and adds up the time they take (``seconds``), so
    that the time the TensorBoard callbacks spend measuring and writing can be
    told apart from training time."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.seconds = 0.0
        for hook in _HOOKS:
            setattr(self, hook, self._timed(getattr(inner, hook)))

    def _timed(self, method):
        def hook(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
        return hook

    def set_model(self, model):
        super().set_model(model)
        self.inner.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        self.inner.set_params(params)


def tensorboard_callbacks(cfg: Config, d: Data):
    """``keras.callbacks.TensorBoard`` plus kgraph's own callbacks.

    Returns ``(callbacks, message)``: ``message`` says what is missing, if
    anything.
    """
    if not cfg.log_dir:
        return [], "no log dir: TensorBoard logging is off"
    from kgraph.callbacks import ConvertedCode, Speedup, StepScalars

    callbacks = [keras.callbacks.TensorBoard(cfg.log_dir, write_graph=False)]
    # No data= needed: ConvertedCode traces the step on the spec of fit's own
    # dataset, Speedup times steps on its first batches after training, and puts
    # the model back exactly as it was.
    callbacks += [ConvertedCode(cfg.log_dir, write_graph=True),
                  Speedup(cfg.log_dir, batches=cfg.speedup_batches,
                          repeats=1 if cfg.speedup_batches < 5 else 3, verbose=False),
                  StepScalars(cfg.log_dir)]
    return [TimedCallback(c) for c in callbacks], ""


def unwrap(callback):
    return callback.inner if isinstance(callback, TimedCallback) else callback


# ---------------------------------------------------------------------------
# 1. GraphModel.fit(steps_per_execution="fit"): the whole fit in one graph call

def _progress_every(steps_per_epoch):
    """How often the in-graph loop moves the progress bar (a host round trip):
    a few times per epoch on a terminal, once per epoch into a log."""
    return max(1, steps_per_epoch // 4) if sys.stdout.isatty() else steps_per_epoch


def _fit_in_graph(model, train_ds, epochs, val_ds, callbacks, verbose, mode="fit"):
    return model.fit(train_ds, epochs=epochs, validation_data=val_ds, callbacks=callbacks,
                     verbose=verbose, steps_per_execution=mode,
                     progress_every=_progress_every(len(train_ds)))


def graph_model_name(mode, jit_compile):
    return (f'kgraph fit(steps_per_execution="{mode}"), '
            f'{"XLA" if jit_compile else "no XLA"}')


def train_graph_model(cfg: Config, d: Data, callbacks=(), mode="fit",
                      jit_compile=None) -> Run:
    """``Colorbot.fit`` with ``steps_per_execution="fit"`` (all epochs, shuffling
    and validation in one graph call) or ``"epoch"`` (one call per epoch, its
    validation included); XLA per ``jit_compile`` (default ``cfg.jit_compile``)."""
    jit = cfg.jit_compile if jit_compile is None else jit_compile
    model = new_model(cfg)
    model.compile(optimizer=new_optimizer(cfg), loss="mse", jit_compile=jit,
                  steps_per_execution=mode)
    train_ds, val_ds = make_datasets(cfg, d)
    callbacks = list(callbacks)
    verbose = cfg.verbose if callbacks else 0
    start = time.perf_counter()
    history = _fit_in_graph(model, train_ds, cfg.epochs, val_ds, callbacks, verbose, mode)
    seconds = time.perf_counter() - start
    logging_seconds = sum(c.seconds for c in callbacks if isinstance(c, TimedCallback))

    def rerun(epochs):
        # Same model, data and settings as above: the traced, compiled loop is
        # reused (with other settings, e.g. verbose=0, GraphModel traces a new
        # one). Its progress bar is kept out of the output.
        with contextlib.redirect_stdout(io.StringIO()):
            _fit_in_graph(model, train_ds, epochs, val_ds, [], verbose, mode)
        return epochs * len(train_ds)

    run = Run(graph_model_name(mode, jit), model,
              cfg.epochs * len(train_ds), seconds - logging_seconds,
              list(history.history.get("loss", [])),
              list(history.history.get("val_loss", [])), rerun=rerun)
    run.logging_seconds = logging_seconds
    return run


# ---------------------------------------------------------------------------
# 2. The seed's style: one @kgraph.function with every loop in it

class Progress:
    """A progress bar moved from inside a graph (``tf.py_function``): a Keras
    progress bar on a terminal, else one line per epoch."""

    def __init__(self, epochs, steps_per_epoch, every, verbose=1):
        self.epochs = int(epochs)
        self.steps_per_epoch = int(steps_per_epoch)
        self.every = int(every)
        self.verbose = verbose
        self.bar = None
        self.shown = verbose > 0   # host side switch: the graph op stays, the bar goes
        self.interactive = sys.stdout.isatty()

    def update(self, step, epoch, loss):
        tf.py_function(self._host_update, [step, epoch, loss], [])

    @kgraph.do_not_convert
    def _host_update(self, step, epoch, loss):
        if not self.shown:
            return
        step, epoch, loss = int(step), int(epoch), float(loss)
        if not self.interactive:
            if step % self.steps_per_epoch == 0:
                print(f"epoch {epoch + 1}/{self.epochs}: loss {loss:.4f}", flush=True)
            return
        if self.bar is None:
            self.bar = keras.utils.Progbar(self.epochs * self.steps_per_epoch,
                                           verbose=self.verbose,
                                           stateful_metrics=["epoch", "loss"])
        self.bar.update(step, values=[("epoch", epoch + 1), ("loss", loss)])


def make_seed_style_training(model, optimizer, jit_compile=True, progress=None):
    """``(train, train_step)``: ``train(train_data, val_data, epochs)`` runs the
    whole training as one ``@kgraph.function``; ``train_step`` is the plain
    Python step it calls (the eager baseline runs it as is).

    ``train`` returns the mean training loss and the validation loss of every
    epoch (``[epochs]`` tensors).
    """
    loss_fn = keras.losses.MeanSquaredError()
    # GraphModel tells the converter about XLA from model.jit_compile (what
    # compile() sets): lists grown in the time loop then get a fixed size.
    model.jit_compile = jit_compile

    def train_step(ids, lengths, rgb):
        with tf.GradientTape() as tape:
            loss = loss_fn(rgb, model((ids, lengths), training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    def val_step(ids, lengths, rgb):
        return loss_fn(rgb, model((ids, lengths), training=False))

    # Each step is its own graph function (XLA-compiled), called from the loop.
    graph_train_step = kgraph.function(train_step, jit_compile=jit_compile)
    graph_val_step = kgraph.function(val_step, jit_compile=jit_compile)

    @kgraph.function
    def train(train_data, val_data, epochs):
        epoch_loss = []
        epoch_val_loss = []
        step = 0
        for epoch in range(epochs):
            total = 0.0
            batches = 0.0
            for (ids, lengths), rgb in train_data:        # reshuffled every epoch
                loss = graph_train_step(ids, lengths, rgb)
                total += loss
                batches += 1.0
                step += 1
                if progress is not None and step % progress.every == 0:
                    progress.update(step, epoch, total / batches)
            epoch_loss.append(total / batches)
            val_total = 0.0
            val_count = 0.0
            for (ids, lengths), rgb in val_data:
                n = tf.cast(tf.shape(ids)[0], tf.float32)
                val_total += graph_val_step(ids, lengths, rgb) * n
                val_count += n
            epoch_val_loss.append(val_total / val_count)
        return kgraph.stack(epoch_loss), kgraph.stack(epoch_val_loss)

    return train, train_step


def _write_epoch_scalars(log_dir, run, losses, val_losses):
    writer = tf.summary.create_file_writer(os.path.join(log_dir, run))
    with writer.as_default():
        for epoch, (loss, val_loss) in enumerate(zip(losses, val_losses)):
            tf.summary.scalar("epoch_loss", loss, step=epoch)
            tf.summary.scalar("epoch_val_loss", val_loss, step=epoch)
    writer.close()


def train_seed_style(cfg: Config, d: Data) -> Run:
    model = new_model(cfg)
    optimizer = new_optimizer(cfg)
    optimizer.build(model.trainable_variables)   # no variables created inside the loop
    train_ds, val_ds = make_datasets(cfg, d)
    steps = cfg.epochs * len(train_ds)
    progress = Progress(cfg.epochs, len(train_ds), _progress_every(len(train_ds)),
                        verbose=cfg.verbose)
    train, _ = make_seed_style_training(model, optimizer, cfg.jit_compile, progress)
    start = time.perf_counter()
    # epochs as a tensor: `for epoch in range(epochs)` is a graph loop, not unrolled
    losses, val_losses = train(train_ds, val_ds, tf.constant(cfg.epochs))
    losses, val_losses = losses.numpy().tolist(), val_losses.numpy().tolist()
    seconds = time.perf_counter() - start
    if cfg.log_dir:
        _write_epoch_scalars(cfg.log_dir, "seed_style", losses, val_losses)

    def rerun(epochs):
        progress.shown = False
        train(train_ds, val_ds, tf.constant(epochs))[0].numpy()
        return epochs * len(train_ds)

    return Run("seed style: one @kgraph.function call", model, steps, seconds, losses,
               val_losses, rerun=rerun)


# ---------------------------------------------------------------------------
# 3. Baselines

KERAS_DEFAULTS = "Keras fit defaults"


def keras_best_name(steps):
    return f"Keras fit(jit_compile=True, steps_per_execution={steps})"


def train_keras_defaults(cfg: Config, d: Data) -> Run:
    """The same model, ``compile()`` and ``fit()`` with Keras' defaults (one
    graph call per step; Keras turns XLA off on CPU)."""
    return train_keras(cfg, d, best=False)


def train_keras(cfg: Config, d: Data, best=True) -> Run:
    """The same model in Keras' own ``fit``: with ``best``, XLA and
    ``steps_per_execution`` = steps per epoch (one graph call per epoch, plus
    Keras' ``evaluate`` call for validation); else Keras' defaults (one graph
    call per step; Keras turns XLA off on CPU)."""
    model = new_model(cfg)
    train_ds, val_ds = make_datasets(cfg, d)
    if best:
        model.compile(optimizer=new_optimizer(cfg), loss="mse", jit_compile=True,
                      steps_per_execution=len(train_ds))
    else:
        model.compile(optimizer=new_optimizer(cfg), loss="mse")
    start = time.perf_counter()
    history = model.fit(train_ds, epochs=cfg.epochs, validation_data=val_ds, verbose=0)
    seconds = time.perf_counter() - start

    def rerun(epochs):
        model.fit(train_ds, epochs=epochs, validation_data=val_ds, verbose=0)
        return epochs * len(train_ds)

    return Run(keras_best_name(len(train_ds)) if best else KERAS_DEFAULTS, model,
               cfg.epochs * len(train_ds), seconds,
               list(history.history["loss"]), list(history.history["val_loss"]),
               rerun=rerun)


def time_eager(cfg: Config, d: Data) -> Run:
    """The seed style's train step, run eagerly (Python loops over eager
    tensors) on ``cfg.eager_steps`` batches after a warm-up step."""
    model = new_model(cfg)
    optimizer = new_optimizer(cfg)
    optimizer.build(model.trainable_variables)
    _, step = make_seed_style_training(model, optimizer, jit_compile=False)
    train_ds, _ = make_datasets(cfg, d)
    batches = iter(train_ds.repeat())

    def run(n):
        for _ in range(n):
            (ids, lengths), rgb = next(batches)
            step(ids, lengths, rgb).numpy()
        return n

    run(1)
    start = time.perf_counter()
    run(cfg.eager_steps)
    seconds = time.perf_counter() - start
    return Run("eager (the same train step)", None, cfg.eager_steps, seconds,
               rerun=run)


def measure_warm(runs, epochs, rounds, eager=None, eager_steps=0):
    """Time every run again, now traced and compiled: after two untimed epochs
    each, ``rounds`` rounds, each timing ``runs[i].rerun(epochs)`` once per
    run in rotating order (and the eager run for ``eager_steps`` steps); sets
    ``warm_steps_per_second`` to the median over the rounds. These extra
    epochs come after the models were evaluated."""
    timed = [r for r in runs if r.rerun is not None]
    jobs = [(r, epochs) for r in timed]
    if eager is not None and eager_steps > 0:
        jobs.append((eager, eager_steps))
    for run in timed:
        # Untimed: the first calls after training still pay one-time costs
        # (measured: ~0.5 s on the 2nd call of the in-graph loop, and a few
        # seconds after kgraph.callbacks.Speedup has measured).
        run.rerun(1)
        run.rerun(1)
    rates = {id(r): [] for r, _ in jobs}
    for i in range(rounds):
        order = jobs[i % len(jobs):] + jobs[: i % len(jobs)]
        for run, amount in order:
            start = time.perf_counter()
            steps = run.rerun(amount)
            rates[id(run)].append(steps / (time.perf_counter() - start))
    for run, _ in jobs:
        run.warm_steps_per_second = statistics.median(rates[id(run)])
    if eager is not None and eager.warm_steps_per_second is None:
        eager.warm_steps_per_second = eager.steps_per_second


# ---------------------------------------------------------------------------
# Tables

SPEED_COLUMNS = ("training", "steps", "first fit s", "steps/s", "warm steps/s", "vs eager",
                 "vs Keras best", "vs Keras defaults")


def speed_rows(runs, eager, keras_best, keras_defaults):
    """Per run: name, steps, the first fit's wall time (tracing, compilation
    and validation included), its steps/s, warm steps/s, and warm speed
    ratios to eager, Keras' best and Keras' defaults."""
    def ratio(warm, other):
        return warm / other.warm_steps_per_second if warm and other is not None \
            and other.warm_steps_per_second else None

    rows = []
    for run in runs:
        warm = run.warm_steps_per_second
        rows.append((run.name, run.steps, run.seconds, run.steps_per_second, warm,
                     ratio(warm, eager), ratio(warm, keras_best),
                     ratio(warm, keras_defaults)))
    return rows


def _fmt(value, kind):
    if value is None:
        return "n/a"
    if kind == "int":
        return str(int(value))
    if kind == "x":
        if value < 0.1:
            return f"{value:.3f}x"
        return f"{value:.2f}x" if value < 1 else f"{value:.1f}x"
    return f"{value:.1f}"


def _render(header, rows, markdown):
    if markdown:
        lines = ["| " + " | ".join(header) + " |",
                 "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    fmt_row = lambda r: "  ".join(  # noqa: E731
        c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([fmt_row(header), fmt_row(["-" * w for w in widths])]
                     + [fmt_row(r) for r in rows])


def speed_table(runs, eager, keras_best, keras_defaults, markdown=False):
    kinds = ("str", "int", "f", "f", "f", "x", "x", "x")
    rows = [[str(v) if k == "str" else _fmt(v, k) for v, k in zip(row, kinds)]
            for row in speed_rows(runs, eager, keras_best, keras_defaults)]
    return _render(SPEED_COLUMNS, rows, markdown)


def verdict(main_run, other_runs, keras_best):
    """Two honest lines: kgraph's modes against Keras' best, warm and first fit."""
    best = keras_best.warm_steps_per_second
    parts = []
    for run in [main_run] + list(other_runs):
        if run.warm_steps_per_second and best:
            short = run.name.replace("kgraph fit(steps_per_execution=", "").replace(")", "")
            parts.append(f"{short} {run.warm_steps_per_second / best:.2f}x")
    firsts = ", ".join(f"{r.seconds:.1f} s" for r in [main_run] + list(other_runs))
    return (f"\nkgraph vs Keras' best, warm: {'; '.join(parts)} (> 1: kgraph faster). Both run "
            f"one graph call per epoch at most and the\nsame train step; kgraph also keeps "
            f"validation and the epoch boundaries in the call, where Keras returns to Python "
            f"and\nruns evaluate(). First fit: kgraph {firsts}; Keras' best "
            f"{keras_best.seconds:.1f} s.")


LOSS_COLUMNS = ("loss (MSE)", "train", "xkcd val", "CSS4 held-out", "CSS4 not in xkcd")


def loss_table(runs, baseline, d: Data, markdown=False):
    header = list(LOSS_COLUMNS)
    header[1] += f" ({len(d.train)})"
    header[2] += f" ({len(d.val)})"
    header[3] += f" ({len(d.heldout)})"
    header[4] += f" ({len(d.heldout_unseen)})"
    keys = ("train", "val", "heldout", "heldout_unseen")
    rows = [[run.name] + [f"{run.losses[k]:.4f}" for k in keys] for run in runs if run.losses]
    rows.append(["predict the mean colour"] + [f"{baseline[k]:.4f}" for k in keys])
    return _render(header, rows, markdown)
