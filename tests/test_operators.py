"""Each runtime operator on both paths: Python values, and symbolic tensors in a graph."""

import pytest
import tensorflow as tf

from kgraph import operators as kg
from kgraph import StagingError
from kgraph.operators.lists import GraphList


def ops_of(fn, *args):
    g = tf.function(fn, autograph=False).get_concrete_function(*args).graph
    return {op.type for op in g.get_operations()}


# ---------------------------------------------------------------- if / if_exp

def _abs_state(x):
    return kg.if_stmt(x > 0, lambda y: (y,), lambda y: (-y,), (x,), ("y",))


def test_if_python_path_runs_one_branch_only():
    calls = []

    def body(y):
        calls.append("body")
        return (y + 1,)

    def orelse(y):
        calls.append("orelse")
        return (y - 1,)

    assert kg.if_stmt(True, body, orelse, (1,), ("y",)) == (2,)
    assert kg.if_stmt(0, body, orelse, (1,), ("y",)) == (0,)
    assert calls == ["body", "orelse"]
    assert kg.if_stmt(False, body, None, (5,), ("y",)) == (5,)


def test_if_graph_path_builds_cond():
    f = tf.function(lambda x: _abs_state(x)[0], autograph=False)
    assert int(f(tf.constant(-3))) == 3 and int(f(tf.constant(4))) == 4
    assert {"If", "StatelessIf"} & ops_of(lambda x: _abs_state(x)[0], tf.constant(1))


def test_if_graph_python_int_and_float_branches_are_a_type_error():
    # Python would give an int on one path and a float on the other: a graph
    # value has one dtype, so this is an error (it used to be a silent float32).
    def f(x):
        return kg.if_stmt(x > 0, lambda y: (1,), lambda y: (2.5,), (0,), ("y",))[0]

    with pytest.raises(TypeError, match="'y' is a Python int in one branch"):
        tf.function(f, autograph=False)(tf.constant(1))


def test_if_graph_python_numbers_take_the_dtype_of_the_other_branch():
    def f(x):
        return kg.if_stmt(x > 0, lambda y: (1,), lambda y: (y,), (x,), ("y",))[0]

    out = tf.function(f, autograph=False)(tf.constant(-4, tf.int64))
    assert out.dtype == tf.int64 and int(out) == -4


def test_if_graph_passes_identical_python_objects_through():
    marker = object()

    def f(x):
        return kg.if_stmt(x > 0, lambda m, y: (m, y + 1), lambda m, y: (m, y - 1),
                          (marker, x), ("m", "y"))

    seen = []

    @tf.function(autograph=False)
    def g(x):
        m, y = f(x)
        seen.append(m)
        return y

    assert int(g(tf.constant(1))) == 2
    assert seen == [marker]


def test_if_graph_one_branch_definition_is_checked_at_run_time():
    # Bound on one path only: carried with a "bound" flag, read through
    # kg.bound (what generated code writes where the analysis finds the name
    # may be unbound): Python's value where it is bound, a failed check where not.
    def f(x):
        return kg.bound(kg.if_stmt(x > 0, lambda y: (1,), None, (kg.Undefined("y"),),
                                   ("y",))[0])

    g = tf.function(f, autograph=False)
    assert int(g(tf.constant(1))) == 1
    with pytest.raises(tf.errors.InvalidArgumentError, match="@y@"):
        g(tf.constant(-1))


def test_if_graph_non_scalar_condition_is_refused():
    def f(x):
        return kg.if_stmt(x > 0, lambda y: (y,), None, (x,), ("y",))[0]

    with pytest.raises(StagingError, match="not a scalar"):
        tf.function(f, autograph=False)(tf.constant([1, 2]))


def test_if_exp_both_paths():
    assert kg.if_exp(True, lambda: 1, lambda: 1 / 0) == 1
    f = tf.function(lambda x: kg.if_exp(x > 0, lambda: x, lambda: -x), autograph=False)
    assert int(f(tf.constant(-2))) == 2


