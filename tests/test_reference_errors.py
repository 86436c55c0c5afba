"""Error cases of the converter (issue 2): clear, at the user's line, never silent.

Every error asserts its type, that the message names the variable(s)
involved, that it carries a hint, and that it names this file and the exact
line of the offending statement.
"""

import traceback
import warnings

import pytest
import tensorflow as tf

import kgraph
from reference_helpers import line_of, location, to_python

HERE = __file__


def expect(error_type, fn, *args, **options):
    """Run ``kgraph.function(fn, **options)(*args)``; return the raised error."""
    with pytest.raises(error_type) as info:
        kgraph.function(fn, **options)(*args)
    return info.value


def assert_names(message, *names):
    for name in names:
        assert f"'{name}'" in message or f"`{name}`" in message, (
            f"the message does not name {name!r}:\n{message}")


def assert_hint(message):
    assert "hint" in message.lower(), f"the message gives no hint:\n{message}"


# =========================================================================
# a variable defined in only one branch of a tensor if, used after it
# =========================================================================

def only_in_true_branch(x):
    if x > 0:
        y = x * 2
    return y


def only_in_else_branch(x):
    if x > 0:
        x = x + 1
    else:
        bonus = 10
    return x + bonus


def several_in_one_branch(x):
    if x > 0:
        a = x
        b = x * 2
    else:
        c = 1
    return a + b + c


def only_in_elif(x):
    if x > 10:
        r = 1
    elif x > 0:
        r = 2
        extra = 5
    else:
        r = 3
    return r + extra


def test_variable_defined_in_one_branch():
    # Python's semantics (issue 9): where Python finds y bound it works; where
    # Python raises UnboundLocalError, the graph raises it at run time, at the
    # reading line, naming the if that leaves y unbound.
    assert int(kgraph.function(only_in_true_branch)(tf.constant(3))) == 6
    err = expect(kgraph.StagingError, only_in_true_branch, tf.constant(-3))
    assert isinstance(err, UnboundLocalError), type(err)
    msg = str(err)
    assert msg.startswith(location(only_in_true_branch, "return y") + ": "), msg
    assert location(only_in_true_branch, "if x > 0:") in msg, msg
    assert_names(msg, "y")
    assert_hint(msg)


def test_variable_defined_only_in_else_branch():
    assert int(kgraph.function(only_in_else_branch)(tf.constant(-3))) == 7
    msg = str(expect(kgraph.StagingError, only_in_else_branch, tf.constant(3)))
    assert location(only_in_else_branch, "return x + bonus") in msg, msg
    assert location(only_in_else_branch, "if x > 0:") in msg, msg
    assert_names(msg, "bonus")
    assert_hint(msg)


def test_every_variable_defined_in_one_branch_is_named():
    # The first variable the path that ran left unbound is the one named,
    # as in Python: c when x > 0, a when not.
    for x, name in ((3, "c"), (-3, "a")):
        msg = str(expect(kgraph.UndefinedVariableError, several_in_one_branch,
                         tf.constant(x)))
        assert location(several_in_one_branch, "return a + b + c") in msg, msg
        assert location(several_in_one_branch, "if x > 0:") in msg, msg
        assert_names(msg, name)
        assert_hint(msg)


def test_variable_defined_in_elif_branch():
    assert int(kgraph.function(only_in_elif)(tf.constant(3))) == 7
    for x in (20, -1):
        msg = str(expect(kgraph.UndefinedVariableError, only_in_elif, tf.constant(x)))
        assert location(only_in_elif, "return r + extra") in msg, msg
        # the message names a tensor if that leaves `extra` unbound
        assert (location(only_in_elif, "elif x > 0:") in msg
                or location(only_in_elif, "if x > 10:") in msg), msg
        assert_names(msg, "extra")
        assert_hint(msg)


def defined_only_in_loop(n):
    i = 0
    while i < n:
        last = i
        i += 1
    return last


