"""The value model of graph control flow (issue 8): Python numbers are *weak*.

A Python number that becomes graph state (a counter, a sum, a return value)
has no dtype of its own until it meets a tensor; it then takes that tensor's
dtype, on int32, int64, float32 and float64 alike. Only real Python type
differences (an int in one branch and a float in the other of a tensor
``if``) are errors, at the user's line.
"""

import pytest
import tensorflow as tf

import kgraph
from reference_helpers import Py, T, check, line_of, location

DTYPES = [tf.int32, tf.int64, tf.float32, tf.float64]
INTS = [tf.int32, tf.int64]


def num(v, dtype):
    """``v`` as a Python value of the kind ``dtype`` holds, wrapped for check()."""
    dtype = tf.as_dtype(dtype)
    if isinstance(v, list):
        return T([float(x) if dtype.is_floating else int(x) for x in v], dtype)
    return T(float(v) if dtype.is_floating else int(v), dtype)


def ids(dtypes):
    return [tf.as_dtype(d).name for d in dtypes]


# ------------------------------------------------------ the example

def count(a):
    k = 0
    while k < a % 4:
        k += 1
    return k


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
@pytest.mark.parametrize("a", [7, 4, 0])
def test_counter_takes_the_dtype_it_is_compared_with(dtype, a):
    check(count, num(a, dtype))


def count_printed(a):
    k = 0
    while k < a % 4:
        print("k is", k)
        k += 1
    return k


@pytest.mark.parametrize("dtype", INTS, ids=ids(INTS))
def test_counter_prints_like_python(dtype):
    check(count_printed, num(7, dtype))


def test_counter_is_carried_as_the_tensor_dtype():
    out = kgraph.function(count)(tf.constant(7, tf.int64))
    assert out.dtype == tf.int64 and int(out) == 3


# ------------------------------------------------------------ float totals

def total_of(xs):
    total = 0.0
    for v in xs:
        total += v
    return total


def mean_of(xs):
    total = 0.0
    n = 0
    for v in xs:
        total += v
        n += 1
    return total / n


FLOATS = [tf.float32, tf.float64]


@pytest.mark.parametrize("dtype", FLOATS, ids=ids(FLOATS))
def test_float_total_takes_the_dtype_of_the_values(dtype):
    check(total_of, num([0.5, 1.25, 3.0], dtype))


@pytest.mark.parametrize("dtype", FLOATS, ids=ids(FLOATS))
def test_counter_meeting_a_tensor_only_after_the_loop(dtype):
    # n meets no tensor in the loop: it leaves it a weak int, which takes
    # total's dtype in ``total / n``.
    check(mean_of, num([0.5, 1.25, 3.0, 2.0], dtype))


def int_mean_of(xs):
    total = 0
    n = 0
    for v in xs:
        total += v
        n += 1
    return total / n, total // n, n


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
def test_int_counter_meeting_sums_of_every_dtype_after_the_loop(dtype):
    check(int_mean_of, num([3, 1, 4, 2], dtype))


def test_float64_total_keeps_float64_precision():
    out = kgraph.function(total_of)(tf.constant([0.1] * 10, tf.float64))
    assert out.dtype == tf.float64
    assert float(out) == sum([0.1] * 10)


def int_total(xs):
    total = 0
    for v in xs:
        total += v
    return total


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
def test_int_total_takes_the_dtype_of_the_values(dtype):
    check(int_total, num([3, 1, 4, 1, 5], dtype))


# ------------------------------------------------- counters vs int64 sizes

def count_below(xs, limit):
    n = 0
    i = 0
    while i < tf.size(xs, out_type=tf.int64):
        if xs[i] < limit:
            n += 1
        i += 1
    return n


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
def test_counters_compared_with_int64_sizes(dtype):
    check(count_below, num([5, 1, 4, 2, 8], dtype), num(4, dtype))


def steps_until(limit, x):
    steps = 0
    acc = x
    while acc < limit:
        acc = acc * 2
        steps = steps + 1
    return steps, acc


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
def test_counter_and_tensor_state_together(dtype):
    check(steps_until, num(100, dtype), num(3, dtype))


# ------------------------------------------------ loop bounds from tensors

def scaled_range(n, x):
    s = 0
    for i in range(n):
        s += x
    return s


def range_sum(n):
    s = 0
    for i in range(n):
        s += i
    return s


@pytest.mark.parametrize("bound", INTS, ids=ids(INTS))
@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
def test_loop_bound_from_an_integer_tensor(bound, dtype):
    check(scaled_range, num(4, bound), num(3, dtype))