# ------------------------------------------------------------------ while

def _count_to(n):
    return kg.while_stmt(lambda i, s: i < n, lambda i, s: (i + 1, s + i), (0, 0), ("i", "s"))


def test_while_python_path():
    assert _count_to(5) == (5, 10)


def test_while_graph_path():
    f = tf.function(lambda n: _count_to(n)[1], autograph=False)
    assert int(f(tf.constant(5))) == 10
    assert {"While", "StatelessWhile"} & ops_of(lambda n: _count_to(n)[1], tf.constant(1))


def test_while_switches_to_graph_when_condition_becomes_a_tensor():
    def f(x):
        # First test is a Python True; the body makes `v` a tensor.
        return kg.while_stmt(lambda v: v < 100, lambda v: (v * 2 + x,), (1,), ("v",))[0]

    assert int(tf.function(f, autograph=False)(tf.constant(1))) == 127
    assert f(1) == 127


def test_while_graph_relaxes_changing_shape():
    def f(n):
        return kg.while_stmt(lambda v, i: i < n, lambda v, i: (tf.concat([v, [1.0]], 0), i + 1),
                             (tf.zeros([1]), 0), ("v", "i"))[0]

    assert tf.function(f, autograph=False)(tf.constant(3)).shape == (4,)


def test_while_graph_refuses_dtype_change():
    def f(n):
        return kg.while_stmt(lambda v: v < 3.0, lambda v: (tf.cast(v, tf.int32),),
                             (tf.constant(0.0),), ("v",))[0]

    with pytest.raises(StagingError, match="'v' changes dtype inside the while loop"):
        tf.function(f, autograph=False)(tf.constant(3))


# -------------------------------------------------------------------- for

def _sum_body(x, s):
    return (s + x,)


def test_for_python_path_and_extra_test():
    assert kg.for_stmt([1, 2, 3], _sum_body, (0,), ("s",)) == (6,)
    assert kg.for_stmt([1, 2, 3], _sum_body, (0,), ("s",), extra_test=lambda s: s < 3) == (3,)


@pytest.mark.parametrize("make", [
    lambda n: kg.range_(n),
    lambda n: kg.range_(1, n + 1, 1),
    lambda n: tf.range(n),
])
def test_for_graph_over_ranges_and_tensors(make):
    def f(n):
        return kg.for_stmt(make(n), _sum_body, (tf.constant(0),), ("s",))[0]

    assert int(tf.function(f, autograph=False)(tf.constant(5))) in (10, 15)


def test_range_negative_step_graph_matches_python():
    def f(a, b, c):
        return kg.for_stmt(kg.range_(a, b, c), _sum_body, (0,), ("s",))[0]

    g = tf.function(f, autograph=False)
    for a, b, c in [(10, 0, -3), (0, 10, 3), (5, 5, 1), (0, 7, -1)]:
        assert int(g(tf.constant(a), tf.constant(b), tf.constant(c))) == sum(range(a, b, c))


def test_for_graph_over_dataset():
    def f(ds):
        return kg.for_stmt(ds, _sum_body, (tf.constant(0, tf.int64),), ("s",))[0]

    assert int(tf.function(f, autograph=False)(tf.data.Dataset.range(5))) == 10


def test_enumerate_and_zip_python_and_graph():
    assert list(kg.enumerate_([5, 6])) == [(0, 5), (1, 6)]
    assert list(kg.zip_([1, 2], "ab")) == [(1, "a"), (2, "b")]

    def f(x):
        def body(item, s):
            i, (a, b) = item
            return (s + i * a * b,)
        return kg.for_stmt(kg.enumerate_(kg.zip_(x, kg.range_(10))), body, (0,), ("s",))[0]

    assert int(tf.function(f, autograph=False)(tf.constant([3, 4, 5]))) == 0 + 4 * 1 + 2 * 5 * 2


def test_len_both_paths():
    assert kg.len_([1, 2]) == 2
    f = tf.function(lambda x: kg.len_(x), autograph=False)
    assert int(f(tf.zeros([4, 2]))) == 4


