"""Training-loop overhead: the same small RNN trained by six loops, side by side.

    python3 -m benchmarks.training             # full run (~5 min on 2 busy cores)
    python3 -m benchmarks.training --quick     # smoke run (< 1 min)
    python3 -m benchmarks.training --markdown  # the table as Markdown

The model is colorbot-sized: ``Embedding(40, 32) -> GRU(64) -> Dense(3,
sigmoid)``, mean squared error plus an MAE metric, Adam; synthetic data made
with numpy (fixed seeds): 4096 "names" of 20 characters, each mapped to an RGB
colour, batches of 32, so an epoch is 128 steps. Every variant trains its own
copy of the model (same initial weights) on the same ``tf.data`` pipeline
(batched, cached, prefetched, not shuffled; tf.data autotuning off unless
``--autotune``, see ``make_dataset``):

1. eager: a Python loop, ``GradientTape`` + ``optimizer.apply_gradients``,
   no ``tf.function`` (only a few dozen steps per sample);
2. keras fit: ``keras.Model.fit`` with compile's defaults (``jit_compile``
   "auto" is False on a CPU-only machine), and 2x: ``jit_compile=True``;
3. keras fit spe=epoch: ``compile(steps_per_execution=steps per epoch)``, and
   3x: with ``jit_compile=True`` too, the best Keras offers today;
4. kgraph "epoch": ``kgraph.GraphModel.fit(..., steps_per_execution="epoch")``,
   and 4x: ``compile(jit_compile=True)``;
5. kgraph "fit": ``GraphModel.fit(..., steps_per_execution="fit")``, and 5x:
   ``compile(jit_compile=True)``;
6. floor: one hand-written ``tf.function`` per epoch, a ``tf.while_loop`` that
   pulls each batch with ``iterator.get_next()`` and calls the model's own
   Keras ``train_step`` as a nested ``tf.function`` (the same step the other
   variants run, so the difference is the loop machinery alone); 6x: the
   nested step with ``jit_compile=True``.

A sample is one ``fit(epochs=E)`` call (E=2 by default: two graph calls in
"epoch" mode, one in "fit" mode), or the equivalent (E epoch calls of the
floor on a fresh iterator; ``--eager-steps`` steps of the eager loop), so
fit's per-call cost is included and amortised over E epochs. With
``--validation N`` every fit also validates on N batches after each epoch
(Keras: an evaluate call per epoch; kgraph: inside the same graph call). The
first call of each variant (a fresh model: tracing, XLA compilation) is timed
on its own, reported as "first fit s", and never mixed with the steady state;
the warm-up calls are never timed otherwise; then the variants are
sampled round-robin (see common.py) and the medians reported. Afterwards:
every variant's optimizer step count must equal the steps it was asked to
run, its loss on the whole data must have fallen, the non-XLA graph variants
(2)-(6) must end with the same loss (same weights, batches and step count:
the loops did the same training), and the loops must not have retraced while
timed.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

try:
    from benchmarks import common
except ImportError:   # run as a script: python3 benchmarks/training.py
    import common

common.quiet_tensorflow()

import numpy as np
import tensorflow as tf

tf.get_logger().setLevel("ERROR")

import keras

import kgraph

# ---------------------------------------------------------------------------
# Data and model

@dataclasses.dataclass
class Config:
    samples: int = 4096
    seq_len: int = 20
    vocab: int = 40
    embed: int = 32
    units: int = 64
    batch: int = 32
    epochs: int = 2          # epochs per timed sample
    eager_steps: int = 24    # steps per timed sample of the eager loop
    seed: int = 0

    @property
    def steps(self):
        return self.samples // self.batch


def make_data(cfg):
    """Random character sequences -> a colour that depends on the characters
    (a learnable target: the mean of per-character colours, squashed)."""
    rng = np.random.default_rng(cfg.seed)
    x = rng.integers(1, cfg.vocab, size=(cfg.samples, cfg.seq_len)).astype("int32")
    char_colour = rng.normal(size=(cfg.vocab, 3)).astype("float32")
    position = np.linspace(1.5, 0.5, cfg.seq_len, dtype="float32")[:, None]
    y = 1.0 / (1.0 + np.exp(-(char_colour[x] * position).mean(axis=1) * 3.0))
    return x, y.astype("float32")


def make_dataset(cfg, x, y, autotune=False):
    """Batched, cached, prefetched; not shuffled.

    By default with tf.data's autotuning off (a fixed prefetch of 2): with it
    on, deleting an iterator sometimes blocks for 0.05-2.5 s (tf.data's
    autotune thread; see docs/benchmarks.md), a random stall that every
    variant creating iterators pays and that would swamp the loop overhead
    measured here. ``--autotune`` measures with it on.
    """
    ds = (tf.data.Dataset.from_tensor_slices((x, y))
          .batch(cfg.batch, drop_remainder=True)
          .cache())
    if autotune:
        return ds.prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(2).with_options(options)


def build_model(cfg, cls=keras.Model):
    keras.utils.set_random_seed(cfg.seed)
    inputs = keras.Input((cfg.seq_len,), dtype="int32")
    h = keras.layers.Embedding(cfg.vocab, cfg.embed)(inputs)
    h = keras.layers.GRU(cfg.units)(h)
    outputs = keras.layers.Dense(3, activation="sigmoid")(h)
    return cls(inputs, outputs)


def compiled(cfg, weights, cls=keras.Model, **compile_kwargs):
    model = build_model(cfg, cls)
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", metrics=["mae"],
                  **compile_kwargs)
    return model


# ---------------------------------------------------------------------------
# The variants: a Runner per variant, with the model it trains.

class Runner:
    """One variant: ``__call__`` runs one sample (``steps`` optimizer steps)."""

    def __init__(self, key, label, model, steps_per_call, run):
        self.key = key
        self.label = label
        self.model = model
        self.steps_per_call = steps_per_call
        self._run = run
        self.calls = 0
        self.losses = []

    def __call__(self):
        self.calls += 1
        loss = self._run()
        self.losses.append(float(loss))

    @property
    def iterations(self):
        return int(self.model.optimizer.iterations.numpy())


def fit_runner(key, label, model, cfg, ds, val_ds=None, **fit_kwargs):
    if val_ds is not None:
        fit_kwargs["validation_data"] = val_ds

    def run():
        history = model.fit(ds, epochs=cfg.epochs, verbose=0, **fit_kwargs)
        return history.history["loss"][-1]
    return Runner(key, label, model, cfg.epochs * cfg.steps, run)


def eager_runner(cfg, weights, ds):
    model = build_model(cfg)
    model.set_weights(weights)
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(model.trainable_variables)
    model.optimizer = optimizer
    loss_fn = keras.losses.MeanSquaredError()
    mae = keras.metrics.MeanAbsoluteError()
    iterator = iter(ds.repeat())

    def run():
        for _ in range(cfg.eager_steps):
            x, y = next(iterator)
            with tf.GradientTape() as tape:
                pred = model(x, training=True)
                loss = loss_fn(y, pred)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            mae.update_state(y, pred)
        return loss.numpy()

    return Runner("1", "eager loop (GradientTape)", model, cfg.eager_steps, run)


def floor_runner(key, label, cfg, weights, ds, jit_compile):
    """The overhead floor: tf.while_loop over an epoch, get_next, nested step."""
    model = compiled(cfg, weights)
    # Create every variable before tracing (as kgraph does), without training.
    model.evaluate(ds.take(1), verbose=0)     # builds the model and its metrics
    model.optimizer.build(model.trainable_variables)
    step = tf.function(model.train_step, autograph=False, jit_compile=jit_compile,
                       reduce_retracing=True)
    repeated = ds.repeat()

    @tf.function(autograph=False)
    def epoch(iterator, steps):
        def body(i, loss):
            logs = step(iterator.get_next())
            return i + 1, tf.cast(logs["loss"], tf.float32)

        _, loss = tf.while_loop(lambda i, _: i < steps, body,
                                (tf.constant(0), tf.constant(0.0)))
        return loss

    steps = tf.constant(cfg.steps)

    def run():
        iterator = iter(repeated)
        for _ in range(cfg.epochs):
            model.reset_metrics()                 # as fit does at each epoch
            loss = epoch(iterator, steps)
        return loss.numpy()

    runner = Runner(key, label, model, cfg.epochs * cfg.steps, run)
    runner.trace_count = lambda: epoch.experimental_get_tracing_count()
    return runner


def kgraph_trace_count(model):
    """Traces of GraphModel's in-graph loop (private attribute: None if absent)."""
    loop = getattr(model, "_kgraph_loop", None)
    return None if loop is None else loop[1].trace_count


