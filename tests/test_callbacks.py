"""kgraph.callbacks: what reaches TensorBoard, read back from the event files
with TensorBoard's own reader (EventAccumulator)."""


import re

import numpy as np
import pytest
import tensorflow as tf
import keras
from tensorboard.backend.event_processing import event_accumulator as ea

import kgraph
import kgraph.callbacks as kc
from kgraph.callbacks import _common, _state
from kgraph.layers.in_graph import fit_in_graph


# ---------------------------------------------------------------------------
# A model with converted code everywhere: a GraphLayer whose call has an `if`
# on a tensor and calls a module-level helper (converted too), Dropout (a
# SeedGenerator), unseeded keras.random (Keras' global SeedGenerator), and a
# GraphModel whose custom train_step has an `if` on the loss.

def halve_if_large(h):
    if tf.reduce_mean(h) > 1.0:
        h = h * 0.5
    return h


class SignGate(kgraph.GraphLayer):
    def call(self, x, training=False):
        if tf.reduce_sum(x) > 0:
            y = halve_if_large(x)
        else:
            y = -x
        if training:
            y = y + 0.01 * keras.random.normal(tf.shape(y))
        return y


class Net(kgraph.GraphModel):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(8)
        self.gate = SignGate()
        self.drop = keras.layers.Dropout(0.25)
        self.out = keras.layers.Dense(1)

    def call(self, x, training=False):
        return self.out(self.drop(self.gate(self.hidden(x), training=training),
                                  training=training))

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            loss = self.compute_loss(x, y, self(x, training=True))
        grads = tape.gradient(loss, self.trainable_variables)
        if loss > 1e6:  # exploding: clip
            grads = [tf.clip_by_norm(g, 1.0) for g in grads]
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return self.compute_metrics(x, y, self(x), sample_weight=None)


@kgraph.function
def unrelated(n):
    while n > 1:
        n = n // 2
    return n


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x @ np.array([[1.0], [-2.0], [0.5], [1.5]], "float32")).astype("float32")


def _net(seed=1):
    keras.utils.set_random_seed(seed)
    model = Net()
    model.compile(keras.optimizers.Adam(0.01), "mse", metrics=["mae"])
    return model


def _events(run_dir):
    acc = ea.EventAccumulator(str(run_dir), size_guidance={
        ea.TENSORS: 0, ea.SCALARS: 0, ea.GRAPH: 0})
    acc.Reload()
    return acc


def _text(acc, tag, i=0):
    return tf.make_ndarray(acc.Tensors(tag)[i].tensor_proto).item().decode()


def _scalars(acc, tag):
    return [(e.step, float(tf.make_ndarray(e.tensor_proto))) for e in acc.Tensors(tag)]


# ---------------------------------------------------------------------------

def test_converted_code_text_entries_once_per_log_dir(tmp_path):
    x, y = _data()
    unrelated(tf.constant(40))          # converted in this process, not for the model
    model = _net()
    code = kc.ConvertedCode(tmp_path, write_graph=True)   # graph without data: trace
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False, callbacks=[code])
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False, callbacks=[code])
    _common.forget_log_indexes()        # as if in a new process: only the files tell
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False,
              callbacks=[kc.ConvertedCode(tmp_path)])

    acc = _events(tmp_path / "kgraph")
    tags = acc.Tags()["tensors"]
    expected = {"code/Net.train_step", "code/Net.call", "code/SignGate.call",
                "code/halve_if_large"}
    code_tags = {t for t in tags if t.startswith("code/")}
    assert expected <= code_tags, code_tags
    assert not any("unrelated" in t for t in code_tags)
    for tag in code_tags:                # no duplicates after three fits
        assert [e.step for e in acc.Tensors(tag)] == [0], tag

    gate = _text(acc, "code/SignGate.call")
    assert "if tf.reduce_sum(x) > 0:" in gate and "y = halve_if_large(x)" in gate  # user's lines
    assert "kg__.if_stmt(" in gate and "```python" in gate                        # generated
    assert "| line | statement | construct | became | why |" in gate               # explain
    assert "| `if tf.reduce_sum(x) > 0:` | if | graph |" in gate
    step = _text(acc, "code/Net.train_step")
    assert "if loss > 1e6:" in step and "kg__.if_stmt(loss > " in step
    assert "| `if loss > 1e6:  # exploding: clip` | if | graph |" in step
    assert "if tf.reduce_mean(h) > 1.0:" in _text(acc, "code/halve_if_large")

    # write_graph without data: the step's graph, traced on the fit's own data.
    graph = acc.Graph()
    names = {node.name for node in graph.node}
    assert any("if_line" in n for n in names), sorted(names)[:20]