# ---------------------------------------------------------- and / or / not

def test_and_or_python_semantics_and_short_circuit():
    assert kg.and_(0, lambda: 1 / 0) == 0
    assert kg.or_(3, lambda: 1 / 0) == 3
    assert kg.and_(1, lambda: "x") == "x"
    assert kg.not_([]) is True


def test_and_graph_short_circuits_with_cond():
    def f(i, x):
        return kg.and_(i < tf.size(x), lambda: tf.gather(x, i) > 0)

    g = tf.function(f, autograph=False)
    assert bool(g(tf.constant(1), tf.constant([1, 2])))
    # Out of range: the gather must not run.
    assert not bool(g(tf.constant(5), tf.constant([1, 2])))


def test_not_graph():
    f = tf.function(lambda x: kg.not_(x > 0), autograph=False)
    assert bool(f(tf.constant(-1)))


# ------------------------------------------------------------- print/assert

def test_print_python_path(capsys):
    kg.print_("a", 1, sep="-", end="!\n")
    assert capsys.readouterr().out == "a-1!\n"


def test_print_graph_path_matches_python_text(capfd):
    f = tf.function(lambda x, b, y: kg.print_("v:", x, b, y, sep=" "), autograph=False)
    f(tf.constant(3), tf.constant(True), tf.constant(2.5))
    f(tf.constant(-1), tf.constant(False), tf.constant(1.0))
    assert capfd.readouterr().out == "v: 3 True 2.5\nv: -1 False 1.0\n"


@pytest.mark.parametrize("value", [
    1e6, 2.5e6, 12345678.0, 123456784.0, 12345.678, 0.1, 1.0, 0.0, -2.5, 1e-5, 1e16, 1.5e17,
    0.001, 1e-4, 123456.7, 1 / 3, 2.5e-7, 99999999.0, float("inf"), float("-inf"),
    float("nan")])
def test_float_printing_is_pythons_shortest_repr(value):
    import numpy as np
    from kgraph.operators.builtins import _format_float

    # float64: exactly Python's repr; float32: Python's layout of the shortest
    # digits that identify the float32 value (NumPy computes those digits).
    assert _format_float(tf.constant(value, tf.float64)).numpy().decode() == repr(value)
    expected32 = repr(float(np.format_float_scientific(np.float32(value), unique=True)))
    assert _format_float(tf.constant(value, tf.float32)).numpy().decode() == expected32


def test_assert_python_path():
    kg.assert_(True, lambda: "no")
    with pytest.raises(AssertionError, match="boom"):
        kg.assert_(0, lambda: "boom")


def test_assert_graph_path_raises_at_run_time():
    @tf.function(autograph=False)
    def f(x):
        with kg.assert_(x > 0, lambda: "positive please"):
            return x + 1   # gated by the assertion

    assert int(f(tf.constant(1))) == 2
    with pytest.raises(tf.errors.InvalidArgumentError, match="positive please"):
        f(tf.constant(-1))


# ------------------------------------------------------------------ lists

def test_list_append_python_mutates_in_place():
    xs = [1]
    assert kg.list_append(xs, 2) is xs and xs == [1, 2]


def test_list_append_graph_loop_becomes_tensorarray():
    def f(n):
        def body(i, xs):
            return (kg.list_append(xs, i * 2),)
        (xs,) = kg.for_stmt(kg.range_(n), body, ([],), ("xs",))
        assert isinstance(xs, GraphList)
        return xs.stack()

    assert tf.function(f, autograph=False)(tf.constant(4)).numpy().tolist() == [0, 2, 4, 6]


def test_set_element_type_declares_empty_result():
    import kgraph

    xs = kg.set_element_type([], tf.float32, [2])
    assert kgraph.stack(xs).shape == (0, 2)


def test_undefined_use_is_a_clear_error():
    with pytest.raises(StagingError, match="'q' is used before it is assigned"):
        kg.Undefined("q") + 1