def make_validation(cfg, x, y, batches):
    """The first ``batches`` batches of the data as a validation set (None: none)."""
    if not batches:
        return None
    n = batches * cfg.batch
    options = tf.data.Options()
    options.autotune.enabled = False
    return (tf.data.Dataset.from_tensor_slices((x[:n], y[:n])).batch(cfg.batch).cache()
            .prefetch(2).with_options(options))


def make_runners(cfg, xla, autotune=False, validation=0):
    x, y = make_data(cfg)
    ds = make_dataset(cfg, x, y, autotune)
    val = make_validation(cfg, x, y, validation)
    weights = build_model(cfg).get_weights()
    runners = [
        eager_runner(cfg, weights, ds),
        fit_runner("2", "keras fit (defaults)", compiled(cfg, weights), cfg, ds, val),
    ]
    if xla:
        runners.append(fit_runner("2x", "keras fit, XLA", compiled(cfg, weights, jit_compile=True),
                                  cfg, ds, val))
    runners.append(fit_runner("3", "keras fit, steps_per_execution=epoch",
                              compiled(cfg, weights, steps_per_execution=cfg.steps), cfg, ds,
                              val))
    if xla:
        runners.append(fit_runner("3x", "keras fit, spe=epoch, XLA (Keras' best)",
                                  compiled(cfg, weights, steps_per_execution=cfg.steps,
                                           jit_compile=True), cfg, ds, val))
    runners.append(fit_runner("4", 'kgraph GraphModel "epoch"',
                              compiled(cfg, weights, kgraph.GraphModel), cfg, ds, val,
                              steps_per_execution="epoch"))
    if xla:
        runners.append(fit_runner("4x", 'kgraph GraphModel "epoch", XLA',
                                  compiled(cfg, weights, kgraph.GraphModel, jit_compile=True),
                                  cfg, ds, val, steps_per_execution="epoch"))
    runners.append(fit_runner("5", 'kgraph GraphModel "fit"',
                              compiled(cfg, weights, kgraph.GraphModel), cfg, ds, val,
                              steps_per_execution="fit"))
    if xla:
        runners.append(fit_runner("5x", 'kgraph GraphModel "fit", XLA',
                                  compiled(cfg, weights, kgraph.GraphModel, jit_compile=True),
                                  cfg, ds, val, steps_per_execution="fit"))
    runners.append(floor_runner("6", "floor: tf.function + tf.while_loop", cfg, weights, ds,
                                jit_compile=False))
    if xla:
        runners.append(floor_runner("6x", "floor, XLA step", cfg, weights, ds, jit_compile=True))
    for r in runners:
        if r.key.startswith(("4", "5")):
            r.trace_count = lambda m=r.model: kgraph_trace_count(m)
    return runners


