"""Never silently wrong under XLA (issue 9): kgraph's run-time checks (a name
bound only inside a loop that ran zero times, a graph list's index out of
range, pop from an empty list, list.index of a missing value, min() of an
empty sequence) raise Python's error, naming the user's line, with and
without ``jit_compile=True`` (kgraph/operators/checks.py)."""

from __future__ import annotations

import os

import pytest
import tensorflow as tf

import kgraph
from kgraph.errors import KGraphError, StagingError
from reference_helpers import T, check, location

HERE = os.path.abspath(__file__)
DTYPES = (tf.int32, tf.int64, tf.float32, tf.float64)


# ---------------------------------------------------------------------------
# The functions: each runs as Python does when its loop runs, and fails as
# Python does when it does not.

def last_doubled(n, x):
    for i in range(n):
        last = x * 2
    return last


def last_read_inside(n, x):
    for i in range(n):
        last = x + x
    y = last * 3
    return y


def last_read_in_while(n, x):
    k = 0
    while k < n:
        seen = x * 3
        k += 1
    total = 0
    for j in range(2):
        total += seen       # read inside another graph loop
    return total


def item_at(xs, k):
    out = []
    for v in xs:
        out.append(v * 2)
    return out[k]


def popped_twice(xs):
    out = []
    for v in xs:
        out.append(v)
    out.pop()
    return out.pop()


def position_of(xs, v):
    out = []
    for x in xs:
        out.append(x)
    return out.index(v)


def smallest(xs):
    return min(xs)


def _args(values, dtype):
    """Floats and lists as tensors of ``dtype`` (whole numbers, so that every
    dtype holds them), ints (counts, indices) as int32 tensors."""
    def cast(v):
        if isinstance(v, list):
            return [cast(e) for e in v]
        return int(v) if dtype.is_integer else float(v)
    return [T(cast(v), dtype) if isinstance(v, (float, list)) else T(v, tf.int32)
            for v in values]


# (function, arguments where Python returns, arguments where Python raises,
#  builtin class Python raises, the line kgraph names)
CASES = [
    (last_doubled, (3, 1.0), (0, 1.0), UnboundLocalError, "return last"),
    (last_read_inside, (2, 5.0), (0, 5.0), UnboundLocalError, "y = last * 3"),
    (last_read_in_while, (2, 5.0), (0, 5.0), UnboundLocalError, "total += seen"),
    (item_at, ([1.0, 2.0], 1), ([1.0, 2.0], 2), IndexError, "return out[k]"),
    (item_at, ([1.0, 2.0], -2), ([1.0, 2.0], -3), IndexError, "return out[k]"),
    (position_of, ([3.0, 4.0], 4.0), ([3.0, 4.0], 5.0), ValueError, "return out.index(v)"),
    (smallest, ([3.0, 1.0],), ([],), ValueError, "return min(xs)"),
]


@pytest.mark.parametrize("jit", [True, False], ids=["xla", "graph"])
@pytest.mark.parametrize("fn, good, bad, base, line", CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)])
def test_check_raises_pythons_error_at_the_users_line(fn, good, bad, base, line, jit):
    with pytest.raises(base):
        fn(*bad)            # Python's own behaviour, the reference
    f = kgraph.function(fn, jit_compile=jit)
    for dtype in (tf.float32, tf.float64) if not jit else DTYPES:
        args = [a if not isinstance(a, T) else tf.constant(a.value, a.dtype)
                for a in _args(bad, dtype)]
        if fn is smallest:
            args = [tf.zeros([0], dtype)]
        with pytest.raises(base) as info:
            f(*args)
        err = info.value
        assert isinstance(err, KGraphError), type(err)
        text = str(err)
        assert text.startswith(location(fn, line) + ":"), text
        if base is UnboundLocalError:
            assert "'last'" in text or "'seen'" in text, text
        # The same function still works afterwards (the register is reset).
        ok = [a if not isinstance(a, T) else tf.constant(a.value, a.dtype)
              for a in _args(good, dtype)]
        assert float(f(*ok)) == pytest.approx(float(fn(*good)))


def test_popping_an_empty_graph_list_is_pythons_index_error():
    with pytest.raises(IndexError, match="pop from empty list"):
        popped_twice([1])
    with pytest.raises(IndexError, match="pop from empty list") as info:
        kgraph.function(popped_twice)(tf.constant([1]))
    assert str(info.value).startswith(location(popped_twice, "return out.pop()") + ":")
    assert int(kgraph.function(popped_twice)(tf.constant([1, 2, 3]))) == 2


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("fn, good", [(c[0], c[1]) for c in CASES[:4]],
                         ids=[c[0].__name__ for c in CASES[:4]])