@pytest.mark.parametrize("bound", INTS, ids=ids(INTS))
@pytest.mark.parametrize("n", [0, 1, 5])
def test_range_of_int64_tensor_sums_its_index(bound, n):
    check(range_sum, num(n, bound))


def test_range_index_has_the_bound_dtype():
    out = kgraph.function(range_sum)(tf.constant(5, tf.int64))
    assert out.dtype == tf.int64 and int(out) == 10


# --------------------------------------- a Python int through if and for

def through_if_and_for(x, n):
    k = 0
    if x > 0:
        k = x
    for i in range(n):
        k += 1
    return k


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
@pytest.mark.parametrize("x", [5, -5])
def test_python_int_through_tensor_if_and_tensor_for(dtype, x):
    check(through_if_and_for, num(x, dtype), num(3, tf.int32))


def flag_count(x):
    k = 0
    if x > 0:
        k += 1
    return k + x


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
@pytest.mark.parametrize("x", [5, -5])
def test_python_int_set_in_both_paths_of_tensor_if_meets_its_tensor(dtype, x):
    check(flag_count, num(x, dtype))


def nested_counters(n):
    total = 0
    i = 0
    while i < n:
        j = 0
        while j < i:
            total += j
            j += 1
        i += 1
    return total


@pytest.mark.parametrize("dtype", INTS, ids=ids(INTS))
@pytest.mark.parametrize("n", [0, 1, 4])
def test_nested_counters_link_through_the_inner_loop(dtype, n):
    check(nested_counters, num(n, dtype))


def early_return_number(x, n):
    for i in range(n):
        if i * x > 10:
            return i
    return 0


@pytest.mark.parametrize("dtype", INTS, ids=ids(INTS))
@pytest.mark.parametrize("x", [3, 0])
def test_return_value_from_a_loop_or_a_number(dtype, x):
    check(early_return_number, num(x, dtype), num(6, dtype))


def float_weak_with_float_tensor(x):
    y = 0.5
    if x > 0:
        y = x
    return y * 2


@pytest.mark.parametrize("dtype", FLOATS, ids=ids(FLOATS))
@pytest.mark.parametrize("x", [3, -3])
def test_python_float_takes_the_float_dtype_of_the_other_branch(dtype, x):
    check(float_weak_with_float_tensor, num(x, dtype))


# ------------------------------------------------------------ real errors

def int_or_float(x):
    if x > 0:
        y = 1
    else:
        y = 2.5
    return y


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
def test_int_in_one_branch_float_in_the_other_is_a_type_error(dtype):
    with pytest.raises(TypeError) as info:
        kgraph.function(int_or_float)(tf.constant(1, dtype))
    err = info.value
    assert isinstance(err, kgraph.StagingError)
    message = str(err)
    assert "'y'" in message and "int" in message and "float" in message
    assert "hint" in message
    assert location(int_or_float, "if x > 0") in message
    assert err.location.endswith(f":{line_of(int_or_float, 'if x > 0')}")


def float_total_of_ints(xs):
    total = 0.5
    for v in xs:
        total += v
    return total


def test_python_float_meeting_int_tensors_is_a_type_error_at_the_loop():
    with pytest.raises(TypeError) as info:
        kgraph.function(float_total_of_ints)(tf.constant([1, 2, 3]))
    message = str(info.value)
    assert "'total'" in message and "float" in message and "int32" in message
    assert location(float_total_of_ints, "for v in xs") in message


def str_or_tensor(x):
    label = "none"
    if x > 0:
        label = x
    return label


def test_str_in_one_branch_tensor_in_the_other_is_a_type_error():
    with pytest.raises(TypeError) as info:
        kgraph.function(str_or_tensor)(tf.constant(1))
    message = str(info.value)
    assert "'label'" in message and "str" in message
    assert location(str_or_tensor, "if x > 0") in message


def test_explain_reports_the_scratch_trace():
    f = kgraph.function(count)
    report = kgraph.explain(f, tf.constant(7, tf.int64))
    notes = [d.reason for d in report.notes()]
    assert any("scratch trace" in n and "'k'" in n and "int64" in n for n in notes), notes


# ------------------------------------------------ composite tensors (issue 9)

def grow_sparse(st, n):
    i = 0
    while i < n:
        st = tf.sparse.concat(0, [st, st])
        i += 1
    return tf.sparse.to_dense(st)