# ---------------------------------------------------------------------------
# Checks

def data_loss(model, x, y):
    """Mean squared error of ``model`` on the whole data set."""
    return float(tf.reduce_mean(tf.square(model(x) - y)))


# Non-XLA graph variants: same initial weights, same batches in the same
# order, same number of steps (checked), same ops: they end with the same
# weights, so the same loss.
SAME_WEIGHTS = ("2", "3", "4", "5", "6")


def check(runners, iterations_before, traces_after_warmup, first_loss, final_losses):
    """Every variant ran the steps it was asked for, learned, and (in-graph
    loops) did not retrace while timed. Returns a list of problems."""
    problems = []
    for r in runners:
        ran = r.iterations - iterations_before[r.key]
        expected = r.calls * r.steps_per_call
        if ran != expected:
            problems.append(f"({r.key}) ran {ran} optimizer steps, expected {expected}")
        final = final_losses[r.key]
        if not np.isfinite(final) or not final < first_loss:
            problems.append(f"({r.key}) loss did not fall: {first_loss:.4f} -> {final:.4f}")
        if r.key in SAME_WEIGHTS and SAME_WEIGHTS[0] in final_losses:
            reference = final_losses[SAME_WEIGHTS[0]]
            if not np.isclose(final, reference, rtol=1e-3, atol=0):
                problems.append(f"({r.key}) trained to loss {final:.6e}, "
                                f"({SAME_WEIGHTS[0]}) to {reference:.6e}: not the same training")
        count = getattr(r, "trace_count", None)
        before = traces_after_warmup.get(r.key)
        if count is not None and before is not None and count() != before:
            problems.append(f"({r.key}) retraced while timed: {before} -> {count()} traces")
    return problems