def test_checks_under_xla_keep_pythons_results_and_output(fn, good, dtype):
    check(fn, *_args(good, dtype), options={"jit_compile": True}, eager=False)


def test_check_in_plain_xla_function_is_refused_at_the_users_line():
    # Nobody reads an error register there: refuse rather than be silently wrong.
    f = tf.function(kgraph.to_graph(last_read_inside), jit_compile=True, autograph=False)
    with pytest.raises(StagingError, match="XLA") as info:
        f(tf.constant(2), tf.constant(1.0))
    text = str(info.value)
    assert text.startswith(location(last_read_inside, "y = last * 3") + ":"), text
    assert "'last'" in text and "hint" in text


def _always_bound(n, x):
    last = x
    for i in range(n):
        last = x + x
    return last


def test_no_check_where_python_knows_the_name_is_bound():
    # A plain tf.function under XLA: no check, so nothing to refuse.
    f = tf.function(kgraph.to_graph(_always_bound), jit_compile=True, autograph=False)
    assert float(f(tf.constant(0), tf.constant(2.0))) == 2.0


# ---------------------------------------------------------------------------
# A failing call under XLA leaves tf.Variables as before the call (kgraph/undo.py).

_count = tf.Variable(0.0)
_rows = tf.Variable([1.0, 2.0])
_scale = tf.Variable(3.0)


def _writes_around_checks(x, n):
    _count.assign_add(1.0)
    assert x > 0, "x must be positive"
    for i in range(n):
        _rows.assign(_rows + _scale)      # _scale is only read
        if x > 100.0:
            _count.assign_add(100.0)      # written in a branch inside the loop
        last = x
    _count.assign_add(last)               # a check: 'last' may be unbound
    return _count.read_value()


def _reset_state():
    _count.assign(0.0)
    _rows.assign([1.0, 2.0])
    _scale.assign(3.0)


def _state():
    return float(_count.numpy()), _rows.numpy().tolist(), float(_scale.numpy())


@pytest.mark.parametrize("bad, line, base", [
    ((-1.0, 2), "assert x > 0", AssertionError),
    ((1.0, 0), "_count.assign_add(last)", UnboundLocalError)])
def test_failing_call_under_xla_leaves_variables_as_before(bad, line, base):
    _reset_state()
    f = kgraph.function(_writes_around_checks, jit_compile=True)
    assert float(f(tf.constant(2.0), tf.constant(2))) == 3.0
    after_good = _state()
    assert after_good == (3.0, [7.0, 8.0], 3.0)
    with pytest.raises(base) as info:
        f(tf.constant(bad[0]), tf.constant(bad[1]))
    assert location(_writes_around_checks, line) in str(info.value)
    assert any("as they were before the call" in n for n in info.value.__notes__)
    assert _state() == after_good          # nothing of the failing call stayed
    assert float(f(tf.constant(2.0), tf.constant(1))) == 6.0   # and it still runs


def test_without_xla_writes_before_the_failing_line_stay_as_in_python():
    _reset_state()
    f = kgraph.function(_writes_around_checks)
    with pytest.raises(UnboundLocalError):
        f(tf.constant(1.0), tf.constant(0))
    assert _state() == (1.0, [1.0, 2.0], 3.0)


def test_only_variables_the_function_may_write_are_restored():
    from kgraph.undo import written_variables
    graph = kgraph.function(_writes_around_checks).get_concrete_function(
        tf.constant(1.0), tf.constant(2)).graph
    written = {id(v) for v in written_variables(graph)}
    assert id(_count) in written and id(_rows) in written
    assert id(_scale) not in written       # read in the loop body only


class _Lazy:
    def __init__(self):
        self.v = None

    def __call__(self, x):
        if self.v is None:
            self.v = tf.Variable(1.0)
        self.v.assign_add(x)
        assert x > 0
        return self.v.read_value()


def test_variable_created_by_the_first_call_under_xla():
    lazy = _Lazy()
    f = kgraph.function(lazy.__call__, jit_compile=True)
    assert float(f(tf.constant(2.0))) == 3.0
    with pytest.raises(AssertionError):
        f(tf.constant(-2.0))
    assert float(lazy.v.numpy()) == 3.0


# ---------------------------------------------------------------------------
# Iterators: iter(ds) / next(it) in tensor loops, for over a dataset with
# break and return, exhausted iterators, distributed datasets.

from reference_helpers import Dataset, Py  # noqa: E402


def sum_of_next(xs, n):
    it = iter(xs)
    total = 0
    for i in range(n):
        x = next(it)
        print("got", x)
        total += x
    return total


def sum_until_big(xs):
    total = 0
    for x in xs:
        if x > 3:
            break
        print("adding", x)
        total += x
    return total


