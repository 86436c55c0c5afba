"""Expressions keep Python's exact meaning on tensors of every dtype (issue 8).

Chained comparisons with any operands, ``and``/``or`` returning the operand
that decided, membership (``in``/``not in``), nested conditional
expressions. Each case runs differentially (plain Python vs the converted
function in a graph, reference_helpers.check) on int32, int64, float32 and
float64 tensors.
"""

import traceback

import pytest
import tensorflow as tf

import kgraph
from reference_helpers import Py, T, check, location

DTYPES = [tf.int32, tf.int64, tf.float32, tf.float64]
DTYPE_IDS = ["int32", "int64", "float32", "float64"]


def dtypes(fn):
    return pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)(fn)


# =========================================================================
# chained comparisons with any operands
# =========================================================================

def window(i, n):
    if 0 <= i * 2 < n:
        return i + 1
    return i - 1


def chain_of_four(a, b, c):
    return a - 1 < b * 2 <= c + 3 != a * b


calls = []


def chain_evaluates_middle_once(x, n):
    # The middle operand is a call with a side effect at trace time: Python
    # evaluates it once (and the last operand not at all when the first
    # comparison fails).
    return 0 < record_call(x) < record_call(n)


def record_call(v):
    calls.append(1)
    return v


@dtypes
@pytest.mark.parametrize("i, n", [(0, 1), (3, 7), (3, 6), (-1, 5), (4, 2)])
def test_chained_comparison_with_expression_operands(i, n, dtype):
    check(window, T(i, dtype), T(n, dtype))


@dtypes
@pytest.mark.parametrize("args", [(1, 2, 3), (3, 1, 2), (2, 2, 1), (0, 5, 7), (5, 0, -3)])
def test_chain_of_four_comparisons(args, dtype):
    check(chain_of_four, *[T(v, dtype) for v in args])


def test_chained_comparison_evaluates_each_operand_once():
    f = kgraph.function(chain_evaluates_middle_once)
    calls.clear()
    assert bool(f(tf.constant(2), tf.constant(5)))
    assert len(calls) == 2   # record_call(x) once, record_call(n) once (inside tf.cond)
    calls.clear()
    assert chain_evaluates_middle_once(-2, 5) is False and len(calls) == 1
    calls.clear()
    assert kgraph.to_graph(chain_evaluates_middle_once)(-2, 5) is False and len(calls) == 1


# =========================================================================
# and / or return the deciding operand
# =========================================================================

def or_default(x):
    return x or 5


def and_value(x, y):
    return x and y


def or_chain(x, y):
    return x or y or 7


def and_or(x, y):
    return x > 0 and y or -1


@dtypes
@pytest.mark.parametrize("x", [0, 3, -2])
def test_or_returns_deciding_operand(x, dtype):
    check(or_default, T(x, dtype))


@dtypes
@pytest.mark.parametrize("x, y", [(0, 4), (2, 4), (2, 0), (0, 0)])
def test_and_or_return_deciding_operands(x, y, dtype):
    check(and_value, T(x, dtype), T(y, dtype))
    check(or_chain, T(x, dtype), T(y, dtype))
    check(and_or, T(x, dtype), T(y, dtype))


# =========================================================================
# membership
# =========================================================================

def in_tuple(x):
    if x in (1, 2, 3):
        return x * 10
    return x


def not_in_list(x):
    return x not in [0, 4, 5.5]


def in_tensor(x, t):
    return x in t


def in_range(x):
    return x in range(10, 0, -3), x not in range(2, 9, 2)


def in_chain(x, y):
    return 0 < x in (1, 2, y)


@dtypes
@pytest.mark.parametrize("x", [0, 2, 4, 7])
def test_membership_in_python_containers(x, dtype):
    check(in_tuple, T(x, dtype))
    check(not_in_list, T(x, dtype))
    check(in_range, T(x, dtype))
    check(in_chain, T(x, dtype), T(7, dtype))


@dtypes
@pytest.mark.parametrize("x", [3, 9])
def test_membership_in_tensor(x, dtype):
    check(in_tensor, T(x, dtype), T([1, 3, 5], dtype))


def test_membership_of_non_integer_float_in_ints():
    check(not_in_list, T(5.5, tf.float32))
    check(in_tuple, T(2.5, tf.float64))


# =========================================================================
# nested conditional expressions
# =========================================================================

def sign(x):
    return -1 if x < 0 else (0 if x == 0 else 1)


def bucket(x):
    return (x * 2 if x > 10 else x + 100) if x > 0 else (x - 1 if x > -5 else -x)


@dtypes
@pytest.mark.parametrize("x", [-7, -2, 0, 3, 12])
def test_nested_conditional_expressions(x, dtype):
    check(sign, T(x, dtype))
    check(bucket, T(x, dtype))


