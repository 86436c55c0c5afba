"""The colorbot example (examples/rnn): the model on its own, then a --quick
run end to end in a subprocess, checking what it prints and writes."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import glob
import json
import re
import subprocess
import sys

import matplotlib.image as mimage
import numpy as np
import pytest
import tensorflow as tf

import kgraph
from examples.rnn import data
from examples.rnn.model import Colorbot, build_model
from examples.rnn.plot import save_swatches

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KGRAPH_ROWS = ('kgraph fit(steps_per_execution="fit"), XLA',
               'kgraph fit(steps_per_execution="epoch"), XLA',
               'kgraph fit(steps_per_execution="fit"), no XLA',
               'kgraph fit(steps_per_execution="epoch"), no XLA')
SEED_ROW = "seed style: one @kgraph.function call"
KERAS_BEST_ROW = "Keras fit(jit_compile=True, steps_per_execution=5)"   # --quick: 5 steps/epoch
SPEED_ROWS = KGRAPH_ROWS + (SEED_ROW, KERAS_BEST_ROW, "Keras fit defaults",
                            "eager (the same train step)")
SPEED_COLUMNS = ["steps", "first fit s", "steps/s", "warm steps/s", "vs eager", "vs Keras best",
                 "vs Keras defaults"]

try:
    import kgraph.callbacks  # noqa: F401
    HAVE_CALLBACKS = True
except ImportError:
    HAVE_CALLBACKS = False


# --------------------------------------------------------------------------
# The model


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_model_eager_equals_graph_and_ignores_padding(cell):
    model = build_model(hidden=16, cell=cell, embedding_dim=8, seed=1)
    names = ["red", "ocean blue", "a", "light greenish blue"]
    ids, lengths = data.encode_names(names)
    eager = model((ids, lengths)).numpy()
    graph = tf.function(lambda i, n: model((i, n)), autograph=False)
    np.testing.assert_allclose(graph(ids, lengths).numpy(), eager, rtol=1e-5, atol=1e-6)
    # More padding does not change a prediction: the loop stops at each length.
    ids_long, lengths_long = data.encode_names(names, max_len=ids.shape[1] + 7)
    np.testing.assert_allclose(graph(ids_long, lengths_long).numpy(), eager, rtol=1e-5,
                               atol=1e-6)
    # Each name alone gives the same as in the batch.
    one, one_len = data.encode_names(names[1:2])
    np.testing.assert_allclose(model((one, one_len)).numpy(), eager[1:2], rtol=1e-5,
                               atol=1e-6)
    assert eager.shape == (4, 3) and ((eager > 0) & (eager < 1)).all()


def test_model_time_loop_is_one_graph_loop():
    model = build_model(hidden=8, embedding_dim=4, seed=0)
    ids, lengths = data.encode_names(["blue", "green"])
    report = kgraph.explain(Colorbot.call, model, (tf.constant(ids), tf.constant(lengths)))
    assert "for" in {d.construct for d in report.graph()}


def test_swatches_rows_without_true_colour(tmp_path):
    path = save_swatches(tmp_path / "mixed.png", ["known", "asked"], [(1, 0, 0), None],
                         [(1, 0, 0), (0, 0, 1)])
    image = mimage.imread(path)
    # the "true" column is drawn for the first row only
    h = image.shape[0]
    x_true = int(0.87 * image.shape[1])
    rows_top = h - 2 * 30
    first, second = image[rows_top + 15, x_true, :3], image[rows_top + 45, x_true, :3]
    np.testing.assert_allclose(first, [1, 0, 0], atol=0.02)
    np.testing.assert_allclose(second, [1, 1, 1], atol=0.02)


# --------------------------------------------------------------------------
# python3 -m examples.rnn.main --quick, end to end


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("colorbot")
    log_dir = out / "logs"
    cmd = [sys.executable, "-m", "examples.rnn.main", "--quick", "--out-dir", str(out),
           "--log-dir", str(log_dir), "--predict", "ocean blue", "rust"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT)
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
    return out, log_dir, proc.stdout


def _table(stdout, first_column):
    """The rows of the printed table whose header starts with ``first_column``,
    as lists of cells (cells are separated by two or more spaces)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first_column))
    header = re.split(r"\s{2,}", lines[start].strip())
    assert set(lines[start + 1].replace(" ", "")) == {"-"}
    rows = []
    for line in lines[start + 2:]:
        if not line.strip():
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return header, rows


def test_quick_run_writes_png(quick_run):
    out, _, stdout = quick_run
    png = out / "swatches.png"
    assert png.exists()
    with open(png, "rb") as f:
        assert f.read(8) == PNG_SIGNATURE
    image = mimage.imread(png)
    # 24 held-out names + 2 asked names, 30 px each, plus header and title
    assert image.shape[1] == 600 and image.shape[0] == 26 * 30 + 70
    assert f"swatches: {png}" in stdout


