"""Differential reference suite: every Python feature of the converter (issue 2).

Each sample function runs as plain Python on plain values and through kgraph
(converted on plain values, eagerly on tensors, and as ``kgraph.function`` on
tensors); results and printed text must be identical (see reference_helpers).
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgraph
from reference_helpers import Dataset, Py, T, check, graph_function, line_of


def cases(*groups):
    """pytest params from (fn, [args, ...]) groups, with readable ids."""
    params = []
    for fn, inputs in groups:
        for i, args in enumerate(inputs):
            if not isinstance(args, tuple):
                args = (args,)
            name = getattr(fn, "__name__", type(fn).__name__)
            params.append(pytest.param(fn, args, id=f"{name}-{i}"))
    return params


# =========================================================================
# if / elif / else
# =========================================================================

def sign(x):
    if x > 0:
        s = 1
    elif x < 0:
        s = -1
    else:
        s = 0
    return s


def grade(score):
    if score >= 90:
        g = 4
    elif score >= 80:
        g = 3
    elif score >= 70:
        g = 2
    elif score >= 60:
        g = 1
    else:
        g = 0
    return g


def clamp(x, lo, hi):
    changed = False
    if x < lo:
        x = lo
        changed = True
    if x > hi:
        x = hi
        changed = True
    return x, changed


def quadrant_distance(a, b):
    if a > 0:
        if b > 0:
            r = a + b
        else:
            r = a - b
    else:
        if b > 0:
            r = b - a
        else:
            r = -(a + b)
    return r


def leaky(x):
    if x > 0.0:
        y = x * 2.0
    else:
        y = x * 0.25
    return y


def maybe_negate(x, negate):
    # `negate` stays a Python bool: a plain Python if, even in the graph.
    if negate:
        x = -x
    if x > 0:
        x = x + 100
    return x


def if_updates_unused_in_one_branch(x):
    total = x
    if x % 2 == 0:
        half = x // 2
        total = total + half
    return total


@pytest.mark.parametrize("fn,args", cases(
    (sign, [5, -3, 0]),
    (grade, [95, 90, 85, 75, 65, 60, 10]),
    (clamp, [(5, 0, 10), (-4, 0, 10), (12, 0, 10), (0, 0, 0)]),
    (quadrant_distance, [(2, 3), (2, -3), (-2, 3), (-2, -3), (0, 0)]),
    (leaky, [1.5, -4.0, 0.0]),
    (maybe_negate, [(3, Py(False)), (3, Py(True)), (-3, Py(True))]),
    (if_updates_unused_in_one_branch, [4, 7, 0]),
))
def test_if_elif_else(fn, args):
    check(fn, *args)


def test_if_on_python_value_stays_python_in_graph():
    report = kgraph.explain(maybe_negate, tf.constant(3), True)
    negate_line = line_of(maybe_negate, "if negate:")
    tensor_line = line_of(maybe_negate, "if x > 0:")
    paths = {(d.lineno, d.path) for d in report.decisions if d.construct == "if"}
    assert (negate_line, "python") in paths
    assert (tensor_line, "graph") in paths


# =========================================================================
# ternary
# =========================================================================

def abs_ternary(x):
    return x if x >= 0 else -x


def sign_ternary(x):
    return 1 if x > 0 else (-1 if x < 0 else 0)


def ternary_in_expression(x, y):
    m = x if x > y else y
    return m * 2 + (1 if m > 10 else 0)


def ternary_in_loop_condition(n, bounded_by_n):
    i = 0
    total = 0
    while i < (n if bounded_by_n else 3):
        total += i
        i += 1
    return total, i


def ternary_chooses_loop_test(n):
    i = 0
    total = 0
    while (total < 20 if n > 5 else i < n):
        total += i
        i += 1
    return total, i


def ternary_evaluates_one_side(x):
    y = loud_positive(x) if x > 0 else loud_positive(-x - 1)
    return y


@pytest.mark.parametrize("fn,args", cases(
    (ternary_evaluates_one_side, [3, -3, 0]),
    (abs_ternary, [4, -7, 0]),
    (sign_ternary, [9, -9, 0]),
    (ternary_in_expression, [(12, 3), (3, 12), (4, 4)]),
    (ternary_in_loop_condition, [(6, True), (6, False), (0, True), (0, False)]),
    (ternary_chooses_loop_test, [10, 4, 0]),
))
def test_ternary(fn, args):
    check(fn, *args)


# =========================================================================
# while
# =========================================================================

def collatz(n):
    steps = 0
    while n != 1:
        if n % 2 == 0:
            n = n // 2
        else:
            n = 3 * n + 1
        steps += 1
    return steps


def gcd(a, b):
    while b != 0:
        a, b = b, a % b
    return a


def digit_sum(n):
    s = 0
    while n > 0:
        s += n % 10
        n //= 10
    return s


def isqrt_or_minus_one(n, target):
    # while/else: the else runs when the loop ends without break
    i = 0
    while i < n:
        if i * i == target:
            break
        i += 1
    else:
        i = -1
    return i


def triangle_pairs(n):
    count = 0
    i = 0
    while i < n:
        j = 0
        while j < i:
            count += j
            j += 1
        i += 1
    return count


def python_while_tensor_body(x):
    k = 3
    while k > 0:          # Python loop: k is a Python int
        x = x * 2 + k
        k -= 1
    return x


def halve_until_small(x):
    count = 0
    while x > 1.0:
        x = x / 2.0
        count += 1
    return x, count


def python_test_becomes_tensor(x):
    steps = 0
    total = 0
    while total < 10:       # total is a Python int on the first test only
        total += x
        steps += 1
    return steps, total


def fibonacci_pair(n):
    state = (0, 1)
    i = 0
    while i < n:
        state = (state[1], state[0] + state[1])
        i += 1
    return state[0]


def halvings_walrus(n):
    steps = 0
    while (n := n // 2) > 0:      # an assignment expression in the loop test
        steps += 1
    return steps, n


@pytest.mark.parametrize("fn,args", cases(
    (halvings_walrus, [0, 1, 10, 1000]),
    (python_test_becomes_tensor, [1, 3, 20]),
    (fibonacci_pair, [0, 1, 10]),
    (collatz, [1, 2, 7, 27]),
    (gcd, [(48, 18), (7, 0), (0, 5), (17, 5)]),
    (digit_sum, [0, 7, 12345]),
    (isqrt_or_minus_one, [(10, 16), (10, 17), (0, 0), (5, 0)]),
    (triangle_pairs, [0, 1, 5]),
    (python_while_tensor_body, [1, -2]),
    (halve_until_small, [1.0, 10.0, 0.5]),
))
def test_while(fn, args):
    check(fn, *args)


def test_collatz_is_one_graph_while():
    g = graph_function(collatz)
    check(collatz, 27)
    cf = g.get_concrete_function(tf.TensorSpec([], tf.int32))
    assert {"While", "StatelessWhile"} & {op.type for op in cf.graph.get_operations()}


# =========================================================================
# for
# =========================================================================

def sum_range(n):
    total = 0
    for i in range(n):
        total += i
    return total


def sum_squares_between(a, b):
    total = 0
    for i in range(a, b):
        total += i * i
    return total


def countdown_by(n, step):
    out = 0
    for i in range(n, 0, -step):
        out = out * 10 + i
    return out


def stepped_range_tensor_step(a, b, step):
    total = 0
    count = 0
    for i in range(a, b, step):
        total += i
        count += 1
    return total, count


def sum_tf_range(n):
    total = 0
    for i in tf.range(n):
        total += i
    return total


def weighted_sum(xs):
    total = 0
    for v in xs:
        total += v
    return total


def row_sums_max(m):
    best = -1000
    for row in m:
        s = tf.reduce_sum(row)
        if s > best:
            best = s
    return best


def enumerate_tensor(xs):
    total = 0
    for i, v in enumerate(xs):
        total += i * v
    return total


def enumerate_tensor_start(xs):
    total = 0
    for i, v in enumerate(xs, 1):
        total += i * v
    return total


def enumerate_range(n):
    total = 0
    for i, j in enumerate(range(2, n)):
        total += i * j
    return total


def dot(xs, ys):
    total = 0
    for a, b in zip(xs, ys):
        total += a * b
    return total


def zip_range_tensor(xs):
    total = 0
    for i, v in zip(range(len(xs)), xs):
        total += i + v
    return total


def zip_ranges(n, m):
    total = 0
    for i, j in zip(range(n), range(m)):
        total += i * 10 + j
    return total


def python_list_loop(x):
    for w in [1, 2, 3]:          # a Python loop, even in the graph
        x = x * w + 1
    return x


def nested_for(n):
    total = 0
    for i in range(n):
        for j in range(i):
            total += i * j
    return total


def dataset_sum_of_squares(ds):
    total = 0
    for x in ds:
        total += x * x
    return total


def dataset_max_positive(ds):
    best = 0
    for x in ds:
        if x > best:
            best = x
    return best


def dataset_enumerate(ds):
    total = 0
    for i, x in enumerate(ds):
        total += i * x
    return total


def python_range_tensor_break(x):
    total = 0
    for i in range(10):         # a Python range, but the break depends on a tensor
        if total > x:
            break
        total += i
    return total, i


def enumerate_zip_nested_unpack(xs, ys):
    total = 0
    for i, (a, b) in enumerate(zip(xs, ys)):
        if a > b:
            total += i * a
        else:
            total -= b
    return total


def zip_tensor_python_list(xs):
    total = 0
    for v, w in zip(xs, [10, 20, 30]):
        total += v * w
    return total


def range_tensor_start(a):
    total = 0
    for i in range(a, 5):
        total += i
    return total


def len_unknown_length(xs):
    total = 0
    for i in range(len(xs)):
        if i % 2 == 0:
            total += xs[i]
    return total, len(xs)


@pytest.mark.parametrize("fn,args", cases(
    (python_range_tensor_break, [0, 7, 100]),
    (enumerate_zip_nested_unpack, [([3, 1, 5], [2, 2, 2]), (T([], tf.int32), T([], tf.int32))]),
    (zip_tensor_python_list, [[1, 2, 3], [1, 2], [1, 2, 3, 4]]),
    (range_tensor_start, [0, 4, 9]),
    (sum_range, [0, 1, 10]),
    (sum_squares_between, [(2, 6), (6, 2), (-3, 3)]),
    (countdown_by, [(7, Py(2)), (0, Py(2)), (9, Py(3))]),
    (stepped_range_tensor_step, [(0, 10, 3), (10, 0, -3), (0, 10, -1), (5, 5, 1)]),
    (sum_tf_range, [0, 5]),
    (weighted_sum, [[1, 2, 3], [7], T([], tf.int32), [1.5, 2.5]]),
    (row_sums_max, [[[1, 2], [3, 4], [-1, 0]], [[5, 5]]]),
    (enumerate_tensor, [[4, 5, 6], T([], tf.int32)]),
    (enumerate_tensor_start, [[4, 5, 6]]),
    (enumerate_range, [2, 6]),
    (dot, [([1, 2, 3], [4, 5, 6]), ([1.5, 2.0], [2.0, 0.5]), ([1, 2, 3], [1, 1])]),
    (zip_range_tensor, [[10, 20, 30], T([], tf.int32)]),
    (zip_ranges, [(3, 5), (4, 2), (0, 3)]),
    (python_list_loop, [2, -1]),
    (nested_for, [0, 1, 5]),
))
def test_for(fn, args):
    check(fn, *args)


def test_for_unknown_length():
    fn = len_unknown_length
    # len() of a tensor whose length is only known at run time
    options = {"input_signature": [tf.TensorSpec([None], tf.int32)]}
    for xs in ([4, 5, 6, 7, 8], [9], T([], tf.int32)):
        check(fn, xs, options=options)


def test_for_over_python_list_is_explained():
    report = kgraph.explain(python_list_loop, tf.constant(2))
    line = line_of(python_list_loop, "for w in [1, 2, 3]:")
    reasons = [d.reason for d in report.decisions if d.lineno == line and d.path == "python"]
    assert any("Python list" in r for r in reasons), str(report)


@pytest.mark.parametrize("fn,args", cases(
    (dataset_sum_of_squares, [Dataset([1, 2, 3]), Dataset([], tf.int32), Dataset([1.5, -2.0])]),
    (dataset_max_positive, [Dataset([3, 9, 2]), Dataset([-1, -2])]),
    (dataset_enumerate, [Dataset([5, 6, 7])]),
))
def test_for_over_dataset(fn, args):
    # Graph path gets a tf.data.Dataset; Python paths iterate the list.
    check(fn, *args)


# =========================================================================
# break / continue / return
# =========================================================================

def first_index_of(xs, target):
    for i in range(len(xs)):
        if xs[i] == target:
            return i
    return -1


def first_negative(xs):
    idx = -1
    for i, v in enumerate(xs):
        if v < 0:
            idx = i
            break
    return idx


def sum_even_until_big(xs):
    total = 0
    for v in xs:
        if v % 2 == 1:
            continue
        if v > 10:
            break
        total += v
    return total


def while_true_continue_break(n):
    i = 0
    total = 0
    while True:
        i += 1
        if i > n:
            break
        if i % 3 == 0:
            continue
        total += i
    return total, i


def find_pair(xs, target):
    n = len(xs)
    for i in range(n):
        for j in range(i + 1, n):
            if xs[i] + xs[j] == target:
                return i, j
    return -1, -1


def first_square_at_least(n):
    i = 0
    while i < 100:
        if i * i >= n:
            return i
        i += 1
    return -1


def early_returns(x):
    if x < 0:
        return 0
    y = x * 2
    if y > 10:
        return 10
    return y


def inner_break(n):
    count = 0
    for i in range(n):
        for j in range(n):
            if j > i:
                break
            count += 1
    return count


def nested_if_loop_if(x, n):
    total = 0
    if x > 0:
        for i in range(n):
            if i % 2 == 0:
                if i > x:
                    total += i
                else:
                    total -= 1
            else:
                total += x
    else:
        total = -1
    return total


def while_else_return(n, bad):
    i = 0
    while i < n:
        if i == bad:
            return -i
        i += 1
    else:
        return 100 + i
    return 0


def for_else(xs, target):
    pos = 0
    for v in xs:
        if v == target:
            break
        pos += 1
    else:
        pos = -1
    return pos


def return_from_while_in_for(xs, limit):
    for v in xs:
        k = 0
        while k < v:
            k += 1
            if k * v > limit:
                return v, k
    return 0, 0


def continue_in_while(n):
    i = 0
    odd = 0
    while i < n:
        i += 1
        if i % 2 == 0:
            continue
        odd += i
    return odd


def break_first_iteration(n):
    count = 0
    for i in range(n):
        if i == 0:
            break
        count += 1
    return count


@pytest.mark.parametrize("fn,args", cases(
    (first_index_of, [([3, 1, 4], 4), ([3, 1, 4], 3), ([3, 1, 4], 9), (T([], tf.int32), 1)]),
    (first_negative, [[-1, 2, -3], [1, 2, -3], [1, 2, 3]]),
    (sum_even_until_big, [[1, 2, 3, 4, 12, 2], [12, 2], [1, 3], [2, 4, 6]]),
    (while_true_continue_break, [0, 1, 7]),
    (find_pair, [([1, 4, 2, 7], 9), ([1, 4, 2, 7], 5), ([1, 4, 2, 7], 100), ([5, 5], 10)]),
    (first_square_at_least, [0, 10, 49, 20000]),
    (early_returns, [-5, 3, 8]),
    (inner_break, [0, 1, 4]),
    (nested_if_loop_if, [(3, 8), (1, 5), (0, 5), (2, 0)]),
    (while_else_return, [(5, 3), (5, 9), (0, 0)]),
    (for_else, [([5, 6, 7], 6), ([5, 6, 7], 8), ([5, 6, 7], 5), (T([], tf.int32), 1)]),
    (return_from_while_in_for, [([1, 2, 3], 5), ([1, 2], 100), (T([], tf.int32), 0)]),
    (continue_in_while, [0, 1, 9]),
    (break_first_iteration, [0, 3]),
))
def test_break_continue_return(fn, args):
    check(fn, *args)


# =========================================================================
# and / or / not
# =========================================================================

def positive_prefix_length(xs):
    n = len(xs)
    i = 0
    while i < n and xs[i] > 0:      # xs[i] must not be evaluated once i == n
        i += 1
    return i


def prefix_until_zero(xs):
    n = len(xs)
    i = 0
    while not (i >= n or xs[i] == 0):
        i += 1
    return i


def safe_ratio_positive(a, b):
    return b != 0 and a // b > 0      # a // b is never evaluated when b == 0


def classify(a, b):
    if a > 0 and b > 0:
        c = 1
    elif a > 0 or b > 0:
        c = 2
    else:
        c = 3
    return c


def bool_algebra(a, b, c):
    return (a or b) and not c


def not_tensor(flag):
    return not flag


def not_comparison(x):
    if not x > 0:
        x = -x
    return x


def loud_positive(x):
    print("checking", x)
    return x > 0


def short_circuit_side_effect(x, y):
    both = x > 0 and loud_positive(y)
    either = x > 0 or loud_positive(y)
    return both, either


@pytest.mark.parametrize("fn,args", cases(
    (positive_prefix_length, [[1, 2, 3], [1, -1, 2], [-5], T([], tf.int32)]),
    (prefix_until_zero, [[4, 0, 1], [1, 2], [0], T([], tf.int32)]),
    (safe_ratio_positive, [(7, 2), (7, 0), (-7, 2)]),
    (classify, [(1, 1), (1, -1), (-1, 1), (-1, -1)]),
    (bool_algebra, [(True, False, False), (False, False, False), (True, True, True),
                    (False, True, False)]),
    (not_tensor, [True, False]),
    (not_comparison, [3, -3]),
    (short_circuit_side_effect, [(1, 2), (-1, 2), (1, -2)]),
))
def test_and_or_not(fn, args):
    check(fn, *args)


# =========================================================================
# print and assert
# =========================================================================

def print_several(x, y):
    print("x =", x, "y =", y)
    print(x, y, sep=", ")
    print("sum", x + y, sep=": ", end="!\n")
    print(x, end="")
    print(" then", y)
    return x + y


def print_steps(n):
    i = 0
    while i < n:
        print("step", i, "of", n, end="; ")
        i += 1
    print("done:", i)
    return i


def print_floats_and_bools(x):
    print(x, x > 1.0, x * 2.0, sep=" | ")
    print("half", x / 2.0)
    return x


def print_in_branches(x):
    if x > 0:
        print("positive", x)
    else:
        print("non-positive", x)
    return x


def print_python_text_in_loop(n):
    print("start")
    for i in range(n):
        print("tick")
    print("end")
    return n


def print_int_division(n):
    for i in range(n):
        print(i, i / 2, i // 2, i % 2 == 0)
    return n


def print_large_and_small_floats(x):
    # Exact float32 operations only: the arithmetic is TensorFlow's (in a graph
    # its optimizer turns `x / 1000.0` into `x * 0.001`, which rounds
    # differently from Python's float64); the printed text is kgraph's.
    print(x, x * 10.0, x * 0.5)
    return x


def print_int64(x):
    print("value:", x, -x)
    return x


def checked_isqrt(x):
    assert x >= 0, "x must be non-negative"
    r = 0
    while (r + 1) * (r + 1) <= x:
        r += 1
    return r


def assert_in_loop(xs):
    total = 0
    for v in xs:
        assert v < 100, "value too large"
        total += v
    assert total >= 0
    return total


@pytest.mark.parametrize("fn,args", cases(
    (print_several, [(3, 4), (1.5, -2.0)]),
    (print_steps, [0, 3]),
    (print_floats_and_bools, [0.5, 3.0, 1.25]),
    (print_in_branches, [5, -5]),
    (print_python_text_in_loop, [0, 3]),
    (print_int_division, [3]),
    (print_large_and_small_floats, [1000000.0, 2500000.0, 12345678.0, 0.5]),
    (print_int64, [T(5, tf.int64), T(-12345678901, tf.int64)]),
    (checked_isqrt, [0, 15, 16]),
    (assert_in_loop, [[1, 2, 3], T([], tf.int32)]),
))
def test_print_and_assert(fn, args):
    check(fn, *args)


# =========================================================================
# lists: append in loops, stack, set_element_type
# =========================================================================

def squares_range(n):
    xs = []
    for i in range(n):
        xs.append(i * i)
    return kgraph.stack(xs)


def doubled(xs):
    out = []
    for v in xs:
        out.append(v * 2)
    return kgraph.stack(out)


def running_sums_typed(xs):
    sums = []
    kgraph.set_element_type(sums, tf.float32, [])
    total = 0.0
    for v in xs:
        total += v
        sums.append(total)
    return kgraph.stack(sums)


def collatz_trajectory(n):
    path = []
    kgraph.set_element_type(path, tf.int32, ())
    path.append(n)
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        path.append(n)
    return kgraph.stack(path)


def positives_only(xs):
    out = []
    kgraph.set_element_type(out, tf.int32, [])
    for v in xs:
        if v > 0:
            out.append(v)
    return kgraph.stack(out)


def rows_scaled(m):
    out = []
    for i, row in enumerate(m):
        out.append(tf.multiply(row, i + 1))
    return kgraph.stack(out)


def append_in_while(n):
    xs = []
    i = 0
    while i < n:
        xs.append(i * 3)
        i += 1
    return kgraph.stack(xs), len(xs)


def typed_empty(n):
    xs = []
    kgraph.set_element_type(xs, tf.int32, [])
    for i in range(n):
        xs.append(i)
    return kgraph.stack(xs)


def python_loop_append(x):
    xs = []
    for k in range(3):              # Python loop in the graph: a Python list
        xs.append(x * k)
    return kgraph.stack(xs)


def pairs_nested_loops(n):
    pairs = []
    kgraph.set_element_type(pairs, tf.int32, [2])
    for i in range(n):
        for j in range(i):
            pairs.append(tf.stack([i, j]))
    return kgraph.stack(pairs)


def rows_over_tensor(m):
    out = []
    for row in m:
        out.append(tf.add(row, 1))
    return kgraph.stack(out)


def typed_vector_rows(n):
    rows = []
    kgraph.set_element_type(rows, tf.float32, [2])
    for i in range(n):
        rows.append(tf.fill([2], tf.cast(i, tf.float32) / 2.0))
    return kgraph.stack(rows)


def evens_and_odds(n):
    evens = []
    odds = []
    for i in range(n):
        if i % 2 == 0:
            evens.append(i)
        else:
            odds.append(i * 10)
    return kgraph.stack(evens), kgraph.stack(odds)


def two_loops_one_list(n):
    xs = []
    for i in range(n):
        xs.append(i)
    for j in range(n):
        xs.append(j * 100)
    return kgraph.stack(xs), len(xs)


def list_built_in_branches(x, n):
    xs = []
    if x > 0:
        for i in range(n):
            xs.append(i + x)
    else:
        for i in range(n):
            xs.append(i - x)
    return kgraph.stack(xs)


def per_iteration_list(n):
    total = 0
    for i in range(n):
        row = []
        for j in range(3):
            row.append(i * j)
        total += tf.reduce_sum(kgraph.stack(row))
    return total


def first_append_in_nested_loop(n):
    xs = []
    for i in range(n):
        for j in range(i):
            xs.append(i * 10 + j)
    return kgraph.stack(xs)


def grow_until_length(n):
    xs = []
    i = 0
    while len(xs) < n:
        xs.append(i)
        i += 3
    return kgraph.stack(xs)


def prefilled_list(n):
    xs = [100, 200]
    for i in range(n):
        xs.append(i)
    return kgraph.stack(xs)


@pytest.mark.parametrize("fn,args", cases(
    (evens_and_odds, [5, 2]),
    (two_loops_one_list, [3, 0]),
    (list_built_in_branches, [(2, 3), (-2, 3)]),
    (per_iteration_list, [4]),
    (first_append_in_nested_loop, [4]),
    (grow_until_length, [4, 1]),
    (prefilled_list, [3, 0]),
    (python_loop_append, [3]),
    (pairs_nested_loops, [0, 4]),
    (rows_over_tensor, [[[1, 2], [3, 4]]]),
    (typed_vector_rows, [0, 3]),
    (squares_range, [0, 1, 5]),
    (doubled, [[1, 2, 3], [7], T([], tf.int32)]),
    (running_sums_typed, [[1.0, 2.5, -1.0], [4.0]]),
    (collatz_trajectory, [6, 1]),
    (positives_only, [[3, -1, 4, -1, 5], [1]]),
    (rows_scaled, [[[1, 2], [3, 4], [5, 6]]]),
    (append_in_while, [0, 4]),
    (typed_empty, [0, 3]),
))
def test_lists(fn, args):
    check(fn, *args)


# =========================================================================
# calls: helpers, closures, methods, lambdas, default and keyword arguments
# =========================================================================

def helper_steps(n):
    steps = 0
    while n > 1:
        n = n // 2
        steps += 1
    return steps


def calls_helper(n):
    total = 0
    for i in range(n):
        total += helper_steps(i)
    return total


def scaled_or_shifted(x, scale=2, shift=0):
    if x > 0:
        return x * scale + shift
    return x - shift


def default_and_keyword_args(x):
    return (scaled_or_shifted(x), scaled_or_shifted(x, 3),
            scaled_or_shifted(x, shift=5), scaled_or_shifted(x=x, scale=-1, shift=1))


def with_closure(x, n):
    offset = 10

    def bump(v):
        if v > offset:
            return v - offset
        return v + offset

    total = 0
    for i in range(n):
        total += bump(x + i)
    return total


def nested_closure_counter(n):
    def make_adder(k):
        def add(v):
            return v + k if v % 2 == 0 else v - k
        return add

    add3 = make_adder(3)
    out = 0
    i = 0
    while i < n:
        out = add3(out + i)
        i += 1
    return out


class Accumulator:
    def __init__(self, limit):
        self.limit = limit

    def clipped(self, v):
        if v > self.limit:
            return self.limit
        return v

    def total(self, xs):
        t = 0
        for v in xs:
            t += self.clipped(v)
        return t

    @staticmethod
    def twice(v):
        return v * 2 if v > 0 else v


ACC = Accumulator(5)


def calls_method(xs):
    return ACC.total(xs) + Accumulator.twice(len(xs))


def with_lambdas(x, n):
    square = lambda v: v * v  # noqa: E731
    pick = lambda v: v if v > 3 else -v  # noqa: E731
    total = 0
    for i in range(n):
        total += pick(square(i) - x)
    return total


def lambdas_same_line(x):
    inc, dec = (lambda v: v + 1 if v > 0 else v), (lambda v: v - 1 if v < 0 else v)  # noqa: E731
    return inc(x), dec(x)


def calls_tf_numpy_math(x):
    y = tf.maximum(x, 0.0) + np.float32(0.5) + math.floor(2.7)
    if y > 3.0:
        y = y - 1.0
    return tf.abs(y)


def apply_n(f, x, n):
    i = 0
    while i < n:
        x = f(x)
        i += 1
    return x


def higher_order(x, n):
    return apply_n(lambda v: v * 2 if v < 50 else v - 7, x, n)


class Scaler:
    def __init__(self, factor):
        self.factor = factor

    def __call__(self, x, n):
        for _ in range(n):
            x = x * self.factor if x < 100 else x
        return x


def power(x, k):
    # recursion on a Python int: converted, unrolled while tracing
    if k == 0:
        return 1
    return x * power(x, k - 1)


def calls_recursive(x):
    return power(x, 3) if x > 0 else power(x, 2)


@kgraph.do_not_convert
def python_only_helper(k):
    out = []
    for i in range(k):
        out.append(i * i)
    return sum(out)


def calls_do_not_convert(x):
    return x + python_only_helper(4)


def keras_ops_in_loop(x, n):
    for _ in range(n):
        x = keras.ops.relu(x - 1.0) + 0.5
    return x


@pytest.mark.parametrize("fn,args", cases(
    (calls_do_not_convert, [3]),
    (keras_ops_in_loop, [(3.0, 4), (0.5, 2), (1.0, 0)]),
    (power, [(2, Py(3)), (5, Py(0))]),
    (calls_recursive, [2, -3]),
    (higher_order, [(1, 10), (3, 0)]),
    (Scaler(3), [(1, 10), (200, 2)]),
    (calls_helper, [0, 9]),
    (default_and_keyword_args, [4, -4]),
    (with_closure, [(5, 4), (20, 3), (0, 0)]),
    (nested_closure_counter, [0, 5]),
    (calls_method, [[1, 9, 3], [7, 8]]),
    (with_lambdas, [(2, 5), (0, 0)]),
    (lambdas_same_line, [5, -5, 0]),
    (calls_tf_numpy_math, [1.0, 3.5, -2.0]),
))
def test_calls(fn, args):
    check(fn, *args)


def test_keyword_arguments_of_converted_function():
    check(scaled_or_shifted, 4, kwargs={"shift": 3})
    check(scaled_or_shifted, -4, kwargs={"scale": Py(5), "shift": 2})


def test_method_as_kgraph_function():
    acc = Accumulator(4)
    check(acc.total, [1, 6, 2])
    check(acc.total, T([], tf.int32))


def test_do_not_convert_helper_is_called_as_is():
    report = kgraph.explain(calls_do_not_convert, tf.constant(3))
    assert "python_only_helper" not in " ".join(report.converted), report.converted
    assert not any(d.lineno == line_of(python_only_helper, "for i in range(k):")
                   for d in report.decisions), str(report)


def test_user_helper_is_converted_too():
    report = kgraph.explain(calls_helper, tf.constant(5))
    helper_while = line_of(helper_steps, "while n > 1:")
    assert any(d.construct == "while" and d.path == "graph" and d.lineno == helper_while
               for d in report.decisions), str(report)


# =========================================================================
# comprehensions and generator expressions over Python lists
# =========================================================================

WEIGHTS = [1, 2, 3]


def comprehension_over_python_list(x):
    scaled = [x * w for w in WEIGHTS]
    total = sum(v for v in scaled)
    evens = {w: w * w for w in WEIGHTS if w % 2 == 0}
    if total > 10:
        total = total + evens[2]
    return total, scaled[0], scaled[2]


def comprehension_in_loop(n):
    acc = 0
    for i in range(n):
        acc += sum([i * k for k in range(3)])
    return acc


def comprehension_over_known_length_tensor(xs):
    doubled = [v * 2 for v in xs]
    return sum(doubled)


@pytest.mark.parametrize("fn,args", cases(
    (comprehension_over_python_list, [1, 5]),
    (comprehension_in_loop, [0, 4]),
    (comprehension_over_known_length_tensor, [[1, 2, 3]]),
))
def test_comprehensions(fn, args):
    check(fn, *args)


# =========================================================================
# loop variables: Python ints becoming tensors, dtype widening, shape relaxing
# =========================================================================

def int_plus_int64(xs):
    total = 0
    for v in xs:
        total += v
    return total


def int_plus_float(n, step):
    acc = 0
    i = 0
    while i < n:
        acc = acc + step
        i += 1
    return acc


def int_plus_float_tensor_items(xs):
    total = 0
    count = 0
    for v in xs:
        total += v
        count += 1
    return total, count


def grow_by_concat(n):
    v = tf.zeros([0], tf.int32)
    i = 0
    while i < n:
        v = tf.concat([v, [i]], axis=0)
        i += 1
    return v


def grow_matrix_rows(n):
    m = tf.zeros([1, 2], tf.float32)
    for i in range(n):
        m = tf.concat([m, tf.ones([1, 2]) * tf.cast(i, tf.float32)], axis=0)
    return m


@pytest.mark.parametrize("fn,args", cases(
    (int_plus_int64, [T([1, 2, 3], tf.int64), T([], tf.int64)]),
    (int_plus_float, [(3, 0.5), (0, 0.5), (4, 1.25)]),
    (int_plus_float_tensor_items, [[0.5, 1.5, 2.0]]),
    (grow_by_concat, [0, 1, 5]),
    (grow_matrix_rows, [0, 3]),
))
def test_loop_variables(fn, args):
    check(fn, *args)


def test_int64_sum_stays_int64():
    out = graph_function(int_plus_int64)(tf.constant([1, 2, 3], tf.int64))
    assert out.dtype == tf.int64 and int(out) == 6


def test_shape_relaxation_is_explained():
    report = kgraph.explain(grow_by_concat, tf.constant(4))
    notes = [d for d in report.decisions if d.path == "note"]
    assert any("relax" in d.reason and "v" in d.reason for d in notes), str(report)
    loop_line = line_of(grow_by_concat, "while i < n:")
    assert any(d.lineno == loop_line for d in notes), str(report)


# =========================================================================
# XLA: jit_compile=True
# =========================================================================

def squares_until(n):
    xs = []
    for i in range(n):
        xs.append(i * i + 1)
    return kgraph.stack(xs)


def jit_float_loop(x, n):
    acc = 0.0
    for i in range(n):
        if i % 2 == 0:
            acc += x
        else:
            acc -= x / 2.0
    return acc


@pytest.mark.parametrize("fn,args", cases(
    (collatz, [27, 1, 6]),
    (squares_until, [5, 1, 0]),
    (jit_float_loop, [(1.5, 5), (2.0, 0)]),
    (sum_even_until_big, [[1, 2, 3, 4, 12, 2]]),
    (positive_prefix_length, [[1, 2, 3], [1, -1, 2]]),
    (doubled, [[1, 2, 3]]),
    (find_pair, [([1, 4, 2, 7], 9)]),
    (first_index_of, [([3, 1, 4], 4), ([3, 1, 4], 9)]),
    (ternary_chooses_loop_test, [10]),
    (prefilled_list, [3]),
    (typed_vector_rows, [3]),
))
def test_jit_compile(fn, args):
    check(fn, *args, options={"jit_compile": True}, eager=False)