# =========================================================================
# errors
# =========================================================================

def in_matrix(x, m):
    return x in m


def test_in_a_matrix_is_a_value_error_at_the_users_line():
    with pytest.raises(ValueError) as info:
        kgraph.function(in_matrix)(tf.constant(1), tf.constant([[1, 2], [3, 4]]))
    assert isinstance(info.value, kgraph.StagingError)
    assert location(in_matrix, "return x in m") in str(info.value)
    assert "hint" in str(info.value)


# =========================================================================
# strings: f-strings, str.format, %-formatting, str()/repr()/format()
# =========================================================================

def values_for(dtype):
    if dtype.is_integer:
        return [0, 7, -42, 1234567]
    # float32 holds these exactly enough that Python's text of the Python
    # float is also the text of the float32 value (3e20 is not: float64 only).
    return [0.0, 2.5, -0.75, 1234.5, 1e-05] + ([3.0e20] if dtype == tf.float64 else [])


def fstring_plain(x):
    print(f"x={x}")
    return f"<{x}>"


def fstring_specs(x):
    print(f"[{x:>12}] [{x:<12}|] [{x:^11}] [{x:+}] [{x: }] [{x:012}]")
    print(f"[{x:.2f}] [{x:e}] [{x:.3g}] [{x:10.1f}] [{x:,}] [{x:_}] [{x:.1%}]")
    print(f"{x!r} {x!s} {x!s:>8} {x=}")


def str_dot_format(x):
    print("a {0} b {0:>9} c {v:.3f} d {1}".format(x, -x, v=x))
    return "{}|{:*^9}".format(x, x)


def percent_formatting(x):
    print("%s | %r | %8.2f | %-8.1f| %e | %g" % (x, x, x, x, x, x))
    print("%(v)s and %(v)+.1f" % {"v": x})
    return "[%10s]" % x


def percent_int(x):
    print("%d items, %5d, %-5d|, %05d, %+d" % (x, x, x, x, x))
    return "%i" % x


def str_repr_format(x):
    s = str(x) + "!"
    print(s, repr(x), format(x, ">8"), len(str(x)) > 0)
    return s


@dtypes
def test_fstrings_print_pythons_text(dtype):
    for v in values_for(dtype):
        check(fstring_plain, T(v, dtype))
        check(fstring_specs, T(v, dtype))


@dtypes
def test_str_format_and_percent_formatting(dtype):
    for v in values_for(dtype):
        check(str_dot_format, T(v, dtype))
        check(percent_formatting, T(v, dtype))
        if dtype.is_integer:
            check(percent_int, T(v, dtype))


@dtypes
def test_str_repr_format_builtins(dtype):
    for v in values_for(dtype):
        check(str_repr_format, T(v, dtype))


def bools_and_lists(b, xs):
    print(f"{b} {b!r} {b:>6} {str(b)}")
    print(f"{xs} {str(xs)}")


def test_bools_and_lists_as_text():
    check(bools_and_lists, True, [1, 2, 3])
    check(bools_and_lists, False, [[1.5, 2.0], [0.1, -3.0]])


def strings_in_text(s):
    print(f"{s!r} [{s:>7}] [{s:.2}]", "<%s>" % s, "{!r}".format(s))


def test_string_tensors_in_text():
    check(strings_in_text, T("abc", tf.string))
    check(strings_in_text, T("it's", tf.string))


def hex_of(x):
    return f"{x:x}"


def test_unsupported_format_spec_names_the_line():
    with pytest.raises(NotImplementedError) as info:
        kgraph.function(hex_of)(tf.constant(255))
    assert isinstance(info.value, kgraph.StagingError)
    assert location(hex_of, 'return f"{x:x}"') in str(info.value)
    assert "hint" in str(info.value)


# =========================================================================
# builtins on tensors
# =========================================================================

def pair_values(dtype):
    if dtype.is_integer:
        return [(7, 2), (-7, 2), (7, -2), (-7, -2), (0, 3), (3, 3)]
    # (no -0.0: TensorFlow's eager scalar cache hands back 0.0 for it)
    return [(7.5, 2.0), (-7.5, 2.0), (7.5, -2.0), (-7.5, -2.0), (0.0, 3.0), (1.0, 0.25)]


def min_max(a, b):
    print(min(a, b), max(a, b), max(a, b, -100), min(100, a, b), min([a, b]), max((b, a)))
    return min(a, b) + max(a, b)


def reductions(t):
    print(min(t), max(t), sum(t), sum(t, 10), any(t), all(t), len(t))
    # (an empty float tensor sums to 0.0 where Python says 0: compare numbers)
    print(min(t, default=-1), max(t[:0], default=-1) == -1, sum(t[:0]) == 0, any(t[:0]),
          all(t[:0]))
    return sum(t)


