"""Python numbers stay Python numbers after graph control flow (issue 8).

A Python number that a graph loop or branch carries but that meets no tensor
there comes out as a ``WeakTensor``: it takes the dtype of the tensor it
meets later (after the loop, in a return, in a comparison), prints as the int
or float Python would print, and leaves ``kgraph.function`` as a plain
tensor. Each test is differential (plain Python vs kgraph on tensors, results
and printed text) on int32, int64, float32 and float64.
"""

import pytest
import tensorflow as tf

import kgraph
from kgraph.errors import StagingTypeError
from kgraph.operators.weak import WeakTensor
from reference_helpers import Py, T, check, location

DTYPES = [tf.int32, tf.int64, tf.float32, tf.float64]
FLOATS = [tf.float32, tf.float64]


def num(v, dtype):
    dtype = tf.as_dtype(dtype)
    if isinstance(v, list):
        return T([float(x) if dtype.is_floating else int(x) for x in v], dtype)
    return T(float(v) if dtype.is_floating else int(v), dtype)


def ids(dtypes):
    return [tf.as_dtype(d).name for d in dtypes]


# ------------------------------------------- a weak number meets a tensor late

def weak_loop_then_early_return(x, y, n):
    a = 4
    b = x
    if not ((a - y) == y or (x + y) <= y):
        return (b * 0) % 97, x
    i1 = 0
    while i1 < n % 4:
        i1 += 1
        a = a // 3
    return a, x


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
@pytest.mark.parametrize("x, y", [(1, 2), (3, 8), (-2, 1)])
def test_number_carried_by_a_loop_meets_the_other_returns_dtype(dtype, x, y):
    # `a` meets no tensor in the while loop; the other return is of dtype.
    check(weak_loop_then_early_return, num(x, dtype), num(y, dtype), num(7, dtype))


def nested_loops_on_a_pair(x, t):
    pair = [0.0, 0.0]
    if x > 100:
        return x, x
    for v in t:
        for w in t:
            pair[1] += 1.5
    return pair[1], x


@pytest.mark.parametrize("dtype", FLOATS, ids=ids(FLOATS))
@pytest.mark.parametrize("x", [1, 200])
def test_float_in_a_list_changed_in_nested_loops_meets_the_return_dtype(dtype, x):
    check(nested_loops_on_a_pair, num(x, dtype), num([1, 2, 3], dtype))


def counter_compared_with_floats(y):
    i1 = 0
    while i1 < y % 4:
        i1 += 1
        print(i1, 'p7', i1)
    print(i1 * 2, i1 / 2, f"{i1}")
    return i1 + y


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
def test_int_compared_with_a_tensor_stays_an_int(dtype):
    # Python prints "1 p7 1": comparing with a float does not make it a float.
    check(counter_compared_with_floats, num(3, dtype))


def counter_becomes_float(y):
    i1 = 0
    k = 0
    while k < 3:
        k += 1
        i1 = i1 + y
    print(i1, k)
    return i1


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
def test_int_assigned_a_tensor_result_becomes_that_tensor(dtype):
    check(counter_becomes_float, num(1.5 if tf.as_dtype(dtype).is_floating else 2, dtype))


# ---------------------------------------------------------------- enumerate

def enumerate_values(t):
    total = t[0] * 0
    for j, v in enumerate(t):
        total = total + v + j
        print(j, v + j)
    return total


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
def test_enumerate_index_is_a_python_int(dtype):
    check(enumerate_values, num([4, 1, 3], dtype))


def enumerate_from(t, start):
    last = 0
    for j, v in enumerate(t, start):
        last = j
        print(j * 2, j < v)
    return last + t[0]


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
def test_enumerate_index_with_a_start(dtype):
    check(enumerate_from, num([4, 1, 3], dtype), Py(5))


# ----------------------------------------------- a weak value after an if

def number_from_a_tensor_if(x, y):
    if x > 0:
        k = 2
    else:
        k = 5
    print(k, k / 2)
    return k * y, k


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
@pytest.mark.parametrize("x", [1, -1])
def test_number_chosen_by_a_tensor_if_stays_weak(dtype, x):
    check(number_from_a_tensor_if, num(x, dtype), num(3, dtype))


def weak_builtins(x, n):
    k = 0
    while k < n:
        k += 1
    q, r = divmod(k + 5, 3)
    print(q, r, max(k, 2), min(k, 1), abs(-k), round(k / 2))
    return max(k, x), q * x, r + x


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
def test_builtins_of_weak_numbers(dtype):
    check(weak_builtins, num(3, dtype), num(4, dtype))


def membership(x, n):
    k = 0
    while k < n:
        k += 1
    return k in (1, 2, 3), x in (k, 0), k == x


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
@pytest.mark.parametrize("n", [2, 4])
def test_membership_of_weak_numbers(dtype, n):
    check(membership, num(2, dtype), num(n, dtype))


# -------------------------------------------------------------- boundaries

def counter(n):
    k = 0
    while k < n:
        k += 1
    return k, (k, [k])