def test_variable_defined_only_inside_tensor_loop():
    # Issue 9: valid Python when the loop runs (Python's result), and Python's
    # UnboundLocalError, at run time, when it runs zero times.
    assert int(kgraph.function(defined_only_in_loop)(tf.constant(3))) == 2
    msg = str(expect(kgraph.UndefinedVariableError, defined_only_in_loop, tf.constant(0)))
    assert location(defined_only_in_loop, "while i < n:") in msg, msg
    assert_names(msg, "last")
    assert_hint(msg)


# =========================================================================
# loop variables whose dtype or nesting changes across a tensor loop
# =========================================================================

def float_becomes_int_while(n):
    x = tf.constant(0.0)
    i = 0
    while i < n:
        x = i
        i += 1
    return x


def float_becomes_int_for(n):
    acc = tf.constant(1.5)
    for i in range(n):
        acc = i * 2
    return acc


def nesting_changes(n):
    state = (0, 0)
    i = 0
    while i < n:
        state = i
        i += 1
    return state


def none_becomes_tensor(xs):
    best = None
    for v in xs:
        if best is None or v > best:
            best = v
    return best


def list_grows_by_concatenation(xs):
    out = []
    for v in xs:
        out = out + [v * 2]
    return kgraph.stack(out)


def test_loop_variable_dtype_change_in_while():
    msg = str(expect(kgraph.StagingError, float_becomes_int_while, tf.constant(3)))
    assert msg.startswith(location(float_becomes_int_while, "while i < n:") + ": "), msg
    assert_names(msg, "x")
    assert "float32" in msg and "int32" in msg, msg
    assert_hint(msg)


def test_loop_variable_dtype_change_in_for():
    msg = str(expect(kgraph.StagingError, float_becomes_int_for, tf.constant(3)))
    assert location(float_becomes_int_for, "for i in range(n):") in msg, msg
    assert_names(msg, "acc")
    assert_hint(msg)


def test_loop_variable_none_becomes_tensor():
    msg = str(expect(kgraph.StagingError, none_becomes_tensor, tf.constant([3, 9, 2])))
    assert location(none_becomes_tensor, "for v in xs:") in msg, msg
    assert_names(msg, "best")
    assert "None" in msg, msg
    assert_hint(msg)


def test_python_list_rebuilt_by_concatenation_in_tensor_loop():
    # `out = out + [v]` changes the list's length every iteration: either the
    # loop accumulates it (Python's result) or a kgraph error names `out`.
    try:
        out = kgraph.function(list_grows_by_concatenation)(tf.constant([1, 2, 3]))
    except kgraph.KGraphError as err:
        msg = str(err)
        assert location(list_grows_by_concatenation, "for v in xs:") in msg or \
            location(list_grows_by_concatenation, "out = out + [v * 2]") in msg, msg
        assert_names(msg, "out")
        assert_hint(msg)
    else:
        assert to_python(out) == [2, 4, 6]


def test_loop_variable_nesting_change():
    msg = str(expect(kgraph.StagingError, nesting_changes, tf.constant(3)))
    assert location(nesting_changes, "while i < n:") in msg, msg
    assert_names(msg, "state")
    assert_hint(msg)


# =========================================================================
# branches that return different structures
# =========================================================================

def returns_in_one_branch(x):
    if x > 0:
        return x * 2


def tuple_or_scalar(x):
    if x > 0:
        return x, x
    return x


def test_return_tensor_or_fall_off():
    msg = str(expect(kgraph.StagingError, returns_in_one_branch, tf.constant(3)))
    assert location(returns_in_one_branch, "if x > 0:") in msg, msg
    assert "return" in msg and "None" in msg, msg
    assert_hint(msg)


def test_return_tuple_or_scalar():
    msg = str(expect(kgraph.StagingError, tuple_or_scalar, tf.constant(3)))
    candidates = [location(tuple_or_scalar, "if x > 0:"), location(tuple_or_scalar, "return x\n")]
    assert any(c in msg for c in candidates), msg
    assert "return" in msg, msg
    assert_hint(msg)


# =========================================================================
# syntax that cannot be staged
# =========================================================================

def countdown_generator(n):
    while n > 0:
        yield n
        n -= 1


