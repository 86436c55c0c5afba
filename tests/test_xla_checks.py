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