def truth_of_lists(a, b):
    return any([a > 3, b > 3]), all([a > -10, b > -10, True]), any([False, a == b])


def divmods(a, b):
    q, r = divmod(a, b)
    print(q, r, divmod(a, 3), divmod(-a, b))
    return q * b + r


def rounding(x):
    print(round(x), round(x, 1), round(x, 2), round(x, 0), round(x, -1))
    return round(x)


@dtypes
def test_min_max_of_values(dtype):
    for a, b in pair_values(dtype):
        check(min_max, T(a, dtype), T(b, dtype))


@dtypes
def test_reductions_of_a_tensor(dtype):
    values = [3, -1, 4, 1, 5] if dtype.is_integer else [3.5, -1.25, 4.0, 0.0, 5.5]
    check(reductions, T(values, dtype))
    check(reductions, T(values[:1], dtype))


@dtypes
def test_any_all_of_lists_of_tensors(dtype):
    for a, b in pair_values(dtype):
        check(truth_of_lists, T(a, dtype), T(b, dtype))


@dtypes
def test_divmod_has_pythons_floor_semantics(dtype):
    for a, b in pair_values(dtype):
        check(divmods, T(a, dtype), T(b, dtype))


def test_divmod_float_edge_cases_like_cpython():
    # floor(1 / 0.1) is 10, but Python's divmod(1.0, 0.1) is (9.0, 0.0999...).
    for a, b in [(1.0, 0.1), (-1.0, 0.1), (5.0, -0.3), (1e-300, 3.0)]:
        check(divmods, T(a, tf.float64), T(b, tf.float64))


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("x", [0.5, 1.5, 2.5, -0.5, -2.5, 2.675, 0.25, 125.0, -3.75])
def test_round_is_bankers_rounding(x, dtype):
    check(rounding, T(x, dtype))


@pytest.mark.parametrize("dtype", [tf.int32, tf.int64], ids=["int32", "int64"])
@pytest.mark.parametrize("x", [25, 35, -25, -35, 7, 0])
def test_round_of_ints(x, dtype):
    check(rounding, T(x, dtype))


def count_down(a, b, s):
    total = a - a
    for i in range(a, b, s):
        total = total * 2 + i
    return total


def walk_back(t):
    out = t[0] - t[0]
    for v in reversed(t):
        out = out * 3 + v
    for i, v in enumerate(reversed(t)):
        print(i, v)
    for v, w in zip(t, reversed(t)):
        print(v - w)
    return out


@pytest.mark.parametrize("dtype", [tf.int32, tf.int64], ids=["int32", "int64"])
@pytest.mark.parametrize("args", [(10, 0, -3), (10, 0, -1), (0, 10, -2), (5, -5, -4),
                                  (-5, 5, 3)])
def test_range_with_negative_tensor_steps(args, dtype):
    check(count_down, *[T(v, dtype) for v in args])


@dtypes
def test_reversed_enumerate_zip_over_tensors(dtype):
    values = [3, -1, 4] if dtype.is_integer else [3.5, -1.25, 4.0]
    check(walk_back, T(values, dtype))


def min_mixed(x):
    return min(x, 2.5)


def test_min_of_int_tensor_and_float_is_a_type_error_at_the_line():
    with pytest.raises(TypeError) as info:
        kgraph.function(min_mixed)(tf.constant(3))
    assert isinstance(info.value, kgraph.StagingError)
    assert location(min_mixed, "return min(x, 2.5)") in str(info.value)
    assert "hint" in str(info.value)


def relu(x):
    return max(x, 0)


@dtypes
def test_python_number_in_min_max_takes_the_tensors_dtype(dtype):
    # Python returns the int 0 for negative x; the graph returns 0 of x's dtype
    # (the same number: weak typing, as tf.maximum(x, 0) does).
    for x in ([-3, 0, 4] if dtype.is_integer else [-3.5, 0.0, 4.25]):
        check(relu, T(x, dtype))


# =========================================================================
# Python strings changed by tensor control flow become string tensors
# =========================================================================

def fizzbuzz(n):
    # The 2018 AutoGraph demo.
    for i in range(1, n + 1):
        msg = ''
        if i % 3 == 0:
            msg += 'Fizz'
        if i % 5 == 0:
            msg += 'Buzz'
        if msg == '':
            msg = str(i)
        print(msg)
    return n


def label(x):
    name = 'zero'
    if x < 0:
        name = 'negative'
    elif x > 0:
        name = f'positive {x}'
    print('x is', name, len(name))
    return name


def stars(x):
    s = ''
    k = x - x
    while k < x:
        s = s + '*'
        k += 1
    return s + '|'


@pytest.mark.parametrize("dtype", [tf.int32, tf.int64], ids=["int32", "int64"])
def test_fizzbuzz(dtype):
    check(fizzbuzz, T(16, dtype))


