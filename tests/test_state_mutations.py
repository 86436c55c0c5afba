"""In-place changes inside tensor control flow (issue 9): carried, or refused.

Dict methods (``update``, ``pop``, ``setdefault``, ``clear``, ``popitem``),
``setattr``, list methods on Python lists, and the same changes made by a
*called helper* (``bump(stats, v)``, ``self.count += 1`` in a method) inside a
tensor ``if`` or loop: each runs as plain Python and converted in a graph, on
int32, int64, float32 and float64 tensors, and must give the same results and
print the same text; what cannot be carried raises a clear error at the
user's line (``operators/mutations.py``).
"""

import keras
import pytest
import tensorflow as tf

import kgraph
from kgraph.testing import TraceCounter
from reference_helpers import T, check, location

DTYPES = (tf.int32, tf.int64, tf.float32, tf.float64)


def each_dtype(fn, *values):
    for dtype in DTYPES:
        check(fn, *[T(v, dtype) if isinstance(v, (int, float)) and not isinstance(v, bool)
                    else v for v in values])


# =========================================================================
# dict methods in a tensor if
# =========================================================================

def dict_update_one_branch(x):
    d = {"a": 0, "b": 1}
    if x > 0:
        d.update(a=x)
    else:
        d.update({"b": -x})
    print("a" in d, len(d))
    return d["a"], d["b"]


def dict_pop_both_branches(x):
    d = {"a": 0, "b": 1, "c": 2}
    if x > 0:
        v = d.pop("a")
        d.pop("b")
    else:
        v = d.pop("b") + x
        d.pop("a")
    return v, d, sorted(d)


def dict_setdefault_and_popitem(x):
    d = {"a": 0, "b": 1}
    if x > 0:
        d.setdefault("c", x)
        d.popitem()
    else:
        d.setdefault("c", -x)
        d.setdefault("a", x)        # an existing key: no change
        d.popitem()
    return d


def dict_clear_both(x):
    d = {"a": 1}
    if x > 0:
        d.clear()
        d["n"] = x
    else:
        d.clear()
        d["n"] = -x
    return d


def test_dict_methods_in_a_tensor_if():
    for x in (3, -2):
        each_dtype(dict_update_one_branch, x)
        each_dtype(dict_pop_both_branches, x)
        each_dtype(dict_setdefault_and_popitem, x)
        each_dtype(dict_clear_both, x)


def dict_pop_one_branch(x):
    d = {"a": 0, "b": 1}
    if x > 0:
        d.pop("a")
    return d


def test_key_removed_in_one_branch_is_a_clear_error():
    for fn, needle in ((dict_pop_one_branch, "d['a']"),):
        with pytest.raises(kgraph.UndefinedVariableError) as info:
            kgraph.function(fn)(tf.constant(1))
        err = info.value
        assert isinstance(err, UnboundLocalError)
        msg = str(err)
        assert needle in msg and "one branch" in msg, msg
        assert location(fn, "if x > 0:") in msg, msg


def dict_clear_one_branch(x):
    d = {"a": 1}
    if x > 0:
        d.clear()
    return d


def test_dict_cleared_in_one_branch_is_a_clear_error():
    # `d.clear()` makes `d` a state variable (passes/lists.py): each branch
    # changes its own copy, and the two copies differ.
    with pytest.raises(kgraph.StagingTypeError) as info:
        kgraph.function(dict_clear_one_branch)(tf.constant(1))
    assert isinstance(info.value, TypeError)
    msg = str(info.value)
    assert "'d'" in msg and location(dict_clear_one_branch, "if x > 0:") in msg, msg


# =========================================================================
# called helpers: dicts, attributes, methods
# =========================================================================

def bump(stats, v):
    stats["n"] += v


def helper_in_loop(t):
    stats = {"n": 0}
    for v in t:
        bump(stats, v)
    return stats["n"]


def helper_in_if(x):
    stats = {"n": 0}
    if x > 0:
        bump(stats, x)
    print(len(stats))
    return stats["n"]


def helper_in_while(n, step):
    stats = {"n": 0, "k": 0}
    while stats["k"] < n:
        bump(stats, step)
        stats["k"] += 1
    return stats


def helper_in_if_in_loop(t):
    stats = {"n": 0}
    for v in t:
        if v > 1:
            bump(stats, v)
    return stats["n"]


class Counter:
    def __init__(self):
        self.count = 0
        self.total = 0

    def inc(self, v):
        self.count += 1
        self.total = self.total + v


def method_in_loop(t):
    c = Counter()
    for v in t:
        c.inc(v)
    return c.count, c.total


def method_in_if(x):
    c = Counter()
    if x > 0:
        c.inc(x)
    else:
        c.inc(-x)
        c.inc(-x)
    return c.count, c.total


def set_attr(obj, v):
    setattr(obj, "total", v)


def setattr_in_loop(t):
    c = Counter()
    for v in t:
        set_attr(c, c.total + v)
    return c.total


def test_helper_mutations_are_carried():
    for dtype in DTYPES:
        check(helper_in_loop, T([1, 2, 3], dtype))
        check(helper_in_loop, T([], dtype))
        check(helper_in_if_in_loop, T([1, 2, 3], dtype))
        check(method_in_loop, T([4, 5], dtype))
        check(setattr_in_loop, T([4, 5, 6], dtype))
        for x in (2, -3):
            check(helper_in_if, T(x, dtype))
            check(method_in_if, T(x, dtype))
        check(helper_in_while, T(3, dtype), T(2, dtype))


REGISTRY = {"n": 0, "calls": 0}


def count_in_registry(v):
    REGISTRY["n"] += v
    REGISTRY["calls"] += 1


