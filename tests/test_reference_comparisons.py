"""Chained comparisons (``a < b < c``) on tensors: Python's meaning, in graphs too."""

import pytest

from reference_helpers import check


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


@pytest.mark.parametrize("n", [0, 1, 5])
def test_chained_comparison_in_while_test(n):
    check(count_in_window, n)


@pytest.mark.parametrize("args", [(5, 0, 10), (0, 0, 10), (-3, 0, 10), (12, 0, 10)])
def test_chained_comparison_in_if(args):
    check(classify, *args)