def test_step_scalars_every_step_in_graph_and_beside_keras_tensorboard(tmp_path):
    x, y = _data()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4), SignGate(),
                              keras.layers.Dense(1)])
    model.compile("adam", "mse", metrics=["mae"])
    steps = kc.StepScalars(tmp_path)
    board = keras.callbacks.TensorBoard(tmp_path)
    speed = kc.Speedup(tmp_path, (x, y), batch_size=16, batches=4, repeats=2, verbose=False)
    rows = []
    fit_in_graph(model, "epoch", x, y, batch_size=16, epochs=3, verbose=0, shuffle=False,
                 callbacks=[steps, board, speed])
    rows += [r["rows"] for r in model.step_records]
    fit_in_graph(model, "fit", x, y, batch_size=16, epochs=2, verbose=0, shuffle=False,
                 callbacks=[steps])
    rows += [r["rows"] for r in model.step_records]
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False, callbacks=[steps])

    acc = _events(tmp_path / "train_steps")
    loss = _scalars(acc, "step_loss")
    assert [s for s, _ in loss] == list(range(1, 25))   # 5 in-graph epochs + 1 Keras epoch
    expected = np.concatenate(rows)[:, 0]               # the in-graph record, step by step
    np.testing.assert_allclose([v for _, v in loss[:20]], expected, rtol=1e-6)
    assert [s for s, _ in _scalars(acc, "step_mae")] == list(range(1, 25))

    keras_train = _events(tmp_path / "train")           # Keras' own callback still works
    assert [e.step for e in keras_train.Tensors("epoch_loss")] == [0, 1, 2]

    assert speed.results["in_graph_source"].startswith("this run: 2 in-graph epoch calls")
    speed_acc = _events(tmp_path / "kgraph")
    for tag in ("eager_ms_per_step", "graph_ms_per_step", "in_graph_ms_per_step",
                "graph_vs_eager", "in_graph_vs_eager", "in_graph_vs_graph"):
        (step, value), = _scalars(speed_acc, f"speedup/{tag}")
        assert value > 0 and np.isfinite(value), tag
        assert step == 12                               # the model's global step
    assert "in-graph loop" in _text(speed_acc, "speedup/table")


def _train(with_speedup, log_dir, mode, pass_data=True):
    x, y = _data()
    model = _net(seed=3)
    # Speedup, and the other callbacks too (ConvertedCode traces the step itself).
    # Without data=, both read the fit's own data.
    data = dict(data=(x, y), batch_size=16) if pass_data else {}
    callbacks = [kc.ConvertedCode(log_dir, write_graph=True, **data),
                 kc.StepScalars(log_dir),
                 kc.Speedup(log_dir, batches=3, repeats=1, verbose=False,
                            **data)] if with_speedup else []
    if mode == "keras":
        model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False, callbacks=callbacks)
        # A later fit trains on exactly what it would have without the callback.
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    else:
        # (One fit: each in-graph fit traces its loop anew, which takes seconds.)
        model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False, callbacks=callbacks,
                  steps_per_execution=mode)
    state = [keras.ops.convert_to_numpy(v) for v in model.variables]
    state += [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
    state += [keras.ops.convert_to_numpy(v) for v in model.metrics_variables]
    draws = (np.random.rand(), __import__("random").random(),
             keras.ops.convert_to_numpy(keras.random.normal((2,))))
    return state, draws, callbacks


@pytest.mark.parametrize("mode,pass_data", [("keras", True), ("epoch", True),
                                            ("keras", False), ("epoch", False)])
def test_callbacks_do_not_change_training(tmp_path, mode, pass_data):
    without, draws_without, _ = _train(False, tmp_path, mode)
    with_, draws_with, (_, _, speed) = _train(True, tmp_path, mode, pass_data)
    assert len(with_) == len(without)
    for a, b in zip(with_, without):
        assert a.tobytes() == b.tobytes()               # bitwise
    assert draws_with[0] == draws_without[0] and draws_with[1] == draws_without[1]
    np.testing.assert_array_equal(draws_with[2], draws_without[2])
    # ...and it did measure something: three positive times on the run's batches.
    for name in ("eager", "graph", "in_graph"):
        assert speed.results[name] > 0
    assert speed.results["batches"] == 3


def test_write_graph_with_data_and_explain_in_graph(tmp_path):
    x, y = _data()
    model = _net()
    code = kc.ConvertedCode(tmp_path, write_graph=True, data=(x, y), batch_size=16)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False, callbacks=[code],
              steps_per_execution="epoch")
    acc = _events(tmp_path / "kgraph")
    graph = acc.Graph()
    ops = {node.op for node in graph.node}
    ops |= {node.op for f in graph.library.function for node in f.node_def}
    assert ops & {"If", "StatelessIf"}, ops             # the converted `if` of the step
    tags = acc.Tags()["tensors"]
    assert not any("_train_loop" in t or "InGraphLoop" in t for t in tags), tags
    # The in-graph loop traced the step before training began; data= made the
    # callback trace it itself, so the explain table is there.
    assert "| `if loss > 1e6:  # exploding: clip` | if | graph |" in _text(acc, "code/Net.train_step")


