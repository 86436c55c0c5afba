"""Lists built in graph loops are values (issue 9), differentially against Python.

A list appended to in a tensor loop becomes a graph list (kgraph/operators/lists.py).
Each sample runs as plain Python on plain values and converted in a graph on
int32, int64, float32 and float64 tensors: results and printed text must be
identical. ``kgraph.function`` returns a graph list stacked into one tensor;
the comparison is element by element (reference_helpers.to_python).
"""

import os
import subprocess
import sys
import textwrap

import pytest
import tensorflow as tf

import kgraph
from reference_helpers import T, check, location, to_python

DTYPES = (tf.int32, tf.int64, tf.float32, tf.float64)


class Idx:
    """An index argument: an integer tensor (int64 next to int64 data, else int32)."""

    def __init__(self, value):
        self.value = value


def each_dtype(fn, *values, **options):
    """``check(fn, ...)`` on every dtype: numbers and lists of numbers become
    ``T(v, dtype)``, ``Idx(k)`` an integer tensor."""
    for dtype in DTYPES:
        args = []
        for v in values:
            if isinstance(v, Idx):
                args.append(T(v.value, tf.int64 if dtype == tf.int64 else tf.int32))
            elif isinstance(v, (int, float, list)) and not isinstance(v, bool):
                args.append(T(v, dtype))
            else:
                args.append(v)
        check(fn, *args, **options)


# =========================================================================
# issue 9's silently wrong example
# =========================================================================

def pop_then_len(x):
    items = [x, x + 1, x + 2]
    last = items.pop()
    if last > 5:
        items[0] = last
    return last, len(items), items


@pytest.mark.parametrize("x", [1, 5])
def test_pop_then_len_regression(x):
    each_dtype(pop_then_len, x)


# =========================================================================
# a list appended in a tensor loop, returned and used as a value
# =========================================================================

def doubled(xs):
    out = []
    for v in xs:
        out.append(v * 2)
    return out


def indexing(xs, k):
    out = []
    for v in xs:
        out.append(v + 1)
    return out[0], out[-1], out[k], out[-k - 1]


def slicing(xs, k):
    out = []
    for v in xs:
        out.append(v * 3)
    return out[1:], out[:-1], out[::-1], out[k:], out[:k], out[::2]


def measured(xs):
    out = []
    for v in xs:
        if v > 2:
            out.append(v)
    return len(out), out


def iterated(xs):
    out = []
    for v in xs:
        out.append(v * 3)
    total = out[0] - out[0]
    count = 0
    for v in out:
        total += v
        count += 1
    return total, count


def enumerated(xs):
    out = []
    for v in xs:
        out.append(v - 1)
    best = out[0]
    where = 0
    for i, v in enumerate(out):
        if v > best:
            best = v
            where = i
    return best, where


def popped(xs):
    out = []
    for v in xs:
        out.append(v + 10)
    last = out.pop()
    first = out.pop(0)
    out.pop()
    return last, first, len(out), out


def popped_in_loop(xs):
    out = []
    for v in xs:
        out.append(v)
    total = out[0] - out[0]
    while len(out) > 1:
        total += out.pop()
    return total, out


def assigned(xs, k):
    out = []
    for v in xs:
        out.append(v)
    out[0] = out[-1]
    out[k] = 7
    for i in range(len(out)):
        out[i] = out[i] * 2
    return out


def extended(xs):
    out = []
    more = []
    for v in xs:
        out.append(v)
        more.append(v + 1)
    out.extend([10, 20])
    out.extend(more)
    out += [5]
    return out


def concatenated(xs):
    a = []
    b = []
    for v in xs:
        a.append(v)
        b.append(v * 2)
    return a + b, [100] + a, a + [1, 2]


def inserted_and_deleted(xs):
    out = []
    for v in xs:
        out.append(v)
    out.insert(0, 9)
    out.insert(-1, 8)
    out.insert(100, 7)
    del out[1]
    out.reverse()
    return out, out.index(9), out.count(7)


def grown_in_tensor_if(xs, c):
    out = []
    for v in xs:
        out.append(v)
    if c > 0:
        out.append(c)
    else:
        out.pop()
    return out


def element_set_in_tensor_if(xs, c):
    out = []
    for v in xs:
        out.append(v)
    if c > 0:
        out[0] = c
    return out