def test_quick_run_speed_table(quick_run):
    out, _, stdout = quick_run
    header, rows = _table(stdout, "training")
    assert header == ["training"] + SPEED_COLUMNS
    assert [r[0] for r in rows] == list(SPEED_ROWS)
    # The printed table: its shape and number formats. Not the rounded values:
    # on a busy machine a slow row's ratio (~0.03) prints as "0.0x".
    for row in rows:
        assert len(row) == len(header), row
        assert all(re.fullmatch(r"[0-9]+(\.[0-9]+)?x?", c) for c in row[1:]), row
    # The measured numbers, unrounded (results.json).
    speed = json.loads((out / "results.json").read_text())["speed"]
    assert [r["training"] for r in speed] == list(SPEED_ROWS)
    for r in speed:
        numbers = [r[c] for c in SPEED_COLUMNS]
        assert all(n is not None and n > 0 and np.isfinite(n) for n in numbers), r
    by_name = {r["training"]: r for r in speed}
    assert by_name[SPEED_ROWS[-1]]["vs eager"] == pytest.approx(1.0)       # eager vs itself
    assert by_name[KERAS_BEST_ROW]["vs Keras best"] == pytest.approx(1.0)  # Keras' best vs itself
    assert by_name["Keras fit defaults"]["vs Keras defaults"] == pytest.approx(1.0)


def test_quick_run_losses_and_baseline(quick_run):
    out, _, stdout = quick_run
    header, rows = _table(stdout, "loss (MSE)")
    assert [c.split(" (")[0] for c in header] == ["loss", "train", "xkcd val", "CSS4 held-out",
                                                   "CSS4 not in xkcd"]
    assert [r[0] for r in rows] == list(SPEED_ROWS[:-1]) + ["predict the mean colour"]
    for row in rows:
        assert all(0 < float(c) < 1 for c in row[1:]), row
    m = re.search(r"held-out CSS4 loss ([0-9.]+) vs ([0-9.]+) for predicting the mean colour",
                  stdout)
    assert m, stdout[-2000:]
    results = json.loads((out / "results.json").read_text())
    assert float(m.group(1)) == pytest.approx(
        results["losses"][SPEED_ROWS[0]]["heldout"], abs=1e-4)
    assert float(m.group(2)) == pytest.approx(results["mean_colour_losses"]["heldout"], abs=1e-4)
    # the one-call trainings are the same training (same data, initial weights and
    # epochs; the shuffled orders may differ): close losses
    a, b = (results["losses"][name] for name in (KGRAPH_ROWS[0], SEED_ROW))
    assert a["train"] == pytest.approx(b["train"], rel=0.1)
    # kgraph's four in-graph trainings (fit/epoch, XLA or not) are one training:
    # same data order, initial weights and steps
    for name in KGRAPH_ROWS[1:]:
        assert results["losses"][name]["train"] == pytest.approx(a["train"], rel=1e-3), name
    markdown = (out / "results.md").read_text()
    assert markdown.startswith("`python3 -m examples.rnn.main --quick")
    assert sum(line.startswith("|---") for line in markdown.splitlines()) == 2   # two tables


def test_quick_run_predictions(quick_run):
    _, _, stdout = quick_run
    for name in ("ocean blue", "rust"):
        assert re.search(rf"'{name}' -> #[0-9a-f]{{6}}  rgb\(", stdout), stdout[-2000:]


def test_quick_run_event_files(quick_run):
    _, log_dir, stdout = quick_run
    assert f"TensorBoard logs: {log_dir}" in stdout
    runs = {os.path.relpath(os.path.dirname(p), log_dir)
            for p in glob.glob(str(log_dir / "**" / "events.out.tfevents.*"), recursive=True)}
    assert {"train", "validation", "seed_style"} <= runs, runs
    # the seed style's per-epoch losses: one point per epoch
    steps = []
    for path in glob.glob(str(log_dir / "seed_style" / "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag == "epoch_loss":
                    steps.append(event.step)
    assert sorted(steps) == [0, 1]
    if not HAVE_CALLBACKS:
        pytest.skip("kgraph.callbacks not available: only Keras' TensorBoard logs checked")
    assert "kgraph" in runs, runs
    tags, graphs = set(), []
    files = glob.glob(str(log_dir / "kgraph" / "events.out.tfevents.*"))
    for path in files:
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
            if event.HasField("graph_def"):
                graphs.append(tf.compat.v1.GraphDef.FromString(event.graph_def))
    assert len(files) == 1, files                  # one writer per run directory
    # The user's code, not kgraph's loop; the cell and the model's call.
    assert {"code/Colorbot.call", "code/ColorCell.call"} <= tags, tags
    assert not any("_train_loop" in t or t.startswith("kgraph_internals/") for t in tags)
    # Speedup (no data= in the example) as a table and a bar chart.
    assert {"speedup/table", "speedup/chart"} <= tags, tags
    # One op graph: the train step, its time loop named after the user's `for`.
    assert len(graphs) == 1
    import inspect
    lines, first = inspect.getsourcelines(Colorbot.call)
    for_line = first + next(i for i, l in enumerate(lines) if l.strip().startswith("for t in"))
    functions = [f.signature.name for f in graphs[0].library.function]
    # (a retried build leaves the name taken: TensorFlow adds _1, _2)
    assert any(re.search(rf"for_line{for_line}(_\d+)?_body", f) for f in functions), functions
    names = [n.name for n in graphs[0].node]
    assert any("gradient_tape" in n for n in names) and not any(
        n.startswith("graph_") for n in names)