def try_in_tensor_loop(n):
    i = 0
    total = 0
    while i < n:
        try:
            total += 10 // (i + 1)
        except ZeroDivisionError:
            total = -1
        i += 1
    return total


def test_generator_is_unsupported_syntax():
    err = expect(kgraph.UnsupportedSyntaxError, countdown_generator, tf.constant(3))
    msg = str(err)
    assert location(countdown_generator, "yield n") in msg, msg
    assert "countdown_generator" in msg and "yield" in msg, msg
    assert_hint(msg)
    with pytest.raises(kgraph.UnsupportedSyntaxError):
        kgraph.to_graph(countdown_generator)


def test_try_in_tensor_while_loop():
    err = expect(kgraph.KGraphError, try_in_tensor_loop, tf.constant(3))
    msg = str(err)
    assert location(try_in_tensor_loop, "try:") in msg, msg
    assert "try" in msg, msg
    assert_hint(msg)


def test_try_in_python_loop_runs_as_python():
    # The same function on Python values is plain Python: no error.
    assert kgraph.to_graph(try_in_tensor_loop)(3) == try_in_tensor_loop(3)


# =========================================================================
# functions without source
# =========================================================================

def _no_source():
    """A function built with exec(): Python keeps no source for it."""
    namespace = {}
    exec(compile("def no_source(x):\n    if x > 0:\n        x = -x\n    return x\n",
                 "<string>", "exec"), namespace)
    return namespace["no_source"]


@pytest.mark.parametrize("api", ["function", "to_graph", "to_code"])
def test_function_without_source(api):
    fn = _no_source()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(kgraph.ConversionError) as info:
            if api == "function":
                kgraph.function(fn)(tf.constant(2))
            elif api == "to_graph":
                kgraph.to_graph(fn)
            else:
                kgraph.to_code(fn)
    msg = str(info.value)
    assert msg.startswith("<string>:1: "), msg
    assert "no_source" in msg, msg
    assert "source" in msg, msg
    # the remedy: define it in a file / notebook cell, or do_not_convert
    assert ".py file" in msg or "notebook" in msg, msg
    assert "do_not_convert" in msg, msg
    assert "report" not in msg.lower() and "bug" not in msg.lower(), msg
    assert not [w for w in caught if "kgraph" in str(w.filename) or "convert" in str(w.message)]


def test_function_without_source_marked_do_not_convert_runs():
    fn = kgraph.do_not_convert(_no_source())
    assert int(kgraph.function(fn)(2)) == -2
    # (a plain Python if on a Python value)


# =========================================================================
# failing graph assertions
# =========================================================================

def positive_only(x):
    assert x > 0, "x must be positive"
    return x * 2


def all_small(xs):
    total = 0
    for v in xs:
        assert v < 10, "element too large"
        total += v
    return total


def bare_assert(x):
    y = x + 1
    assert y != 0
    return y


def test_failing_graph_assert():
    f = kgraph.function(positive_only)
    assert int(f(tf.constant(3))) == 6
    with pytest.raises(AssertionError) as info:
        f(tf.constant(-1))
    msg = str(info.value)
    assert "x must be positive" in msg, msg
    assert location(positive_only, "assert x > 0") in msg, msg


def test_failing_graph_assert_in_loop():
    f = kgraph.function(all_small)
    assert int(f(tf.constant([1, 2]))) == 3
    with pytest.raises(AssertionError) as info:
        f(tf.constant([1, 20, 3]))
    msg = str(info.value)
    assert "element too large" in msg, msg
    assert location(all_small, "assert v < 10") in msg, msg


def test_failing_graph_assert_without_message():
    with pytest.raises(AssertionError) as info:
        kgraph.function(bare_assert)(tf.constant(-1))
    assert location(bare_assert, "assert y != 0") in str(info.value), str(info.value)


def test_failing_assert_on_python_values_is_python():
    with pytest.raises(AssertionError, match="x must be positive"):
        kgraph.to_graph(positive_only)(-1)