def rows(xs):
    out = []
    for v in xs:
        out.append([v, v * 2])
    return out[-1], out


def _append_twice(ys, v):
    ys.append(v)
    ys.append(v + 1)


def _tail(ys):
    return ys[1:]


def through_helpers(xs):
    out = []
    for v in xs:
        out.append(v)
    _append_twice(out, 100)
    return _tail(out)


def aliased(xs):
    out = []
    for v in xs:
        out.append(v)
    same = out
    same.append(50)
    copy = out.copy()
    copy.append(60)
    return out, copy


def sorted_in_place(xs, y):
    out = []
    for v in xs:
        out.append(v * 2)
    out.sort()
    firsts = out[0]
    out.sort(reverse=True)
    out.remove(y * 2)
    return firsts, out, y * 2 in out, 7 in out, 4 not in out


def builtin_copies(xs):
    out = []
    for v in xs:
        out.append(3 - v)
    ordered = sorted(out)
    backwards = sorted(out, reverse=True)
    copied = list(out)
    frozen = tuple(out)
    out.append(9)
    return ordered, backwards, copied, frozen, out


def printed(xs):
    out = []
    for v in xs:
        out.append(v * 2)
    print("list:", out)
    empty = []
    for v in xs:
        if v > 100:
            empty.append(v)
    print(empty, len(empty))
    return f"{out}", str(out)


def compared(xs):
    a = []
    b = []
    for v in xs:
        a.append(v)
        b.append(v)
    same = a == b
    b.append(xs[0])
    return same, a == b, a != b, a == [1, 2], a == [], a == 3


def reduced(xs):
    out = []
    for v in xs:
        out.append(v * 2 - 3)
    return sum(out), min(out), max(out), sum(out, 10), any(out), all(out), \
        list(reversed(out))


def comprehended(xs):
    out = []
    for v in xs:
        out.append(v + 1)
    ys = [v * 2 for v in out]
    zs = [v for v in out if v > 2]
    return ys, zs, sum(v for v in out), len(ys)


def zipped(xs):
    out = []
    for v in xs:
        out.append(v + 1)
    total = xs[0] - xs[0]
    for a, b in zip(out, xs):
        total += a * b
    return total


@pytest.mark.parametrize("fn,args", [
    (sorted_in_place, ([3, 1, 2, 2], 2)),
    (zipped, ([1, 2, 3],)),
    (builtin_copies, ([2, 0, 1],)),
    (comprehended, ([1, 2, 3],)),
    (reduced, ([1, 4, 2],)),
    (compared, ([1, 2],)),
    (compared, ([1, 3],)),
    (doubled, ([1, 2, 3],)),
    (doubled, ([],)),
    (indexing, ([4, 5, 6, 7], Idx(1))),
    (slicing, ([1, 2, 3, 4, 5], Idx(2))),
    (measured, ([1, 5, 2, 8],)),
    (measured, ([1, 2],)),
    (iterated, ([1, 2, 3],)),
    (enumerated, ([3, 9, 2, 9],)),
    (popped, ([1, 2, 3, 4, 5],)),
    (popped_in_loop, ([1, 2, 3, 4],)),
    (assigned, ([1, 2, 3], Idx(1))),
    (extended, ([1, 2],)),
    (concatenated, ([1, 2, 3],)),
    (inserted_and_deleted, ([1, 2, 3],)),
    (grown_in_tensor_if, ([1, 2, 3], 4)),
    (grown_in_tensor_if, ([1, 2, 3], -4)),
    (element_set_in_tensor_if, ([1, 2, 3], 4)),
    (element_set_in_tensor_if, ([1, 2, 3], -4)),
    (rows, ([1, 2, 3],)),
    (through_helpers, ([1, 2, 3],)),
    (aliased, ([1, 2],)),
], ids=lambda v: getattr(v, "__name__", None))
def test_graph_list_values(fn, args):
    each_dtype(fn, *args)


def tensorflow_ops_on_a_list(xs):
    out = []
    for v in xs:
        out.append(v * 2)
    return tf.reduce_sum(out), tf.concat([out, out], 0)


def test_tensorflow_ops_see_a_graph_list_stacked():
    for dtype in DTYPES:
        got = kgraph.function(tensorflow_ops_on_a_list)(tf.constant([1, 2], dtype))
        assert to_python(got) == (6, [2, 4, 2, 4])