def grow_ragged(rt, n):
    for i in range(n):
        rt = tf.concat([rt, rt[:1]], axis=0)
    return rt.to_tensor()


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
def test_sparse_tensor_whose_shape_changes_is_relaxed(dtype):
    st = tf.sparse.SparseTensor([[0, 0], [1, 1]], tf.constant([1, 2], dtype), [2, 2])
    result = check(grow_sparse, Py(st), T(2, tf.int32))
    assert len(result) == 8


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
def test_ragged_tensor_whose_shape_changes_is_relaxed(dtype):
    rt = tf.ragged.constant([[1, 2], [3]], dtype=dtype)
    check(grow_ragged, Py(rt), T(2, tf.int64))


def test_relaxed_sparse_loop_is_reported_by_explain():
    st = tf.sparse.SparseTensor([[0, 0]], [1.0], [1, 2])
    report = kgraph.explain(kgraph.function(grow_sparse), st, tf.constant(2))
    assert any("'st' relaxed" in d.reason for d in report.notes()), str(report)


# ------------------------------------ set_loop_options (tf.function migrants)

def with_shape_invariants(n):
    v = tf.constant([0], n.dtype)
    for i in tf.range(n):
        tf.autograph.experimental.set_loop_options(
            shape_invariants=[(v, tf.TensorShape([None]))])
        v = tf.concat([v, [i]], 0)
    return v


@pytest.mark.parametrize("dtype", INTS, ids=ids(INTS))
def test_set_loop_options_shape_invariants(dtype):
    n = tf.constant(3, dtype)
    out = kgraph.function(with_shape_invariants)(n)
    assert out.numpy().tolist() == [0, 0, 1, 2]
    assert out.numpy().tolist() == tf.function(with_shape_invariants)(n).numpy().tolist()


def bounded(n, step):
    k = n - n
    while k < n:
        tf.autograph.experimental.set_loop_options(maximum_iterations=3)
        k += step
    return k


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
def test_set_loop_options_maximum_iterations_like_tf_function(dtype):
    args = (tf.constant(10, dtype), tf.constant(2, dtype))
    ours = kgraph.function(bounded)(*args)
    theirs = tf.function(bounded)(*args)     # TensorFlow's AutoGraph: the reference
    assert ours.dtype == theirs.dtype and float(ours) == float(theirs) == 6


def test_set_loop_options_outside_a_graph_loop_does_nothing():
    # Plain Python on Python values: the directive is a no-op, as in TensorFlow.
    assert bounded(10, 2) == 10
    assert int(kgraph.function(bounded)(10, 2)) == 10


# ------------------------------- Python numbers inside tuples (property repros)

def early_return_pair(x, y, n):
    for j in range(n):
        if x > j:
            return x, 9
    return x, y


def return_pair(x, y):
    if x > 2:
        return x, 9
    return x, y


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
@pytest.mark.parametrize("x", [3, -3])
def test_python_number_in_a_returned_tuple_takes_the_other_paths_dtype(dtype, x):
    check(return_pair, num(x, dtype), num(1, dtype))
    if dtype.is_integer:     # x > j: j has the dtype of n (a float x would mix dtypes)
        check(early_return_pair, num(x, dtype), num(1, dtype), num(2, dtype))


def counter_vs_float(x):
    k = 0
    while k < x % 4.0:
        k += 1
    return x + k


@pytest.mark.parametrize("dtype", FLOATS, ids=ids(FLOATS))
def test_python_int_counter_compared_with_a_float_tensor(dtype):
    check(counter_vs_float, num(2.5, dtype))


def state_pair(x, n):
    pair = (x, 0)
    for i in range(n):
        pair = (pair[0] + 1, pair[1] + x)
    return pair


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
def test_python_number_inside_loop_state_tuple(dtype):
    check(state_pair, num(2, dtype), num(3, tf.int32))


# --------------------------------------- return paths (passes/returns.py)

def assert_then_returns(x, y):
    assert x > -1000
    if x > 0:
        return x, y
    return y, x


def returns_on_both_sides(x):
    if x > 0:
        return x
    else:
        return -x


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
@pytest.mark.parametrize("x", [4, -4])
def test_no_fall_through_none_when_every_path_returns(dtype, x):
    # (property repro: an assert before an early return gave "the return value
    # is None in one branch" from a fall-through path that never runs)
    check(assert_then_returns, num(x, dtype), num(2, dtype))
    check(returns_on_both_sides, num(x, dtype))
