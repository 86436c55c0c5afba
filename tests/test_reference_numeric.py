"""Arithmetic keeps Python's exact meaning on tensors of every dtype (issue 8).

``%`` and ``//`` floor like Python on ints and floats, with CPython's float
algorithm (``1.0 // 0.1 == 9.0``, ``-2.0 % 2.0 == 0.0``); ``**`` of an int to
a negative int is a float; an int meeting a Python float computes in floats;
``/`` of ints is a float; ``int()``, ``float()``, ``bool()``, ``abs()`` of
tensors. Each case runs differentially (plain Python vs the converted function
in a graph, reference_helpers.check: same results, same printed text) on
int32, int64, float32 and float64 tensors. The run-time errors (an integer
division by zero, an int to a negative int power) name the builtin, the
expression, the user's file and line.
"""

import math
from math import sqrt

import pytest
import tensorflow as tf

import kgraph
from reference_helpers import T, check, location

DTYPES = [tf.int32, tf.int64, tf.float32, tf.float64]
DTYPE_IDS = ["int32", "int64", "float32", "float64"]
INTS = [tf.int32, tf.int64]


def dtypes(fn):
    return pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)(fn)


def ints(fn):
    return pytest.mark.parametrize("dtype", INTS, ids=["int32", "int64"])(fn)


def operand_pairs(dtype):
    """Every sign combination, zero results of both signs, exact in float32."""
    if dtype.is_integer:
        return [(7, 2), (-7, 2), (7, -2), (-7, -2), (0, 3), (6, 3), (-6, 3), (6, -3),
                (-6, -3), (5, 7), (-5, 7), (5, -7), (1, 1)]
    # (no -0.0 argument: TensorFlow's eager scalar cache hands back 0.0 for it;
    # -a below makes one inside the function)
    return [(7.5, 2.0), (-7.5, 2.0), (7.5, -2.0), (-7.5, -2.0), (0.0, 3.0), (-2.0, 2.0),
            (2.0, -2.0), (-4.0, 2.0), (4.0, -2.0), (0.5, 0.25), (-0.5, 0.25), (3.0, 0.75),
            (0.0, -3.0)]


# =========================================================================
# % and //
# =========================================================================