def test_graph_list_prints_as_a_python_list():
    # (eager=False: eagerly the list is a Python list of eager tensors, whose
    # str() is the builtins/strings operators' business, not a graph list's.)
    # (Python's text of a float list needs float inputs: 1.5, not 1.)
    for dtype in DTYPES:
        values = [1.5, 2.0, 3.25] if dtype.is_floating else [1, 2, 3]
        check(printed, T(values, dtype), eager=False)


@tf.function
def _plain_tf_function(ys):
    return tf.reduce_sum(ys) + ys[-1]


def into_a_tf_function(xs):
    out = []
    for v in xs:
        out.append(v * 2)
    return _plain_tf_function(out)


def test_graph_list_passed_to_a_users_tf_function():
    # The nested tf.function gets the list as a Python object: its tensors are
    # captured from the outer graph, reads and TensorFlow ops work.
    for dtype in DTYPES:
        got = kgraph.function(into_a_tf_function)(tf.constant([1, 2, 3], dtype))
        assert to_python(got) == 18


def test_graph_list_is_returned_stacked():
    out = kgraph.function(doubled)(tf.constant([1, 2, 3], tf.int64))
    assert isinstance(out, tf.Tensor) and out.dtype == tf.int64 and out.shape == (3,)
    nested = kgraph.function(rows)(tf.constant([1.0, 2.0]))
    assert nested[1].shape == (2, 2)


def drain(x):
    items = [x, x + 1, x + 2]
    total = x - x
    while total < 5 and len(items) > 0:
        total += items.pop()
    return total, items


def nested_appends(xs):
    out = []
    for v in xs:
        for w in xs:
            if w > v:
                out.append(w - v)
    return out, len(out)


def prefilled(xs):
    out = [xs[0]]
    for v in xs:
        out.append(v)
    out[1] = out[0] + 5
    return out


def stack_machine(xs):
    st = []
    for v in xs:
        if v > 2:
            st.append(v)
        elif len(st) > 0:
            st.pop()
    return st


def _collect(xs):
    out = []
    for v in xs:
        out.append(v)
    return out


def _double_all(ys):
    res = []
    for y in ys:
        res.append(y * 2)
    return res


def helper_returns_list(xs):
    return _double_all(_collect(xs))


def worklist(xs):
    st = []
    for v in xs:
        st.append(v)
    steps = 0
    while len(st) > 0:
        top = st.pop()
        if top > 1:
            st.append(top - 2)
        steps += 1
    return steps


def truthiness(xs):
    st = []
    for v in xs:
        st.append(v)
    steps = 0
    while st:
        top = st.pop()
        if top > 1:
            st.append(top - 2)
        steps += 1
    empty = "empty" if not st else "full"
    if st:
        steps = -1
    return steps, empty


@pytest.mark.parametrize("fn,args", [
    (truthiness, ([3, 1, 4],)),
    (drain, (1,)),
    (drain, (3,)),
    (nested_appends, ([1, 3, 2],)),
    (prefilled, ([1, 2],)),
    (stack_machine, ([3, 1, 4, 1, 1, 5],)),
    (helper_returns_list, ([1, 2],)),
    (worklist, ([3, 1, 4],)),
], ids=lambda v: getattr(v, "__name__", None))
def test_lists_that_grow_and_shrink_in_graph_loops(fn, args):
    each_dtype(fn, *args)


class Trajectory(kgraph.GraphLayer):
    """A Keras layer whose call returns a list built in a tensor loop."""

    def call(self, x):
        states = []
        h = x[:, 0] * 0.0
        for t in range(tf.shape(x)[1]):
            h = h * 0.5 + x[:, t]
            states.append(h)
        return states


def test_graph_layer_returns_a_graph_list_stacked():
    x = tf.constant([[1.0, 2.0, 3.0]])
    out = tf.function(Trajectory())(x)
    assert to_python(out) == [[1.0], [2.5], [4.25]]


# =========================================================================
# XLA: lists sized from the trip count
# =========================================================================

def xla_values(xs):
    out = []
    for v in xs:
        out.append(v * 2)
    return out, out[-1], len(out)


