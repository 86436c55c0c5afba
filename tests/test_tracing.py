"""Trace once per body (issue 8): each body and branch is traced once per trace
of the function, plus at most one scratch trace per site whose types must be
learned. ``kgraph.testing.TraceCounter`` counts them (like Dynamo's CompileCounter).
"""

import collections

import pytest
import tensorflow as tf

import kgraph
import kgraph.testing
from reference_helpers import T, check, line_of

calls = collections.Counter()


@kgraph.do_not_convert
def tick(name):
    """A Python side effect at trace time (not converted: runs when traced)."""
    calls[name] += 1


def traced(fn, *args):
    calls.clear()
    with kgraph.testing.TraceCounter() as traces:
        out = kgraph.function(fn)(*args)
    return out, traces


# ---------------------------------------------------------------- tensors only

def tensor_loop(n):
    total = tf.constant(0, n.dtype)
    i = tf.constant(0, n.dtype)
    while i < n:
        tick("body")
        total += i
        i += 1
    return total


def test_loop_of_tensors_is_traced_once_without_scratch():
    out, traces = traced(tensor_loop, tf.constant(4, tf.int64))
    assert int(out) == 6
    line = line_of(tensor_loop, "while i < n")
    assert traces.real(line, "body") == 1 and traces.scratch(line, "body") == 0
    assert traces.real(line, "test") == 1 and traces.scratch(line, "test") == 0
    assert calls["body"] == 1          # the trace-time side effect happened once


# ------------------------------------------------------- a Python counter

def counter_loop(n):
    k = 0
    while k < n:
        tick("body")
        k += 1
    return k


@pytest.mark.parametrize("dtype", [tf.int32, tf.int64])
def test_python_counter_costs_exactly_one_scratch_trace(dtype):
    out, traces = traced(counter_loop, tf.constant(3, dtype))
    assert int(out) == 3 and out.dtype == dtype
    line = line_of(counter_loop, "while k < n")
    assert traces.real(line, "body") == 1
    assert traces.scratch(line, "body") == 1
    # Side effects at trace time run once per trace of the body: the real one
    # and the scratch one (which is counted, and reported by explain()).
    assert calls["body"] == traces.real(line, "body") + traces.scratch(line, "body")


# ----------------------------------------------------------- nested loops

def nested(n):
    total = 0
    i = 0
    while i < n:
        tick("outer")
        j = 0
        while j < i:
            tick("inner")
            total += j
            j += 1
        i += 1
    return total


@pytest.mark.parametrize("dtype", [tf.int32, tf.int64])
def test_nested_loops_trace_each_body_once_plus_one_scratch(dtype):
    out, traces = traced(nested, tf.constant(5, dtype))
    assert int(out) == 10 and out.dtype == dtype
    outer = line_of(nested, "while i < n")
    inner = line_of(nested, "while j < i")
    assert traces.real(outer, "body") == 1 and traces.scratch(outer, "body") == 1
    # The inner loop is learned inside the outer loop's scratch trace, and that
    # is remembered: the real trace of the outer body builds it right away.
    assert traces.real(inner, "body") == 1 and traces.scratch(inner, "body") == 1
    assert calls["outer"] == 2 and calls["inner"] == 2


def nested_tensors(n):
    total = tf.constant(0, n.dtype)
    i = tf.constant(0, n.dtype)
    while i < n:
        j = tf.constant(0, n.dtype)
        while j < i:
            total += j
            j += 1
        i += 1
    return total


def test_nested_tensor_loops_need_no_scratch_trace():
    out, traces = traced(nested_tensors, tf.constant(5, tf.int64))
    assert int(out) == 10
    assert traces.scratch() == 0
    for text in ("while i < n", "while j < i"):
        assert traces.real(line_of(nested_tensors, text), "body") == 1


def nested_printing(n):
    total = 0
    for i in range(n):
        for j in range(i):
            print("pair", i, j)
            total += i * j
    return total


@pytest.mark.parametrize("dtype", [tf.int32, tf.int64])
def test_prints_in_nested_loops_print_like_python(dtype):
    # The scratch traces build graphs that never run: nothing extra is printed.
    check(nested_printing, T(4, dtype))


# --------------------------------------------------------- ifs in loops

def branchy(xs):
    s = 0
    for v in xs:
        if v > 0:
            tick("true")
            s += v
        else:
            tick("false")
            s -= 1
    return s


def test_if_in_a_loop_branches_traced_once_plus_the_loop_scratch():
    out, traces = traced(branchy, tf.constant([1, -2, 3], tf.int64))
    assert int(out) == 3
    line = line_of(branchy, "if v > 0")
    for part in ("true", "false"):
        assert traces.real(line, part) == 1
        assert traces.scratch(line, part) == 1


def top_level_if(x):
    if x > 0:
        y = x * 2
    else:
        y = -x
    return y