def test_private_rng_seams_exist():
    """Speedup restores two random states that have no public accessor: fail
    loudly here when Keras or TensorFlow moves them."""
    keras.random.normal((1,))                           # creates Keras' global generator
    generator = _state._keras_global_seed_generator()
    assert isinstance(generator, keras.random.SeedGenerator)
    tf.random.set_seed(5)
    rng = _state._tf_eager_op_seed_rng()
    before = rng.getstate()
    tf.random.uniform(())                               # an unseeded eager op draws from it
    assert rng.getstate() != before


# ---------------------------------------------------------------------------
# What a user sees in TensorBoard (issue 12), read back from the event files.

def _line_of(fn, text):
    import inspect
    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, line in enumerate(lines) if text in line)


def test_speedup_and_graph_without_data_use_the_fits_batches(tmp_path):
    x, y = _data()
    model = _net()
    speed = kc.Speedup(tmp_path, batches=3, repeats=1, verbose=False)
    code = kc.ConvertedCode(tmp_path, write_graph=True)
    model.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False,
              callbacks=[code, speed], steps_per_execution="epoch")
    assert speed.results["batches"] == 3                    # 64 samples / 16, 3 taken
    for mode in ("eager", "graph", "in_graph"):
        assert speed.results[mode] > 0
    acc = _events(tmp_path / "kgraph")
    tags = acc.Tags()["tensors"]
    assert "speedup/table" in tags and "speedup/chart" in tags   # table and bar chart
    chart = acc.Tensors("speedup/chart")[0].tensor_proto.string_val
    assert chart[2].startswith(b"\x89PNG")                  # [width, height, png]
    assert int(chart[0]) > 100 and int(chart[1]) > 50
    # one point per epoch call after the first: a line, not a dot
    assert [s for s, _ in _scalars(acc, "speedup/this_run_ms_per_step")] == [2, 3]

    # The op graph is the user's step alone, scoped by the user's statements.
    graph = acc.Graph()
    names = [node.name for node in graph.node]
    functions = [f.signature.name for f in graph.library.function]
    line = _line_of(Net.train_step, "if loss > 1e6:")
    assert any(re.fullmatch(rf"if_line{line}(_\d+)?", n.split("/")[-1]) for n in names), names
    assert any(f.startswith(f"if_line{line}_true") for f in functions), functions
    gate_line = _line_of(SignGate.call, "if tf.reduce_sum(x) > 0:")
    assert any(f"if_line{gate_line}" in f for f in functions), functions
    assert not any(n.startswith("graph_") for n in names)    # no summary-writer plumbing
    assert any("gradient_tape" in n for n in names)          # the gradient step is in it
    assert any(n.startswith("adam") or "/adam/" in n.lower() for n in names)


class Counter(kgraph.GraphLayer):
    """A layer with a while loop, comments and a long, multi-line call."""

    def call(self, x):
        n = tf.constant(0)
        # count the halvings
        while tf.reduce_max(tf.abs(x)) > 1.0:  # until every value is small
            x = x * 0.5
            n += 1
        scaled = tf.clip_by_value(tf.math.multiply_no_nan(x, tf.cast(n + 1, x.dtype)),
                                  clip_value_min=tf.constant(-1000.0, dtype=x.dtype),
                                  clip_value_max=tf.constant(1000.0, dtype=x.dtype),
                                  name="scaled_by_the_number_of_halvings_plus_one")
        return scaled