def xla_ops(xs):
    out = []
    for v in xs:
        out.append(v * 2)
    best = out[0]
    for v in out:
        if v > best:
            best = v
    out[0] = best
    return best, out, 4 in out, out.index(4), out.count(2)


@pytest.mark.parametrize("fn", [xla_values, xla_ops], ids=lambda f: f.__name__)
def test_graph_list_values_under_xla(fn):
    each_dtype(fn, [1, 2, 3], options={"jit_compile": True}, eager=False)


def xla_pop(xs):
    out = []
    for v in xs:
        out.append(v)
    return out.pop()


def test_rebuilding_a_list_under_xla_is_refused():
    err = _error(xla_pop, tf.constant([1, 2]), jit_compile=True)
    assert isinstance(err, NotImplementedError), type(err)
    msg = str(err)
    assert msg.startswith(location(xla_pop, "return out.pop()") + ": "), msg
    assert "'out'" in msg and "hint" in msg, msg


def index_out_of_range(xs, k):
    out = []
    for v in xs:
        out.append(v)
    return out[k]


def pop_from_empty(xs):
    out = []
    for v in xs:
        out.append(v)
    out.pop()
    return out.pop()


@pytest.mark.parametrize("fn,args,line", [
    (index_out_of_range, ([1, 2], 2), "return out[k]"),
    (index_out_of_range, ([1, 2], -3), "return out[k]"),
    (pop_from_empty, ([1],), "return out.pop()"),
])
def test_index_errors_when_the_graph_runs(fn, args, line):
    with pytest.raises(IndexError) as expected:
        fn(*[list(a) if isinstance(a, list) else a for a in args])
    # The IndexError Python raises (translated from the graph's assertion),
    # with Python's message and the user's line.
    with pytest.raises(IndexError) as info:
        kgraph.function(fn)(*[tf.constant(a) for a in args])
    msg = str(info.value)
    assert str(expected.value) in msg and location(fn, line) in msg, msg
    assert isinstance(info.value.__cause__, tf.errors.InvalidArgumentError)


# =========================================================================
# the 2018 AutoGraph idiom on TensorArrays
# =========================================================================

def ta_append(xs):
    ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
    for v in xs:
        ta.append(tf.cast(v, tf.float32) * 2)   # TensorArray has no append: 2018 AutoGraph
    return ta.stack(), len(ta)


def ta_write(xs):
    ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
    i = 0
    for v in xs:
        ta = ta.write(i, tf.cast(v, tf.float32) + 1)
        i += 1
    return ta.stack()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_tensorarray_append_idiom(dtype):
    # Plain Python has no TensorArray.append: compare with the list program.
    got = kgraph.function(ta_append)(tf.constant([1, 2, 3], dtype))
    assert to_python(got) == ([2.0, 4.0, 6.0], 3)
    got = kgraph.function(ta_append)(tf.constant([], dtype))
    assert to_python(got) == ([], 0)


def test_tensorarray_write_idiom():
    each_dtype(ta_write, [1, 2, 3])


# =========================================================================
# errors: class (with its builtin base), list name, the user's file and line
# =========================================================================

@kgraph.do_not_convert
def _python_len(ys):
    return len(ys)


def len_outside_converted_code(xs):
    out = []
    for v in xs:
        out.append(v)
    return _python_len(out)


def wrong_dtype_append(xs):
    out = []
    for v in xs:
        out.append(v)
    out.append(0.5)
    return out


def helper_changes_list_in_tensor_if(xs, c):
    out = []
    for v in xs:
        out.append(v)
    if c > 0:
        _append_twice(out, c)
    return out


def _error(fn, *args, **options):
    with pytest.raises(kgraph.KGraphError) as info:
        kgraph.function(fn, **options)(*args)
    return info.value


def test_len_of_graph_list_in_python_code():
    err = _error(len_outside_converted_code, tf.constant([1, 2]))
    assert isinstance(err, TypeError) and isinstance(err, kgraph.StagingError)
    msg = str(err)
    assert msg.startswith(location(_python_len, "return len(ys)") + ": "), msg
    assert "'out'" in msg and "hint" in msg, msg


def test_append_of_wrong_dtype():
    err = _error(wrong_dtype_append, tf.constant([1, 2]))
    assert isinstance(err, TypeError), type(err)
    msg = str(err)
    assert msg.startswith(location(wrong_dtype_append, "out.append(0.5)") + ": "), msg
    assert "'out'" in msg and "int32" in msg and "float32" in msg and "hint" in msg, msg