def remainders(a, b):
    print(a % b, a // b, (-a) % b, (-a) // b, f"<{a % b}|{a // b}|{(a - a) % b}>")
    print(a % 3, 7 % b, a // 3, 7 // b, a % -3, a // -3)
    return a % b, a // b


def augmented(a, b):
    c = a
    c %= b
    d = a
    d //= b
    e = [a, b]
    e[0] %= b
    box = Box(a)
    box.v //= b
    print(c, d, e[0], box.v)
    return c, d, e[0], box.v


class Box:
    def __init__(self, v):
        self.v = v


@dtypes
def test_mod_and_floordiv_floor_like_python(dtype):
    for a, b in operand_pairs(dtype):
        check(remainders, T(a, dtype), T(b, dtype))


@dtypes
def test_augmented_mod_and_floordiv(dtype):
    for a, b in operand_pairs(dtype)[:6]:
        check(augmented, T(a, dtype), T(b, dtype))


@pytest.mark.parametrize("a, b", [(1.0, 0.1), (-1.0, 0.1), (5.0, -0.3), (1e-300, 3.0),
                                  (0.3, 0.1), (7.0, 0.7), (-7.0, 0.7), (5.0, math.inf),
                                  (-5.0, math.inf), (5.0, -math.inf),
                                  (2.0 ** 60 + 2.0 ** 8, 3.0)])
def test_float_floordiv_and_mod_are_cpythons(a, b):
    # floor(1.0 / 0.1) is 10.0; Python's 1.0 // 0.1 is 9.0 ((a - a % b) / b).
    check(remainders, T(a, tf.float64), T(b, tf.float64))


def test_float_zero_remainder_has_the_divisors_sign():
    # The repro of tests/property_repros.py: -2.0 % 2.0 printed -0.0.
    f = kgraph.function(remainders)
    r, q = f(tf.constant(-2.0, tf.float64), tf.constant(2.0, tf.float64))
    assert math.copysign(1.0, float(r)) == 1.0 and float(q) == -1.0
    r, q = f(tf.constant(2.0, tf.float64), tf.constant(-2.0, tf.float64))
    assert math.copysign(1.0, float(r)) == -1.0


@ints
def test_int64_beyond_int32(dtype):
    if dtype == tf.int64:
        for a, b in [(2 ** 40 + 1, 3), (-(2 ** 40) - 1, 3), (2 ** 40 + 1, -(2 ** 35))]:
            check(remainders, T(a, dtype), T(b, dtype))


# =========================================================================
# an int tensor meeting a Python float; ** ; /
# =========================================================================

def int_meets_float(n):
    q, r = divmod(n, 2.5)
    print(n % 2.5, n // 2.5, q, r, n ** 0.5 if n >= 0 else n ** 2.0, 2.0 ** n, n / 4)
    return n % 2.5, n // 2.5


@ints
@pytest.mark.parametrize("n", [7, -7, 0, 10])
def test_int_tensor_meeting_a_python_float_is_a_float(n, dtype):
    check(int_meets_float, T(n, dtype))


def negative_powers(x):
    print(x ** -1, x ** -2, (x * 2) ** -3, x ** 2, x ** 0, 2 ** 3, pow(x, -1), pow(7, 2, 5))
    return x ** -1, x ** 2


@dtypes
def test_power_to_a_negative_int_is_a_float(dtype):
    for x in ([3, -7, 1, 2] if dtype.is_integer else [2.0, -4.0, 0.5, 1.0]):
        check(negative_powers, T(x, dtype))


def int_powers(x, y):
    print(x ** y, 2 ** y, y ** 2, pow(x, y))
    return x ** y


@dtypes
def test_power_of_tensors(dtype):
    for x, y in ([(3, 4), (-2, 3), (0, 0), (5, 1)] if dtype.is_integer
                 else [(3.0, 4.0), (-2.0, 3.0), (0.0, 0.0), (2.0, -2.0), (4.0, -1.0)]):
        check(int_powers, T(x, dtype), T(y, dtype))


def true_division(a, b):
    print(a / b, a / 4, 1 / b, (a + b) / (b * 2))
    return a / b


@dtypes
def test_true_division(dtype):
    # ints: a float, float64 like Python's (1 / 3 prints all 16 digits)
    for a, b in ([(7, 2), (-7, 2), (1, 3), (2, -3)] if dtype.is_integer
                 else [(7.5, 2.0), (-7.5, 0.5), (1.0, 4.0)]):
        check(true_division, T(a, dtype), T(b, dtype))


# =========================================================================
# int(), float(), bool(), abs() of tensors
# =========================================================================

def conversions(x):
    i, f, b = int(x), float(x), bool(x)
    print(i, f, b, int(x * 3), float(x) / 4, bool(x - x), abs(x), abs(-x), int(-x))
    if bool(x):
        i = i + 1
    return i, f, b, abs(x)


@dtypes
def test_int_float_bool_abs_of_tensors(dtype):
    for x in ([7, -7, 0, 1] if dtype.is_integer else [2.5, -2.75, 0.0, 7.0, -0.5, 1e6]):
        check(conversions, T(x, dtype))


def test_conversion_dtypes():
    f = kgraph.function(lambda x: (int(x), float(x), bool(x)))
    assert [v.dtype for v in f(tf.constant(2.5))] == [tf.int32, tf.float32, tf.bool]
    assert [v.dtype for v in f(tf.constant(2.5, tf.float64))] == [tf.int64, tf.float64,
                                                                  tf.bool]
    assert [v.dtype for v in f(tf.constant(2))] == [tf.int32, tf.float64, tf.bool]


def bool_of_a_vector(t):
    return bool(t)


def test_bool_of_a_vector_is_a_value_error_at_the_line():
    with pytest.raises(ValueError) as info:
        kgraph.function(bool_of_a_vector)(tf.constant([1, 2]))
    assert isinstance(info.value, kgraph.StagingError)
    assert location(bool_of_a_vector, "return bool(t)") in str(info.value)
    assert "hint" in str(info.value)


# =========================================================================
# value-dependent Python types: the documented rule (docs/converter.md)
# =========================================================================

def relu(x):
    return max(x, 0)


def gate(x, y):
    return x > 0 and y


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["float32", "float64"])
def test_python_number_that_wins_takes_the_tensors_dtype(dtype):
    # Python returns the int 0 when 0 wins; the graph returns 0 of x's dtype.
    out = kgraph.function(relu)(tf.constant(-3.5, dtype))
    assert out.dtype == dtype and float(out) == 0.0
    # x > 0 and y: Python gives False or y; the graph gives 0 or y of y's dtype.
    out = kgraph.function(gate)(tf.constant(-1, tf.int64), tf.constant(5.5, dtype))
    assert out.dtype == dtype and float(out) == 0.0


# =========================================================================
# run-time errors: the builtin, the expression, the user's line
# =========================================================================

def floor_divide(a, b):
    c = a + 1
    return c // b


def remainder_of(a, b):
    c = a + 1
    return c % b


def divmod_of(a, b):
    return divmod(a, b)


@ints
@pytest.mark.parametrize("fn, line", [(floor_divide, "return c // b"),
                                      (remainder_of, "return c % b"),
                                      (divmod_of, "return divmod(a, b)")])
def test_integer_division_by_zero_is_a_zero_division_error(fn, line, dtype):
    with pytest.raises(ZeroDivisionError) as info:
        kgraph.function(fn)(tf.constant(7, dtype), tf.constant(0, dtype))
    err = info.value
    assert isinstance(err, kgraph.GraphZeroDivisionError)
    assert isinstance(err, kgraph.KGraphError)
    msg = str(err)
    assert location(fn, line) in msg, msg
    assert line.replace("return ", "") in msg      # names the divisor's expression
    assert "hint" in msg


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["float32", "float64"])
def test_float_division_by_zero_is_ieee_in_a_graph(dtype):
    # Documented: no error in a graph for floats (inf/nan, as NumPy and TensorFlow).
    out = kgraph.function(floor_divide)(tf.constant(7.0, dtype), tf.constant(0.0, dtype))
    assert math.isnan(float(out)) or math.isinf(float(out))


def power_of(x, y):
    z = x * 1
    return z ** y


@ints
def test_int_to_a_negative_int_tensor_power_is_a_type_error_at_the_line(dtype):
    f = kgraph.function(power_of)
    assert int(f(tf.constant(2, dtype), tf.constant(3, dtype))) == 8
    with pytest.raises(TypeError) as info:
        f(tf.constant(2, dtype), tf.constant(-3, dtype))
    assert isinstance(info.value, kgraph.StagingTypeError)
    msg = str(info.value)
    assert location(power_of, "return z ** y") in msg, msg
    assert "z ** y" in msg and "hint" in msg


def modular_power(x):
    return pow(x, 3, 5)


def test_three_argument_pow_of_a_tensor_is_refused_at_the_line():
    with pytest.raises(NotImplementedError) as info:
        kgraph.function(modular_power)(tf.constant(4))
    assert isinstance(info.value, kgraph.StagingError)
    assert location(modular_power, "return pow(x, 3, 5)") in str(info.value)
    assert "hint" in str(info.value)


# =========================================================================
# the math module on tensors
# =========================================================================

def math_functions(x):
    print(math.floor(x), math.ceil(x), math.trunc(x), math.fabs(x), math.copysign(3, x),
          math.fmod(x, 2), sqrt(x * x), math.isnan(x), math.isinf(x), math.pow(x, 2),
          math.floor(x / 2), math.isfinite(x))
    return math.floor(x) + 1, math.ceil(x / 4), sqrt(abs(x)), math.exp(x - x)


@dtypes
def test_math_functions_of_tensors(dtype):
    for x in ([7, -7, 0, 3] if dtype.is_integer else [2.5, -2.5, 0.0, -0.5, 7.0]):
        check(math_functions, T(x, dtype))


def greatest_divisor(x):
    return math.gcd(x, 12)


def test_math_function_without_a_graph_twin_is_refused_at_the_line():
    with pytest.raises(NotImplementedError) as info:
        kgraph.function(greatest_divisor)(tf.constant(8))
    assert isinstance(info.value, kgraph.StagingError)
    msg = str(info.value)
    assert location(greatest_divisor, "return math.gcd(x, 12)") in msg and "gcd" in msg
    assert "hint" in msg