# ---------------------------------------------------------------------------
# Report

def report(cfg, runners, stats, first_fit=None, validation=0):
    by_key = {r.key: r for r in runners}

    def steps_per_s(key):
        return by_key[key].steps_per_call / stats[key].median

    def speedup(a, b):
        """Paired per-round speed ratio a/b (= time b / time a) with quartiles."""
        if a not in stats or b not in stats:
            return None
        sa, sb = stats[a], stats[b]
        per_round = [(by_key[a].steps_per_call / ta) / (by_key[b].steps_per_call / tb)
                     for ta, tb in zip(sa.samples, sb.samples)]
        q1, q3 = common._quartiles(per_round)
        return float(np.median(per_round)), q1, q3

    def cell(a, b):
        r = speedup(a, b)
        return "-" if r is None else common.fmt_ratio(r[0])

    first_fit = first_fit or {}
    table = common.Table(
        ["variant", "steps/s", "ms/step", "IQR", "first fit s", "vs (2)", "vs (3x)", "vs (6)",
         "vs (6x)"],
        title=(f"Training loops: Embedding({cfg.vocab}, {cfg.embed}) -> GRU({cfg.units}) -> "
               f"Dense(3); batch {cfg.batch}, length {cfg.seq_len}, {cfg.steps} steps/epoch, "
               f"{cfg.epochs} epochs per sample"
               + (f", validation on {validation} batches after each epoch" if validation
                  else ", no validation")),
        notes=[("vs (k): speed ratio to variant (k), median of the per-round ratios "
                "(> 1 = faster); (2) = Keras defaults, (3x) = Keras' best (XLA, "
                "steps_per_execution = steps per epoch); IQR: of the sample times, relative "
                "to the median; first fit s: wall time of the variant's first sample on a "
                "fresh model (tracing and XLA compilation included; the eager loop: "
                f"{cfg.eager_steps} steps).")])
    for r in runners:
        s = stats[r.key]
        first = first_fit.get(r.key)
        table.add(f"({r.key}) {r.label}", f"{steps_per_s(r.key):.0f}",
                  f"{s.median / r.steps_per_call * 1e3:.2f}", common.fmt_pct(s.rel_iqr),
                  "-" if first is None else f"{first:.2f}",
                  cell(r.key, "2"), cell(r.key, "3x"), cell(r.key, "6"), cell(r.key, "6x"))

    targets = common.Table(["target", "measured (quartiles)", "met"], align="llr",
                           title="Targets (issue 3)")

    def target(name, a, b, threshold):
        r = speedup(a, b)
        if r is None:
            return
        targets.add(name, f"{common.fmt_ratio(r[0])} ({common.fmt_ratio(r[1])}-"
                          f"{common.fmt_ratio(r[2])})", "yes" if r[0] >= threshold else "NO")

    target("(4x) >= (3x) Keras' best", "4x", "3x", 1.0)
    target("(5x) >= (3x) Keras' best", "5x", "3x", 1.0)
    target("(4) >= (3)", "4", "3", 1.0)
    target("(5) >= (3)", "5", "3", 1.0)
    target("(4) within 5% of (6)", "4", "6", 0.95)
    target("(5) within 5% of (6)", "5", "6", 0.95)
    target("(4x) within 5% of (6x)", "4x", "6x", 0.95)
    target("(4x) >= 3x (2)", "4x", "2", 3.0)
    target("(6x) >= 3x (2) (reference)", "6x", "2", 3.0)
    return table, targets