def registry():
    return REGISTRY


def global_changed_by_helper(t):
    # The loop body names neither REGISTRY nor the dict: the helpers do.
    registry().update(n=0, calls=0)
    for v in t:
        if v > 1:
            count_in_registry(v)
    return registry()["n"], registry()["calls"]


def dict_update_in_loop(t):
    d = {"s": 0, "m": 1}
    for v in t:
        d.update(s=d["s"] + v, m=d["m"] * 2)
    return d


def setattr_and_dunder_dict_in_if(x):
    c = Counter()
    if x > 0:
        setattr(c, "count", x)
        c.__dict__["total"] = x + 1
    else:
        c.__dict__["count"] = -x
    return c.count, c.total


def test_more_carried_changes():
    for dtype in DTYPES:
        check(global_changed_by_helper, T([1, 2, 3], dtype))
        check(dict_update_in_loop, T([1, 2, 3], dtype))
        for x in (2, -3):
            check(setattr_and_dunder_dict_in_if, T(x, dtype))


def reverse_in_loop(t):
    xs = [0, 1, 2]
    for v in t:
        xs.reverse()
        xs[0] = xs[0] + v
    return xs


def reverse_by_helper(xs):
    xs.reverse()


def reverse_helper_in_if(x):
    xs = [x, 2 * x]
    if x > 0:
        reverse_by_helper(xs)
    return xs


def test_python_list_methods_that_keep_the_length_are_carried():
    for dtype in DTYPES:
        check(reverse_in_loop, T([1, 2, 3], dtype))
        for x in (2, -3):
            check(reverse_helper_in_if, T(x, dtype))


def helper_in_loop_counted(t):
    stats = {"n": 0}
    for v in t:
        bump(stats, v)
    return stats["n"]


def test_learned_state_is_kept_per_statement():
    # The first trace learns what the helper changes (one build of the loop is
    # thrown away); a later trace of the same statement carries it at once.
    f = kgraph.function(helper_in_loop_counted)
    line = int(location(helper_in_loop_counted, "for v in t:").rsplit(":", 1)[1])
    with TraceCounter() as first:
        f(tf.constant([1, 2]))
    with TraceCounter() as second:
        f(tf.constant([1.0, 2.0]))
    assert first.real(line=line, part="body") == second.real(line=line, part="body") == 1
    # first: the thrown-away build (test + body) and the scratch trace that
    # learns the Python number's dtype; second: that scratch trace only.
    assert second.scratch(line=line) == first.scratch(line=line) - 2, (
        first.by_site(), second.by_site())


# =========================================================================
# Keras layers: self.x changed by a method called from a tensor loop
# =========================================================================

class Tally(kgraph.GraphLayer):
    def __init__(self):
        super().__init__()
        self.seen = 0

    def note(self):
        self.seen += 1

    def call(self, x):
        # A tensor counter: a Python 0 carried out of the loop is a WeakTensor
        # since the weak-number work, which a Keras layer cannot return yet.
        self.seen = tf.constant(0)
        for v in x:
            if v > 0:
                self.note()
        return x * 2, self.seen


def test_layer_attribute_changed_by_a_method_in_a_tensor_loop():
    layer = Tally()
    out, seen = tf.function(lambda x: layer(x))(tf.constant([1, -2, 3]))
    assert out.numpy().tolist() == [2, -4, 6]
    assert int(seen) == 2
    model = keras.Sequential([keras.Input((4,), dtype="int32"), keras.layers.Lambda(
        lambda x: tf.reshape(x, [-1])), Tally()])
    _, seen = model.predict(tf.constant([[1, -2, 3, 4]]), verbose=0)
    assert int(seen) == 3


# =========================================================================
# refused: a Python list that changes length, a set
# =========================================================================

def app(xs, v):
    xs.append(v)


def append_helper_in_if(x):
    xs = []
    if x > 0:
        app(xs, x)
    return len(xs)


def append_helper_in_loop(t):
    xs = [0]
    for v in t:
        app(xs, v)
    return xs


def set_add_in_if(x):
    seen = {0}
    if x > 0:
        seen.add(1)
    return len(seen)


def mark(seen, k):
    seen.add(k)


def set_add_helper_in_loop(t):
    seen = set()
    for v in t:
        mark(seen, "x")
    return len(seen)


@pytest.mark.parametrize("fn,arg,container,helper,line", [
    (append_helper_in_if, tf.constant(1), "xs", "app", "if x > 0:"),
    (append_helper_in_loop, tf.constant([1, 2]), "xs", "app", "for v in t:"),
    (set_add_in_if, tf.constant(1), "seen", None, "if x > 0:"),
    (set_add_helper_in_loop, tf.constant([1, 2]), "seen", "mark", "for v in t:"),
])
def test_changes_that_cannot_be_carried_are_clear_errors(fn, arg, container, helper, line):
    with pytest.raises(kgraph.UnsupportedStagingError) as info:
        kgraph.function(fn)(arg)
    err = info.value
    assert isinstance(err, NotImplementedError)
    msg = str(err)
    assert f" {container} " in msg, msg
    assert location(fn, line) in msg, msg
    if helper:
        call_line = location(fn, f"{helper}(").rsplit(":", 1)[1]
        assert f"{helper}() at line {call_line}" in msg, msg
    assert "hint" in msg, msg


def test_python_paths_are_not_watched():
    # Python conditions run as Python: the helper's append is Python's.
    assert kgraph.to_graph(append_helper_in_if)(1) == 1
    assert kgraph.to_graph(append_helper_in_if)(-1) == 0
    assert kgraph.function(append_helper_in_loop)([1, 2]) == [0, 1, 2]