# =========================================================================
# tracebacks and runtime errors point at the user's line
# =========================================================================

def parse_in_loop(n, text):
    total = 0
    for i in range(n):
        total += int(text)
    return total


def raise_in_python_branch(x, limit):
    if limit > 5:
        raise ValueError("limit too large")
    return x


def gather_past_end(xs, n):
    total = 0
    for i in range(n):
        total += tf.gather(xs, i)
    return total


def _user_frames(err):
    return [(f.filename, f.lineno) for f in traceback.extract_tb(err.__traceback__)
            if f.filename == HERE]


def test_python_exception_traceback_in_graph():
    with pytest.raises(ValueError) as info:
        kgraph.function(parse_in_loop)(tf.constant(3), "not a number")
    assert (HERE, line_of(parse_in_loop, "total += int(text)")) in _user_frames(info.value)
    assert (HERE, line_of(parse_in_loop, "for i in range(n):")) in _user_frames(info.value)


def test_python_exception_traceback_on_python_values():
    with pytest.raises(ValueError) as info:
        kgraph.to_graph(parse_in_loop)(3, "not a number")
    assert (HERE, line_of(parse_in_loop, "total += int(text)")) in _user_frames(info.value)
    with pytest.raises(ValueError) as info:
        kgraph.function(raise_in_python_branch)(tf.constant(1), 9)
    assert (HERE, line_of(raise_in_python_branch, "raise ValueError")) in _user_frames(info.value)


def test_tensorflow_runtime_error_names_user_line():
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        kgraph.function(gather_past_end)(tf.constant([1, 2]), tf.constant(3))
    msg = str(info.value)
    line = line_of(gather_past_end, "tf.gather(xs, i)")
    assert f'File "{HERE}", line {line}' in msg, msg


# =========================================================================
# comprehensions over a tensor of unknown length in a graph
# =========================================================================

def doubled_sum(xs):
    return sum([v * 2 for v in xs])


def test_comprehension_over_unknown_length_tensor():
    f = kgraph.function(doubled_sum, input_signature=[tf.TensorSpec([None], tf.int32)])
    try:
        out = f(tf.constant([1, 2, 3]))
    except kgraph.KGraphError as err:
        msg = str(err)
        assert location(doubled_sum, "for v in xs") in msg, msg
        assert "comprehension" in msg, msg
        assert_hint(msg)
    else:   # the issue also allows converting it
        assert to_python(out) == doubled_sum([1, 2, 3])


# =========================================================================
# notebooks: IPython keeps cell sources in linecache
# =========================================================================

def test_function_from_notebook_cell_converts():
    import linecache

    filename = "<ipython-input-7-0123456789ab>"
    source = ("def cell_fn(n):\n"
              "    total = 0\n"
              "    for i in range(n):\n"
              "        if i % 2 == 0:\n"
              "            total += i\n"
              "    return total\n")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    try:
        namespace = {}
        exec(compile(source, filename, "exec"), namespace)
        fn = namespace["cell_fn"]
        assert int(kgraph.function(fn)(tf.constant(7))) == fn(7) == 12
        assert kgraph.to_graph(fn)(7) == 12
    finally:
        linecache.cache.pop(filename, None)


# =========================================================================
# XLA: growing lists need a known size, or a clear refusal
# =========================================================================

def append_in_while(n):
    xs = []
    i = 0
    while i < n:
        xs.append(i * 2)
        i += 1
    return kgraph.stack(xs)


def append_until_break(n):
    xs = []
    for i in range(n):
        if i * i > 5:
            break
        xs.append(i)
    return kgraph.stack(xs)


@pytest.mark.parametrize("fn,loop_text", [(append_in_while, "while i < n:"),
                                          (append_until_break, "for i in range(n):")])
def test_xla_list_of_unknown_size_is_refused_or_correct(fn, loop_text):
    # TensorArray(dynamic_size=True) silently gives an empty result under XLA:
    # kgraph must either size the list correctly or refuse clearly.
    f = kgraph.function(fn, jit_compile=True)
    try:
        out = f(tf.constant(6))
    except kgraph.KGraphError as err:
        msg = str(err)
        assert location(fn, loop_text) in msg, msg
        assert_names(msg, "xs")
        assert_hint(msg)
    else:
        assert to_python(out) == to_python(fn(6))


