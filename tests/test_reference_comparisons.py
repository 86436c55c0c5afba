"""Chained comparisons (``a < b < c``) on tensors: Python's meaning, in graphs too,
on int32, int64, float32 and float64 tensors."""

import pytest
import tensorflow as tf

from reference_helpers import T, check

DTYPES = [tf.int32, tf.int64, tf.float32, tf.float64]


def dtypes(fn):
    return pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)(fn)


def count_in_window(n):
    i = 0
    s = 0
    while 0 <= i < n:
        s += i
        i += 1
    return s


def classify(x, lo, hi):
    if lo < x <= hi:
        return 1
    if x <= lo < hi:
        return 0
    return -1


def mixed_chain(x, y):
    # Python numbers in the chain, an expression in the middle, and a chain as
    # a value (a bool), printed.
    inside = -1 < x * 2 <= y + 1 < 100
    print(inside, 0 < x != y, x == y == x)
    return inside


@dtypes
@pytest.mark.parametrize("n", [0, 1, 5])
def test_chained_comparison_in_while_test(n, dtype):
    check(count_in_window, T(n, dtype))


@dtypes
@pytest.mark.parametrize("args", [(5, 0, 10), (0, 0, 10), (-3, 0, 10), (12, 0, 10)])
def test_chained_comparison_in_if(args, dtype):
    check(classify, *[T(v, dtype) for v in args])


@dtypes
@pytest.mark.parametrize("args", [(0, 0), (1, 3), (3, 1), (-1, 5), (60, 200)])
def test_chained_comparison_with_python_numbers_as_a_value(args, dtype):
    check(mixed_chain, *[T(v, dtype) for v in args])
