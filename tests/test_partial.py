"""Names bound on some paths only (issue 9): Python's definedness, exactly.

Where Python finds a name bound, the converted function gives Python's value
and prints Python's text; where Python raises UnboundLocalError, kgraph raises
``kgraph.UndefinedVariableError`` (an ``UnboundLocalError``) naming the
variable and the user's file and line that read it: on plain values as soon
as the read runs, on tensors at run time (a graph "bound" flag checked where
the definite-assignment analysis cannot prove the name bound). Never a wrong
value, never a placeholder object leaking out.
"""

import pytest
import tensorflow as tf

import kgraph
from reference_helpers import (Py, T, captured_stdout, check, converted, graph_function,
                               location, python_value, tensor_value)

DTYPES = (tf.int32, tf.int64, tf.float32, tf.float64)


def check_unbound(fn, values, name, read_text, made_text=None):
    """Python raises UnboundLocalError on ``values``: so must ``to_graph`` on
    plain values and ``kgraph.function`` on tensors, as UndefinedVariableError,
    naming ``name`` and the line of ``fn`` containing ``read_text`` (and, for
    the graph, the statement containing ``made_text`` that leaves it unbound).
    Printed text before the error must be Python's."""
    with pytest.raises(UnboundLocalError), captured_stdout() as want:
        fn(*[python_value(v) for v in values])
    paths = [("to_graph on Python values", converted(fn), [python_value(v) for v in values],
              None),
             ("kgraph.function", graph_function(fn), [tensor_value(v) for v in values],
              made_text)]
    for label, runner, args, made in paths:
        with pytest.raises(kgraph.UndefinedVariableError) as info, captured_stdout() as out:
            runner(*args)
        err = info.value
        assert isinstance(err, UnboundLocalError), (label, type(err))
        msg = str(err)
        assert f"'{name}'" in msg, (label, msg)
        assert msg.startswith(location(fn, read_text) + ":"), (label, msg)
        if made is not None:
            assert location(fn, made) in msg, (label, msg)
        assert "hint" in msg, (label, msg)
        assert out.text == want.text, (label, out.text, want.text)


def _as(v, dtype):
    return T(v, dtype) if isinstance(v, (int, float, list)) and not isinstance(v, bool) else v


def each_dtype(fn, *values):
    for dtype in DTYPES:
        check(fn, *[_as(v, dtype) for v in values])


def unbound_each_dtype(fn, values, *rest):
    for dtype in DTYPES:
        check_unbound(fn, [_as(v, dtype) for v in values], *rest)


# ------------------------------------------- 4: one branch binds, read after

def one_branch_then_read(x):
    if x > 0:
        z = 1
    print("after the if")
    return z


def test_one_branch_then_read_gives_pythons_value_where_bound():
    each_dtype(one_branch_then_read, 3)


def test_one_branch_then_read_raises_pythons_error_where_unbound():
    # to_graph on plain values used to return an Undefined('z') object.
    unbound_each_dtype(one_branch_then_read, [-2], "z", "return z", "if x > 0:")


# ------------------------------- 1: bound on every path that does not return

def nested_one_branch(x, y, n):
    a = y % 5
    b = x % 3
    c = n % 2 - 1
    if b % 2 == 1:
        b, c = divmod(y, 3)
    elif (y - a) != x:
        if n >= 4 and a <= 1:
            if not c == -1:
                return 4, b
        else:
            z3 = y // 2
        a = (a + z3) % 97
    return a, b


def test_bound_on_every_path_that_does_not_return():
    # Was a conversion-time OneBranchError for z3.
    for x, y, n in ((1, 5, 2), (0, 5, 5), (0, 5, 2), (0, 7, 4)):
        each_dtype(nested_one_branch, x, y, n)


def test_path_that_falls_through_unbound_raises_at_run_time():
    # n >= 4, a <= 1 and c == -1: the inner if neither returns nor binds z3.
    unbound_each_dtype(nested_one_branch, [0, 5, 4], "z3", "a = (a + z3) % 97",
                       "if n >= 4 and a <= 1:")


def every_path_but_return_in_tensor_loop(y, n, t):
    a = (y + n) % 97
    b = 1
    for v in t:
        if n == n:
            if not (y >= b or a % 3 == 0):
                if v not in (0, 3):
                    return a, b
                else:
                    z2 = (y - a) % 97
            else:
                z2 = (b - a) % 97
            b = (b + z2) % 97
    return a, b


def test_bound_on_every_path_that_does_not_return_in_a_tensor_loop():
    for y, n, t in ((4, 0, [7, -2]), (-5, 1, [3, 1]), (-5, 0, [0, 5])):
        each_dtype(every_path_but_return_in_tensor_loop, y, n, t)