def main(argv=None):
    parser = common.add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    parser.add_argument("--units", type=int, default=None, help="GRU units (default 64)")
    parser.add_argument("--batch", type=int, default=None, help="batch size (default 32)")
    parser.add_argument("--samples", type=int, default=None, help="training samples (4096)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs per timed sample (default 2)")
    parser.add_argument("--eager-steps", type=int, default=None,
                        help="steps per sample of the eager loop (default 24)")
    parser.add_argument("--no-xla", action="store_true", help="skip the XLA variants")
    parser.add_argument("--validation", type=int, default=0, metavar="N",
                        help="validate on N batches after each epoch (default 0: none)")
    parser.add_argument("--autotune", action="store_true",
                        help="prefetch(AUTOTUNE) with tf.data autotuning on (default: off, "
                             "fixed prefetch of 2)")
    args = parser.parse_args(argv)

    cfg = Config()
    if args.quick:
        cfg = Config(samples=512, epochs=1, eager_steps=4)
    for name in ("units", "batch", "samples", "epochs", "eager_steps"):
        if getattr(args, name) is not None:
            setattr(cfg, name, getattr(args, name))
    repeats = args.repeats or (3 if args.quick else 21)

    common.print_machine_info()
    print(f"keras {keras.__version__}; mode: {'quick' if args.quick else 'full'}; "
          f"{repeats} interleaved rounds; tf.data autotune {'on' if args.autotune else 'off'}; "
          f"{cfg}")
    sys.stdout.flush()

    runners = make_runners(cfg, xla=not args.no_xla, autotune=args.autotune,
                           validation=args.validation)
    print("resolved jit_compile: " + ", ".join(
        f"({r.key}) {r.model.jit_compile}" for r in runners if r.key not in ("1", "6", "6x")))

    # Loss of the initial weights on the whole data, for the "loss fell" check.
    x, y = make_data(cfg)
    first_loss = data_loss(runners[0].model, x, y)
    iterations_before = {r.key: r.iterations for r in runners}

    # Warm-up (traces, XLA compilation): run_interleaved makes `warmup` calls,
    # then one calibration call (max_number=1), all untimed. The loops' trace
    # counts are recorded at the start of the first timed call.
    traces_after_warmup = {}
    first_fit = {}
    warmup = 1 if args.quick else 2

    variants = []
    for r in runners:
        def fn(r=r):
            if r.calls == warmup + 1 and hasattr(r, "trace_count"):
                traces_after_warmup[r.key] = r.trace_count()
            if r.calls == 0:            # the first fit of a fresh model: timed alone
                start = time.perf_counter()
                r()
                first_fit[r.key] = time.perf_counter() - start
                return
            r()
        variants.append(common.Variant(r.key, fn))

    stats = common.run_interleaved(variants, repeats=repeats, warmup=warmup,
                                   sample_seconds=0.01, max_number=1,
                                   progress=common.progress_printer("training"))

    table, targets = report(cfg, runners, stats, first_fit, args.validation)
    common.show(table, args.markdown)
    print()
    print(targets.markdown() if args.markdown else targets.text())

    final_losses = {r.key: data_loss(r.model, x, y) for r in runners}
    problems = check(runners, iterations_before, traces_after_warmup, first_loss, final_losses)
    counts = {r.key: r.trace_count() for r in runners if hasattr(r, "trace_count")}
    print("\nloop traces at the end: " + ", ".join(f"({k}) {v}" for k, v in counts.items()))
    print(f"loss on the whole data: initial {first_loss:.2e}; after training " + ", ".join(
        f"({r.key}) {final_losses[r.key]:.2e}" for r in runners))
    if problems:
        print("\nPROBLEMS:\n  " + "\n  ".join(problems))
        return 1
    print("checks: every variant ran the steps asked for, its loss fell, (2)-(6) end with "
          "the same loss, no retracing while timed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