def first_big(xs):
    for x in xs:
        if x > 3:
            return x
    return -1


def next_or_default(xs, n):
    it = iter(xs)
    total = 0
    for i in range(n):
        total += next(it, 100)
    return total


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("fn, extra", [
    (sum_of_next, (Py(3),)), (sum_of_next, (T(5, tf.int32),)), (sum_until_big, ()),
    (first_big, ()), (next_or_default, (T(7, tf.int32),))],
    ids=["next-python-range", "next-tensor-range", "break", "return", "default"])
def test_dataset_iterators_in_graph_loops_match_python(fn, extra, dtype):
    values = [1, 2, 3, 4, 5]
    if dtype.is_floating:
        values = [float(v) for v in values]
    check(fn, Dataset(values, dtype), *extra, eager=False)


def test_next_on_an_exhausted_dataset_iterator_is_pythons_stop_iteration():
    with pytest.raises(StopIteration):
        sum_of_next([1, 2], 3)
    f = kgraph.function(sum_of_next)
    ds = tf.data.Dataset.from_tensor_slices(tf.constant([1, 2]))
    with pytest.raises(StopIteration) as info:
        f(ds, tf.constant(3))
    assert isinstance(info.value, KGraphError)
    assert str(info.value).startswith(location(sum_of_next, "x = next(it)") + ":")
    assert int(f(ds, tf.constant(2))) == 3


@pytest.mark.slow
def test_distributed_datasets_in_graph_loops_match_python_and_cannot_hang():
    import json
    import subprocess
    import sys
    script = os.path.join(os.path.dirname(HERE), "distributed_iterators_script.py")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_NUM_INTEROP_THREADS", None)   # MirroredStrategy deadlocks on one
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(HERE)), env.get("PYTHONPATH", "")])
    # A hang (TensorFlow's multi-device iterator made inside a graph and not
    # read to its end) fails the test instead of stopping the suite.
    proc = subprocess.run([sys.executable, script], env=env, capture_output=True, text=True,
                          timeout=240)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULTS ")]
    assert lines, proc.stdout[-2000:] + proc.stderr[-4000:]
    results = json.loads(lines[0][len("RESULTS "):])
    with open(script) as f:
        source = f.read().splitlines()

    def line(text):
        return next(i + 1 for i, ln in enumerate(source) if ln.strip() == text)
    for dtype in ("float32", "float64"):
        assert results[f"total_of/{dtype}/kgraph"] == results[f"total_of/{dtype}/python"] \
            == ["ok", [45.0, 3.0]]
        for n in (2, 3):
            assert results[f"next/{n}/{dtype}/kgraph"] == results[f"next/{n}/{dtype}/python"]
        python, kg = results[f"next/5/{dtype}/python"], results[f"next/5/{dtype}/kgraph"]
        assert python[0] == kg[0] == "error" and "StopIteration" in kg[1], kg
        assert kg[2].startswith(f"{script}:{line('batch = next(it)')}:"), kg
        # An iterator made outside the function goes on across calls.
        assert results[f"next/across-calls/{dtype}"] == [["ok", 6.0], ["ok", 22.0]]
    for case, at in (("iter_inside", line("it = iter(dist)")),):
        status, classes, text = results[case]
        assert status == "error" and "NotImplementedError" in classes, results[case]
        assert "hint" in text and "hang" in text, text
        assert text.startswith(f"{script}:{at}:"), text


# ---------------------------------------------------------------------------
# A GraphModel step compiled with XLA: the step's error register carries the
# check out, and the step's state is undone (layers/_step_failures.py).

import keras  # noqa: E402
import numpy as np  # noqa: E402


class UnboundInStepModel(kgraph.GraphModel):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(1)

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        x, y = data
        for i in tf.range(tf.cast(tf.reduce_max(x) < 50.0, tf.int32)):
            scale = 1.0
        with tf.GradientTape() as tape:
            loss = self.compute_loss(x, y, self(x, training=True)) * scale
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return {"loss": loss}


@pytest.mark.slow
def test_unbound_read_in_a_graph_model_step_under_xla():
    x = np.ones((48, 3), np.float32)
    y = np.ones((48, 1), np.float32)
    x[40] = 100.0                        # batch 3 (batch size 16): the loop runs zero times
    model = UnboundInStepModel()
    model.compile("adam", "mse", jit_compile=True)
    model.build((None, 3))
    with pytest.raises(UnboundLocalError) as info:
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    text = str(info.value)
    assert "'scale'" in text
    from reference_helpers import line_of
    line = line_of(UnboundInStepModel.train_step, "loss = self.compute_loss")
    assert f"{HERE}:{line}" in text, text
    assert int(model.optimizer.iterations.numpy()) == 2     # the failing step was undone