def test_list_changed_by_helper_in_tensor_if_is_refused():
    # Python would change `out` only when c > 0; the helper's change cannot
    # leave the tf.cond branch unless `out` is the branch's state.
    err = _error(helper_changes_list_in_tensor_if, tf.constant([1, 2]), tf.constant(1))
    assert isinstance(err, NotImplementedError), type(err)
    msg = str(err)
    assert msg.startswith(location(_append_twice, "ys.append(v)") + ": "), msg
    assert "'out'" in msg and "hint" in msg, msg


# =========================================================================
# nothing on a graph list may hang
# =========================================================================

_NO_HANG_SCRIPT = textwrap.dedent('''
    import sys
    import tensorflow as tf
    import kgraph

    def build(xs):
        out = []
        for v in xs:
            out.append(v)
        return out

    OPS = {
        "len": lambda out: len(out),
        "sum": lambda out: sum(out),
        "min": lambda out: min(out),
        "max": lambda out: max(out),
        "iter": lambda out: next(iter(out)),
        "list": lambda out: list(out),
        "in": lambda out: 2 in out,
        "index": lambda out: out.index(2),
        "slicing": lambda out: out[1:],
        "sorted": lambda out: sorted(out),
        "reversed": lambda out: list(reversed(out)),
        "tuple": lambda out: tuple(out),
        "bool": lambda out: bool(out),
        "unpack": lambda out: [*out],
    }

    for name, op in OPS.items():
        print("START", name, flush=True)
        def fn(xs, op=op):
            return op(build(xs))
        try:
            result = kgraph.function(fn)(tf.constant([3, 1, 2]))
            print("RESULT", name, kgraph.stack(result).numpy().tolist()
                  if isinstance(result, (list, tuple)) else result.numpy().tolist(), flush=True)
        except kgraph.KGraphError as e:
            bases = [c.__name__ for c in type(e).__mro__]
            print("ERROR", name, "|".join(bases), str(e).splitlines()[0], flush=True)
        except Exception as e:
            print("OTHER", name, type(e).__name__, str(e).splitlines()[0][:200], flush=True)
''')

_PYTHON_RESULTS = {"len": 3, "sum": 6, "min": 1, "max": 3, "iter": 3, "list": [3, 1, 2],
                   "in": True, "index": 2, "slicing": [1, 2], "sorted": [1, 2, 3],
                   "reversed": [2, 1, 3], "tuple": [3, 1, 2], "bool": True,
                   "unpack": [3, 1, 2]}


def test_no_operation_on_a_graph_list_hangs(tmp_path):
    script = tmp_path / "no_hang.py"
    script.write_text(_NO_HANG_SCRIPT)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TF_CPP_MIN_LOG_LEVEL="3")
    try:
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                              timeout=300, env=env, cwd=str(tmp_path))
        lines = proc.stdout.splitlines()
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        started = [line.split()[1] for line in out.splitlines() if line.startswith("START")]
        pytest.fail(f"an operation on a graph list hangs: {started[-1:]}\n{out}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    outcomes = {}
    for line in lines:
        kind, _, rest = line.partition(" ")
        if kind in ("RESULT", "ERROR", "OTHER"):
            name, _, detail = rest.partition(" ")
            outcomes[name] = (kind, detail)
    assert set(outcomes) == set(_PYTHON_RESULTS), proc.stdout
    for name, (kind, detail) in outcomes.items():
        # Either Python's answer, or a kgraph error that is also a TypeError
        # and names the user's file and line; converted code gets the answer
        # for everything but the protocols that need a Python length/bool.
        assert kind != "OTHER", f"{name}: {detail}"
        if name not in ("iter", "bool", "unpack"):   # (bool() is not converted)
            assert kind == "RESULT", f"{name}: {detail}"
        if kind == "RESULT":
            assert eval(detail) == _PYTHON_RESULTS[name], f"{name}: {detail}"  # noqa: S307
        else:
            bases, _, message = detail.partition(" ")
            assert "TypeError" in bases.split("|"), f"{name}: {detail}"
            assert "no_hang.py:" in message, f"{name}: {detail}"
