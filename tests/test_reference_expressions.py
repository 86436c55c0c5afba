"""Expressions keep Python's exact meaning on tensors of every dtype (issue 8).

Chained comparisons with any operands, ``and``/``or`` returning the operand
that decided, membership (``in``/``not in``), nested conditional
expressions. Each case runs differentially (plain Python vs the converted
function in a graph, reference_helpers.check) on int32, int64, float32 and
float64 tensors.
"""

import pytest
import tensorflow as tf

import kgraph
from reference_helpers import T, check, location

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