# =========================================================================
# closures that rebind an enclosing variable (nonlocal) inside a tensor loop
# =========================================================================

def nonlocal_counter(n):
    count = 0

    def add(v):
        nonlocal count
        count += v

    for i in range(n):
        add(i)
    return count


def test_nonlocal_rebinding_in_tensor_loop_works_or_is_refused_clearly():
    # Either the loop carries `count` (Python's result), or a kgraph error
    # names it at the loop; never a raw TensorFlow scoping error.
    try:
        out = kgraph.function(nonlocal_counter)(tf.constant(4))
    except kgraph.KGraphError as err:
        msg = str(err)
        assert location(nonlocal_counter, "for i in range(n):") in msg or \
            location(nonlocal_counter, "count += v") in msg, msg
        assert_names(msg, "count")
        assert_hint(msg)
    else:
        assert int(out) == nonlocal_counter(4) == 6


# =========================================================================
# every kgraph error is also the builtin a Python user would catch (issue 8)
# =========================================================================

def int_or_float_by_branch(x):
    if x > 0:
        y = tf.constant(1)
    else:
        y = tf.constant(2.5)
    return y


BUILTIN_BASES = [
    # (function, args, kgraph class, builtin base, variable, line of the error)
    (only_in_true_branch, (-3,), kgraph.UndefinedVariableError, UnboundLocalError,
     "y", "return y"),
    (defined_only_in_loop, (0,), kgraph.UndefinedVariableError, NameError,
     "last", "while i < n:"),
    (float_becomes_int_while, (3,), kgraph.StagingTypeError, TypeError,
     "x", "while i < n:"),
    (float_becomes_int_for, (3,), kgraph.StagingTypeError, TypeError,
     "acc", "for i in range(n):"),
    (none_becomes_tensor, ([3, 9, 2],), kgraph.StagingTypeError, TypeError,
     "best", "for v in xs:"),
    (nesting_changes, (3,), kgraph.StagingValueError, ValueError,
     "state", "while i < n:"),
    (int_or_float_by_branch, (3,), kgraph.StagingTypeError, TypeError,
     "y", "if x > 0:"),
]


@pytest.mark.parametrize("fn, args, cls, base, name, line", BUILTIN_BASES,
                         ids=[c[0].__name__ for c in BUILTIN_BASES])
def test_error_is_also_the_builtin(fn, args, cls, base, name, line):
    err = expect(base, fn, *[tf.constant(a) for a in args])
    assert isinstance(err, cls) and isinstance(err, kgraph.StagingError), type(err)
    msg = str(err)
    assert location(fn, line) in msg, msg
    assert_names(msg, name)
    assert_hint(msg)


def test_unsupported_syntax_is_not_implemented():
    err = expect(NotImplementedError, countdown_generator, tf.constant(3))
    assert isinstance(err, kgraph.UnsupportedSyntaxError)
    assert location(countdown_generator, "yield n") in str(err)


def test_try_in_tensor_loop_is_not_implemented():
    err = expect(NotImplementedError, try_in_tensor_loop, tf.constant(3))
    assert isinstance(err, kgraph.UnsupportedStagingError)
    assert location(try_in_tensor_loop, "try:") in str(err)


def test_converting_a_class_is_a_type_error():
    class NotAFunction:
        pass

    with pytest.raises(TypeError) as info:
        kgraph.function(NotAFunction)
    assert isinstance(info.value, kgraph.NotConvertibleError)
    assert "class" in str(info.value)


def test_errors_keep_their_payload_when_pickled():
    import pickle

    err = kgraph.UndefinedVariableError("'y' is undefined", location="f.py:3",
                                        hints=("assign 'y'",))
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is kgraph.UndefinedVariableError
    assert (back.location, back.hints, str(back)) == (err.location, err.hints, str(err))
