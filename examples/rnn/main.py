"""colorbot: predict a colour from its name, with the whole training loop in
one graph call.

    python3 -m examples.rnn.main                       # a few minutes on 2 CPU cores
    python3 -m examples.rnn.main --predict "ocean blue" rust
    python3 -m examples.rnn.main --quick               # a tiny run (tests)
    tensorboard --logdir runs/colorbot/logs

Trains the RNN of ``model.py`` on the xkcd colour names (CSS4 names held out)
in kgraph's in-graph modes (with and without XLA), the hand-written one-call
style, Keras' best (``fit(jit_compile=True, steps_per_execution=<steps per
epoch>)``), Keras' defaults and eagerly (see ``train.py``), prints how fast
each went and how good the models are, and writes a picture of predicted
beside true colours.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

DEFAULT_OUT_DIR = os.path.join("runs", "colorbot")
SWATCH_NAMES = 24          # held-out names drawn in the picture

QUICK = dict(epochs=2, batch_size=32, hidden=32, train_limit=160, eager_steps=3,
             warm_epochs=1, warm_rounds=1, speedup_batches=2)


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="python3 -m examples.rnn.main",
        description="colorbot: an RNN reads a colour's name and predicts its RGB value; its "
                    "whole training runs in one graph call (kgraph).")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default 25)")
    p.add_argument("--batch-size", type=int, default=None, help="batch size (default 64)")
    p.add_argument("--hidden", type=int, default=None, help="RNN units (default 64)")
    p.add_argument("--cell", choices=("gru", "lstm"), default="gru", help="RNN cell")
    p.add_argument("--learning-rate", type=float, default=1e-2, help="Adam's learning rate")
    p.add_argument("--out-dir", default=DEFAULT_OUT_DIR,
                   help="where the swatch picture and results go (default %(default)s)")
    p.add_argument("--log-dir", default=None,
                   help="TensorBoard log dir (default OUT_DIR/logs/<date-time>)")
    p.add_argument("--predict", nargs="+", default=[], metavar="NAME",
                   help="colour names to predict after training (printed and drawn)")
    p.add_argument("--seed", type=int, default=0, help="seed for weights, split and shuffling")
    p.add_argument("--no-jit", dest="jit_compile", action="store_false",
                   help="do not XLA-compile the train step of the one-call trainings")
    p.add_argument("--quick", action="store_true",
                   help="a tiny run (2 epochs, small model, few names) to check that "
                        "everything works; explicit options still apply")
    args = p.parse_args(argv)
    for name in ("epochs", "batch_size", "hidden"):
        value = getattr(args, name)
        if value is not None and value < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def make_config(args):
    from examples.rnn.train import Config

    cfg = Config(cell=args.cell, seed=args.seed, learning_rate=args.learning_rate,
                 jit_compile=args.jit_compile)
    if args.quick:
        for key, value in QUICK.items():
            setattr(cfg, key, value)
    for name in ("epochs", "batch_size", "hidden"):
        if getattr(args, name) is not None:
            setattr(cfg, name, getattr(args, name))
    cfg.log_dir = args.log_dir or os.path.join(
        args.out_dir, "logs", datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    return cfg


def _hex(rgb):
    r, g, b = (int(round(float(np.clip(c, 0.0, 1.0)) * 255)) for c in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def _section(text):
    print(f"\n== {text}", flush=True)


def main(argv=None):
    args = parse_args(argv)
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")

    import tensorflow as tf  # noqa: F401  (after the log level is set)

    from examples.rnn import train as T
    from examples.rnn.plot import save_swatches

    started = time.perf_counter()
    cfg = make_config(args)
    os.makedirs(args.out_dir, exist_ok=True)
    d = T.load_data(cfg)
    steps = len(d.train) // cfg.batch_size     # full batches only (see train.make_datasets)
    if steps == 0:
        raise SystemExit(f"--batch-size {cfg.batch_size} is larger than the {len(d.train)} "
                         f"training names")
    print(f"colorbot: {len(d.train)} xkcd names to train on, {len(d.val)} for validation, "
          f"{len(d.heldout)} CSS4 names held out ({len(d.heldout_unseen)} of them not xkcd "
          f"names); names padded to {d.max_len} characters")
    print(f"model: {cfg.cell.upper()} with {cfg.hidden} units; {cfg.epochs} epochs x {steps} "
          f"steps of {cfg.batch_size} names; Adam({cfg.learning_rate:g}); "
          f"XLA train step: {cfg.jit_compile}" + ("; --quick" if args.quick else ""))

    callbacks, missing = T.tensorboard_callbacks(cfg, d)
    if missing:
        print(f"note: {missing}")

    extra = [("epoch", cfg.jit_compile)]
    if cfg.jit_compile:
        extra += [("fit", False), ("epoch", False)]
    total = 6
    _section(f'[1/{total}] {T.graph_model_name("fit", cfg.jit_compile)}: {cfg.epochs} epochs '
             f'with validation, one graph call')
    graph_run = T.train_graph_model(cfg, d, callbacks)
    graph_run.evaluate(d)
    print(f"done in {graph_run.seconds:.1f} s (tracing and XLA compilation included)"
          + (f", and {graph_run.logging_seconds:.1f} s in the TensorBoard callbacks"
             if callbacks else ""))

    _section(f"[2/{total}] the other kgraph modes: " + "; ".join(
        T.graph_model_name(mode, jit) for mode, jit in extra))
    kgraph_runs = []
    for mode, jit in extra:
        run = T.train_graph_model(cfg, d, mode=mode, jit_compile=jit)
        run.evaluate(d)
        kgraph_runs.append(run)
        print(f"{run.name}: done in {run.seconds:.1f} s")

    _section(f"[3/{total}] seed style: one @kgraph.function with the epoch loop, the batch "
             "loop, the tape and the optimizer step")
    seed_run = T.train_seed_style(cfg, d)
    seed_run.evaluate(d)
    print(f"\ndone in {seed_run.seconds:.1f} s (tracing and XLA compilation included)")

    _section(f"[4/{total}] baseline: Keras' best, fit(jit_compile=True, "
             f"steps_per_execution={steps}) ({cfg.epochs} epochs)")
    best_run = T.train_keras(cfg, d, best=True)
    best_run.evaluate(d)
    print(f"done in {best_run.seconds:.1f} s")

    _section(f"[5/{total}] baseline: Keras fit defaults ({cfg.epochs} epochs)")
    keras_run = T.train_keras_defaults(cfg, d)
    keras_run.evaluate(d)
    print(f"done in {keras_run.seconds:.1f} s")

    _section(f"[6/{total}] baseline: eager ({cfg.eager_steps} steps), then every way timed "
             f"again warm ({cfg.warm_rounds} x {cfg.warm_epochs} epoch(s) each)")
    eager_run = T.time_eager(cfg, d)
    runs = [graph_run] + kgraph_runs + [seed_run, best_run, keras_run]
    T.measure_warm(runs, cfg.warm_epochs, cfg.warm_rounds, eager=eager_run,
                   eager_steps=max(1, cfg.eager_steps // max(1, cfg.warm_rounds)))
    all_runs = runs + [eager_run]

    baseline = T.mean_colour_losses(d)
    speed = T.speed_table(all_runs, eager_run, best_run, keras_run)
    losses = T.loss_table(runs, baseline, d)
    print("\nSpeed (first fit s: the wall time of the training above, tracing, XLA compilation "
          "and validation\nincluded; steps/s: its training steps over that time; warm steps/s: "
          "timed again once compiled,\nmedian, validation included; speedups are warm)")
    print(speed)
    print(T.verdict(graph_run, kgraph_runs, best_run))
    print("\nLoss (mean squared error over R, G, B in [0, 1]; lower is better)")
    print(losses)
    heldout = graph_run.losses["heldout"]
    print(f"\nheld-out CSS4 loss {heldout:.4f} vs {baseline['heldout']:.4f} for predicting the "
          f"mean colour ({heldout / baseline['heldout']:.0%} of it)")

    speedup = next((T.unwrap(c) for c in callbacks
                    if type(T.unwrap(c)).__name__ == "Speedup"), None)
    if speedup is not None and getattr(speedup, "results", None):
        res = speedup.results
        parts = [f"{k} {res[k] * 1e3:.1f} ms" for k in ("eager", "graph", "in_graph")
                 if res.get(k)]
        print("kgraph.callbacks.Speedup (median per step on "
              f"{res.get('batches', '?')} batches): " + ", ".join(parts))

    # -- the picture -------------------------------------------------------
    rng = np.random.default_rng(cfg.seed)
    pick = sorted(rng.choice(len(d.heldout), size=min(SWATCH_NAMES, len(d.heldout)),
                             replace=False).tolist())
    names = [d.heldout[i][0] for i in pick]
    true = [d.heldout[i][1] for i in pick]
    pred = T.predict(graph_run.model, names, d.max_len)
    labels = [f"{n}  {_hex(p)}" for n, p in zip(names, pred)]
    if args.predict:
        _section("predictions")
        asked = [name.strip() for name in args.predict if name.strip()]
        too_long = [n for n in asked if len(n) > d.max_len]
        if too_long:
            print(f"note: names longer than {d.max_len} characters are cut: {too_long}")
        asked_pred = T.predict(graph_run.model, asked, d.max_len)
        for name, rgb in zip(asked, asked_pred):
            print(f"  {name!r:>24} -> {_hex(rgb)}  rgb({', '.join(f'{c:.3f}' for c in rgb)})")
        labels += [f"{n}  {_hex(p)}  (asked)" for n, p in zip(asked, asked_pred)]
        true += [None] * len(asked)
        pred = np.concatenate([pred, asked_pred])
    png = save_swatches(os.path.join(args.out_dir, "swatches.png"), labels, true, pred,
                        title=f"colorbot ({cfg.cell.upper()} {cfg.hidden}): held-out CSS4 "
                              f"names" + (" and --predict" if args.predict else ""))

    # -- results -----------------------------------------------------------
    given = sys.argv[1:] if argv is None else list(argv)
    command = " ".join(["python3 -m examples.rnn.main"] + [shlex.quote(a) for a in given])
    with open(os.path.join(args.out_dir, "results.md"), "w") as f:
        f.write(f"`{command}`\n\n{T.speed_table(all_runs, eager_run, best_run, keras_run, True)}\n\n"
                f"{T.loss_table(runs, baseline, d, True)}\n")
    results = {
        "command": command,
        "config": {k: v for k, v in vars(cfg).items()},
        "speed": [dict(zip(T.SPEED_COLUMNS, row))
                  for row in T.speed_rows(all_runs, eager_run, best_run, keras_run)],
        "losses": {run.name: run.losses for run in runs},
        "epoch_losses": {run.name: {"loss": run.epoch_loss, "val_loss": run.epoch_val_loss}
                         for run in runs},
        "mean_colour_losses": baseline,
        "total_seconds": time.perf_counter() - started,
        "png": png,
        "log_dir": cfg.log_dir,
    }
    with open(os.path.join(args.out_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=1)

    print(f"\nswatches: {png}")
    print(f"results:  {os.path.join(args.out_dir, 'results.md')} (and results.json)")
    if cfg.log_dir:
        print(f"TensorBoard logs: {cfg.log_dir}  (tensorboard --logdir "
              f"{os.path.dirname(cfg.log_dir) if args.log_dir is None else cfg.log_dir})")
    print(f"total time: {results['total_seconds']:.0f} s")
    return results


if __name__ == "__main__":
    main()