def test_function_outputs_are_plain_tensors():
    out = kgraph.function(counter)(tf.constant(3, tf.int64))
    leaves = tf.nest.flatten(out)
    assert all(type(v) is not WeakTensor and tf.is_tensor(v) for v in leaves)
    assert [int(v) for v in leaves] == [3, 3, 3]


def weak_into_tf(x, n):
    k = 0
    j = 0
    while j < 3:
        j += 1
        k += 2
    return tf.cast(k, tf.float64) + x, tf.reduce_sum(tf.stack([k, n])), tf.maximum(n, k)


def test_tensorflow_ops_receive_plain_tensors():
    a, b, c = kgraph.function(weak_into_tf)(tf.constant(0.5, tf.float64),
                                            tf.constant(4, tf.int64))
    assert a.dtype == tf.float64 and float(a) == 6.5
    assert b.dtype == tf.int64 and int(b) == 10
    assert c.dtype == tf.int64 and int(c) == 6


def test_default_dtypes_are_int32_and_float32():
    @kgraph.function
    def f(x):
        k = 0
        h = 0.0
        while x > k:
            k += 1
            h += 0.5
        return k, h

    k, h = f(tf.constant(3.0))
    assert k.dtype == tf.int32 and h.dtype == tf.float32


# ------------------------------------------------------------------ errors

def float_weak_meets_int(x, n):
    h = 0.0
    j = 0
    while j < 3:
        j += 1
        h += 0.5
    return n + h


def test_a_weak_float_does_not_become_an_int_tensor():
    # Python would compute a float; a graph int tensor cannot hold it, as
    # `int64_tensor + 1.5` cannot: a TypeError, as TensorFlow's.
    with pytest.raises(TypeError, match="float"):
        kgraph.function(float_weak_meets_int)(tf.constant(1.0), tf.constant(4, tf.int64))


def int_or_float_by_branch(x):
    k = 0
    j = 0
    while j < 2:
        j += 1
        k += 1
    if x > 0:
        r = k
    else:
        r = 0.5
    return r


def test_int_in_one_branch_and_float_in_the_other_is_a_type_error():
    with pytest.raises(TypeError) as info:
        kgraph.function(int_or_float_by_branch)(tf.constant(1.0))
    assert isinstance(info.value, StagingTypeError)
    assert "'r'" in str(info.value)
    assert location(int_or_float_by_branch, "if x > 0") in str(info.value)


def counter_compared_with_a_python_float(x, n):
    b = 3.0
    i1 = 0
    while i1 < b % 4 and x >= 0:
        i1 += 1
        if n < i1:
            return x * 2
    print(i1)
    return x + i1


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
def test_int_compared_with_a_python_float_stays_an_int(dtype):
    # `i1 < 3.0` in the scratch trace must not make i1 a float: it meets n's
    # int dtype there (a float meeting ints would be an error).
    n = T(5, tf.int32) if tf.as_dtype(dtype).is_floating else num(5, dtype)
    check(counter_compared_with_a_python_float, num(1, dtype), n)


def weak_in_and_or(x, t):
    c = 5
    j = 0
    while j < 2:
        j += 1
        c = c - 1
    b = c and max(t)
    e = (0 * c) or x
    return b, e, (c or 8) + x


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
def test_weak_number_in_and_or_takes_the_other_operands_dtype(dtype):
    check(weak_in_and_or, num(2, dtype), num([4, 9, 1], dtype))


def bound_in_a_loop(x, n, t):
    for j in range(n + 1):
        last = 3
    return x + last, last * 2


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
def test_number_first_bound_in_a_loop_stays_weak(dtype):
    n = T(2, tf.int32) if tf.as_dtype(dtype).is_floating else num(2, dtype)
    check(bound_in_a_loop, num(2, dtype), n, num([4, 9, 1], dtype))


def divmod_round_in_a_loop(x, n):
    a = 5
    c = 0
    i = 0
    while i < n:
        i += 1
        if round(a) == 5:
            c, b = divmod(a, 3)
        else:
            c, a = divmod(x, 4)
    return a, c


@pytest.mark.parametrize("dtype", [tf.int32, tf.int64], ids=ids([tf.int32, tf.int64]))
def test_divmod_and_round_of_a_number_the_loop_carries(dtype):
    check(divmod_round_in_a_loop, num(9, dtype), num(2, dtype))


def branch_number_vs_tensor(x, t):
    z = x
    for v in t:
        if v > 1:
            if x > 100:
                return x
            else:
                z = 3.0
        else:
            z = v * 2
    return z + x


@pytest.mark.parametrize("dtype", FLOATS, ids=ids(FLOATS))
def test_number_in_one_branch_tensor_in_the_other(dtype):
    check(branch_number_vs_tensor, num(1, dtype), num([2, 0.5, 3], dtype))


def weak_arithmetic(x, n):
    k = 0
    while k < n:
        k += 1
    h = k + 0.5
    print(k % 3, k // 2, h % 2.0, -h // 2.0, int(h), float(k), k ** 2)
    return x % (k + 1), x // (k - 1), k * x


@pytest.mark.parametrize("dtype", DTYPES, ids=ids(DTYPES))
def test_python_arithmetic_of_weak_values(dtype):
    check(weak_arithmetic, num(7, dtype), num(4, dtype))