def test_top_level_if_branches_traced_once():
    out, traces = traced(top_level_if, tf.constant(3))
    assert int(out) == 6
    line = line_of(top_level_if, "if x > 0")
    assert traces.by_site() == {
        (__file__, line, "true"): (1, 0), (__file__, line, "false"): (1, 0)}


def if_learns(x):
    if x > 0:
        y = 0
    else:
        y = x
    return y


def test_if_whose_first_branch_is_a_number_costs_at_most_one_discarded_build():
    out, traces = traced(if_learns, tf.constant(-3, tf.int64))
    assert int(out) == -3 and out.dtype == tf.int64
    line = line_of(if_learns, "if x > 0")
    assert traces.real(line, "true") == 1 and traces.real(line, "false") == 1
    assert traces.scratch(line) <= 2      # one discarded tf.cond: both branches


# ------------------------------------------------ shapes and lists learned

def grow(x, n):
    i = 0
    while i < n:
        x = tf.concat([x, x[:1]], 0)
        i += 1
    return x


def test_shape_relaxation_and_counter_learned_in_the_same_scratch_trace():
    out, traces = traced(grow, tf.constant([1.0]), tf.constant(3))
    assert out.numpy().tolist() == [1.0] * 4
    line = line_of(grow, "while i < n")
    assert traces.real(line, "body") == 1 and traces.scratch(line, "body") == 1


def appends(xs):
    out = []
    for v in xs:
        if v > 0:
            out.append(v * 2)
    return kgraph.stack(out)


def test_growing_list_costs_one_discarded_build():
    out, traces = traced(appends, tf.constant([1, -2, 3], tf.int64))
    assert out.numpy().tolist() == [2, 6]
    line = line_of(appends, "for v in xs")
    assert traces.real(line, "body") == 1 and traces.scratch(line, "body") == 1


def test_counter_is_off_outside_its_block():
    with kgraph.testing.TraceCounter() as traces:
        pass
    kgraph.function(tensor_loop)(tf.constant(2))
    assert traces.real() == 0 and traces.scratch() == 0


# ------------------------- a list only appended to: its element type guessed

def running(x, n):
    h = x * 0
    outputs = []
    for t in range(n):
        tick("body")
        h = h * 2 + x
        outputs.append(h)
    return sum(outputs), len(outputs)


@pytest.mark.parametrize("dtype", [tf.int32, tf.int64, tf.float32, tf.float64])
def test_list_appended_with_a_state_tensor_needs_no_scratch_trace(dtype):
    # The converter passes appends=(('outputs', 'h'),): the list is built as
    # a graph list of h's type right away, checked at the append.
    assert check(running, T(3, dtype), T(4, tf.int32)) == (78, 4)
    out, traces = traced(running, tf.constant(3, dtype), tf.constant(4))
    assert [int(v) for v in out] == [78, 4] and out[0].dtype == dtype
    line = line_of(running, "for t in range(n)")
    assert traces.real(line, "body") == 1 and traces.scratch(line, "body") == 0
    assert calls["body"] == 1
    report = kgraph.explain(kgraph.function(running), tf.constant(3, dtype), tf.constant(4))
    assert any("list 'outputs' enters the loop empty" in d.reason and
               "the type of 'h'" in d.reason for d in report.decisions)


def grows_appended(x, n):
    h = x
    outputs = []
    for t in range(n):
        h = tf.concat([x, x], 0) + h[0]
        outputs.append(h)
    return len(outputs), outputs[-1]


def test_wrong_element_guess_costs_one_discarded_build_like_no_guess():
    # h's shape changes: the guess (h's type on entry, shape [1]) is wrong at
    # the append (shape [2]); that build learns the list's element type and
    # h's relaxed shape at once.
    out, traces = traced(grows_appended, tf.constant([5.0]), tf.constant(3))
    assert int(out[0]) == 3 and out[1].numpy().tolist() == [20.0] * 2
    line = line_of(grows_appended, "for t in range(n)")
    assert traces.real(line, "body") == 1 and traces.scratch(line, "body") == 1
    report = kgraph.explain(kgraph.function(grows_appended), tf.constant([5.0]),
                            tf.constant(3))
    assert any("guessed for list 'outputs'" in d.reason and "did not hold" in d.reason
               for d in report.decisions)


def maybe_appends(x, n, flag):
    h = x
    outputs = []
    for t in range(n):
        h = h + 1
        if flag:
            outputs.append(h)
    return len(outputs), h


@pytest.mark.parametrize("flag", [False, True])
def test_guessed_list_that_is_not_appended_stays_a_python_list(flag):
    from reference_helpers import Py
    assert check(maybe_appends, T(1, tf.int64), T(3, tf.int32), Py(flag)) == (
        3 if flag else 0, 4)
    out, traces = traced(maybe_appends, tf.constant(1, tf.int64), tf.constant(3), flag)
    line = line_of(maybe_appends, "for t in range(n)")
    assert traces.real(line, "body") == 1
    assert traces.scratch(line, "body") == (0 if flag else 1)
    assert int(out[0]) == (3 if flag else 0) and int(out[1]) == 4