@dtypes
def test_string_assigned_in_tensor_branches(dtype):
    for v in ([-2, 0, 5] if dtype.is_integer else [-2.5, 0.0, 5.25]):
        check(label, T(v, dtype))


@dtypes
def test_string_grown_in_tensor_loop(dtype):
    for v in [0, 3]:
        check(stars, T(v, dtype))


def string_or_number(x):
    out = 'none'
    if x > 0:
        out = 3
    return out


def test_string_in_one_branch_number_in_the_other_is_a_type_error():
    with pytest.raises(TypeError) as info:
        kgraph.function(string_or_number)(tf.constant(1))
    assert isinstance(info.value, kgraph.StagingError)
    assert location(string_or_number, "if x > 0:") in str(info.value)
    assert "'out'" in str(info.value) and "hint" in str(info.value)


# =========================================================================
# recursion through a tensor condition
# =========================================================================

def factorial(n):
    if n <= 1:
        return n - n + 1
    return n * factorial(n - 1)


def python_depth_sum(x, depth):
    # Recursion bounded by a Python value, with a tensor if at each level.
    if depth == 0:
        return x
    if x > 0:
        x = x - 1
    return python_depth_sum(x, depth - 1) + 1


def test_recursion_through_a_tensor_condition_is_a_clear_error():
    with pytest.raises(RecursionError) as info:
        kgraph.function(factorial)(tf.constant(5))
    assert isinstance(info.value, kgraph.RecursiveStagingError)
    assert isinstance(info.value, NotImplementedError)
    msg = str(info.value)
    assert location(factorial, "return n * factorial(n - 1)") in msg, msg
    assert "factorial" in msg and "hint" in msg
    # Stopped after a few levels, not at Python's recursion limit.
    frames = [f for f in traceback.extract_tb(info.tb) if f.name == "factorial"]
    assert len(frames) <= 2 * kgraph.operators.calls.RECURSION_LIMIT + 2, len(frames)


def test_recursion_on_python_values_still_works():
    check(factorial, Py(6))
    check(python_depth_sum, T(3, tf.int64), Py(5))


# =========================================================================
# comprehensions and generator expressions over tensors: graph loops
# =========================================================================

def comprehensions(t):
    doubled = [v * 2 for v in t]
    positive_total = sum(v for v in t if v > 0)
    has_negative = any(v < 0 for v in t)
    all_small = all(v < 100 for v in t)
    weighted = [v for i, v in enumerate(t) if v != 0 and i % 2 == 0]
    print(doubled, positive_total, has_negative, all_small, weighted)
    return doubled, positive_total, max(v * v for v in t)


def nested_comprehension(t):
    return [[v + w for w in t if w > v] for v in t]


@dtypes
def test_comprehensions_over_tensors(dtype):
    values = [3, -1, 0, 4] if dtype.is_integer else [3.5, -1.25, 0.0, 4.0]
    check(comprehensions, T(values, dtype))


def test_comprehension_over_unknown_length_tensor_is_a_graph_loop():
    f = kgraph.function(comprehensions, input_signature=[tf.TensorSpec([None], tf.int64)])
    doubled, total, biggest = f(tf.constant([3, -1, 0, 4], tf.int64))
    assert doubled.numpy().tolist() == [6, -2, 0, 8]
    assert int(total) == 7 and int(biggest) == 16
    doubled, total, biggest = f(tf.constant([5], tf.int64))   # same graph, other length
    assert doubled.numpy().tolist() == [10] and int(total) == 5


def test_nested_comprehension_on_python_values_is_python():
    check(nested_comprehension, Py([1, 2, 3]))


def after_loop(t):
    # 'last' is bound only if the loop ran: a value behind a run-time check.
    for v in t:
        last = v
    print(f"last={last}", str(last), last in (7, 8))
    return divmod(last, 2), round(last), max(last, 0), last or 1


@dtypes
def test_builtins_and_text_of_a_name_bound_in_a_tensor_loop(dtype):
    check(after_loop, T([5, 7] if dtype.is_integer else [5.5, 7.5], dtype))


def checked_positive(x):
    assert x > 0, f"x must be positive, got {x:.2f} ({x!r})"
    return x


@dtypes
def test_fstring_in_a_graph_assert_message_is_pythons_text(dtype):
    value = -1 if dtype.is_integer else -1.5
    with pytest.raises(AssertionError) as info:
        kgraph.function(checked_positive)(tf.constant(value, dtype))
    with pytest.raises(AssertionError) as python_info:
        checked_positive(value)
    expected = str(python_info.value).splitlines()[0]   # (pytest appends its own lines)
    assert expected == f"x must be positive, got {value:.2f} ({value!r})"
    assert expected in str(info.value)
    assert location(checked_positive, "assert x > 0") in str(info.value)