def test_text_dashboard_user_code_first_readable_and_deduplicated(tmp_path):
    x, y = _data()
    model = keras.Sequential([keras.Input((4,)), Counter(), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    fit_in_graph(model, "epoch", x, y, batch_size=16, epochs=1, verbose=0, shuffle=False,
                 callbacks=[kc.ConvertedCode(tmp_path)])
    net = _net()
    net.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False,
            steps_per_execution="fit", callbacks=[kc.ConvertedCode(tmp_path / "a"),
                                                  kc.ConvertedCode(tmp_path / "b",
                                                                   include_internals=True)])
    # Default: the user's functions only; kgraph's loop only with include_internals.
    tags_a = set(_events(tmp_path / "a" / "kgraph").Tags()["tensors"])
    assert {"code/Net.train_step", "code/Net.call", "code/SignGate.call"} <= tags_a
    assert not any(t.startswith("kgraph_internals/") or "_train_loop" in t for t in tags_a)
    tags_b = set(_events(tmp_path / "b" / "kgraph").Tags()["tensors"])
    assert "kgraph_internals/_train_loop" in tags_b and "code/Net.train_step" in tags_b
    assert not any(t.startswith("code/") and "_train_loop" in t for t in tags_b)

    acc = _events(tmp_path / "kgraph")
    text = _text(acc, "code/Counter.call")
    generated = text.split("**Generated by kgraph**")[1].split("**explain**")[0]
    code = generated.split("```python\n")[1].split("\n```")[0]
    compile(code, "generated", "exec")                    # still valid Python
    assert max(len(line) for line in code.splitlines()) <= 100
    assert "# count the halvings" in code                 # the user's comments, in place
    assert "kg__.while_stmt(" in code and "# until every value is small" in code
    lines = code.splitlines()
    assert lines.index(next(l for l in lines if "# count the halvings" in l)) < \
        lines.index(next(l for l in lines if "kg__.while_stmt(" in l))
    # explain: one row per statement and outcome
    table = [l for l in text.splitlines() if l.startswith("| ") and "|---" not in l][1:]
    keys = [tuple(c.strip() for c in row.split(" | ")[:4]) for row in table]
    assert len(keys) == len(set(keys)), table
    assert any("while" in k[2] and k[3] == "graph" for k in keys), table


def test_grouped_decisions_one_row_per_statement():
    from kgraph.callbacks.converted_code import explain_markdown
    from kgraph.report import Decision
    d = [Decision(__file__, 10, "while", "graph", "condition is a symbolic tensor"),
         Decision(__file__, 10, "while", "graph", "condition is a symbolic tensor"),
         Decision(__file__, 10, "note", "note", "list 'xs' sized by the trip count"),
         Decision(__file__, 10, "note", "note", "list 'xs' sized by the trip count"),
         Decision(__file__, 10, "note", "note", "list 'ys' sized by the trip count"),
         Decision(__file__, 12, "if", "python", "condition is a Python bool")]
    rows = explain_markdown(d).splitlines()[2:]
    assert len(rows) == 3, rows
    assert "list 'xs' sized by the trip count; list 'ys' sized by the trip count" in rows[1]


def test_tensorboard_doc_runs_and_writes_every_dashboard(tmp_path):
    """docs/tensorboard.md's example runs as written (no data= anywhere)."""
    import pathlib
    import re
    doc = pathlib.Path(__file__).resolve().parent.parent / "docs" / "tensorboard.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), re.S)
    path = tmp_path / "doc_tensorboard.py"
    path.write_text("\n\n".join(blocks))
    ns = {"__name__": "doc_example"}
    exec(compile(path.read_text(), str(path), "exec"), ns)
    acc = _events(pathlib.Path(ns["logs"]) / "kgraph")
    tags = set(acc.Tags()["tensors"])
    assert {"code/Halving.train_step", "code/Halving.call", "speedup/table",
            "speedup/chart"} <= tags, tags
    functions = [f.signature.name for f in acc.Graph().library.function]
    assert any("if_line" in f for f in functions), functions


def test_second_fit_reusing_the_in_graph_loop_without_the_callbacks(tmp_path):
    """A later fit reuses the traced "fit" loop with other (no) callbacks: its
    host calls must reach that fit's callbacks, not the first fit's (closed)."""
    x, y = _data()
    model = _net()
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False,
              steps_per_execution="fit", callbacks=[kc.StepScalars(tmp_path)])
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False,
                        steps_per_execution="fit")
    assert len(history.history["loss"]) == 2