# -------------------- 2: a loop index read after its loop, in a later loop

def print_index_after_inner_loop(n, t):
    for v1 in t:
        i2 = 0
        while i2 < 4:
            i2 += 1
        for j3 in range(n + 1):
            pass
        print(j3)
    return n


def print_index_in_loop_else(x, n, t):
    for j1 in range(n + 1):
        last1 = t[-1]
    for v2 in t:
        x = v2
    else:
        print("p1", j1)
    return x


def test_loop_index_printed_after_its_loop_is_its_value():
    # Printed "MaybeUnbound('j3', <tf.Tensor ...>)" instead of the value.
    each_dtype(print_index_after_inner_loop, 2, [1, 2])
    each_dtype(print_index_in_loop_else, 2, 4, [0, 4])


def test_loop_index_after_a_loop_that_ran_zero_times():
    unbound_each_dtype(print_index_after_inner_loop, [-1, [1]], "j3", "print(j3)",
                       "for j3 in range(n + 1):")


# ------------------ 3: a parameter reassigned in a loop with an early return

def parameter_rebound_with_early_return(x, y, n):
    a = y % 6
    b = y % 3
    c = x % 2
    for j1 in range(-1, n % 2 + 0):
        i2 = n - n
        while i2 < 1:
            i2 += 1
            if j1 <= i2 and c < b:
                x = c
                if (y - y) == c:
                    return y // 4, c // 4, (x - 1) % 97
            else:
                if (a - b) != 4 and (y + -1) <= c:
                    break
    return a, b, c


def test_parameter_rebound_in_a_loop_with_an_early_return():
    # (integers only: Python's range() refuses the floats n % 2 gives)
    for dtype in (tf.int32, tf.int64):
        for x, y, n in ((5, 6, 3), (4, 5, 1), (2, 7, 0), (3, 1, 2)):
            check(parameter_rebound_with_early_return, T(x, dtype), T(y, dtype), T(n, dtype))


# ---------- 5: a variable read in a loop body before the body binds it

def read_before_bound_in_body(n):
    s = 0
    for i in tf.range(n):
        if i > 2:
            s = s + last
        last = i * 2
    return s


def read_before_bound_tensor_sum(n):
    s = n - n      # tensors on the tensor paths: no Python number to learn
    i = n - n
    while i < n:
        if i > 0:
            s = s + prev
            print("prev", prev > 1)
        prev = i
        i += 1
    return s


def read_on_first_iteration(n):
    s = 0
    for i in range(n):
        s = s + last
        last = i
    return s


def test_variable_read_before_the_body_binds_it():
    # Was 'used before it is assigned' while tracing (or zeros on the first
    # iteration): Python reads the value an earlier iteration bound.
    for dtype in (tf.int32, tf.int64):
        for n in (0, 2, 5):
            assert int(kgraph.function(read_before_bound_in_body)(tf.constant(n, dtype))) \
                == sum(2 * i for i in range(2, n - 1))
    for n in (0, 1, 4):
        each_dtype(read_before_bound_tensor_sum, n)


def test_variable_read_before_any_iteration_bound_it():
    unbound_each_dtype(read_on_first_iteration, [3], "last", "s = s + last")
    each_dtype(read_on_first_iteration, 0)


# ------------------------- 6: del on one branch of a tensor if, read after

def deleted_in_a_branch(x):
    z = x * 2
    if x > 0:
        del z
        w = 1
    else:
        w = 2
    print("after the if")
    return z + w


def deleted_in_a_loop(n):
    for i in range(n):
        z = i
        if i > 1:
            del z
    return z


def test_del_on_one_branch_then_read():
    each_dtype(deleted_in_a_branch, -3)
    unbound_each_dtype(deleted_in_a_branch, [3], "z", "return z + w", "if x > 0:")


def test_del_in_a_loop_then_read():
    each_dtype(deleted_in_a_loop, 2)
    unbound_each_dtype(deleted_in_a_loop, [3], "z", "return z")
    unbound_each_dtype(deleted_in_a_loop, [0], "z", "return z")


# ----------------------------------------- the generated code stays small

def test_only_reads_that_may_be_unbound_are_checked():
    code = kgraph.to_code(nested_one_branch)
    assert code.count("kg__.bound(") == 1, code
    assert "kg__.bound(z3)" in code, code
    assert "kg__.bound" not in kgraph.to_code(deleted_in_a_branch).replace(
        "kg__.bound(z)", ""), kgraph.to_code(deleted_in_a_branch)


def test_python_path_never_returns_a_placeholder():
    out = converted(one_branch_then_read)(5)
    assert out == 1
    with pytest.raises(kgraph.UndefinedVariableError):
        converted(one_branch_then_read)(-5)
