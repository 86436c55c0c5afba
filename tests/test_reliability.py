"""Never silently wrong (issue 10): decorated functions, source that is not
the running code, asserts (ordering, nested blocks, XLA), failing Keras steps,
any callable, concurrent first calls."""

from __future__ import annotations

import functools
import importlib.util
import inspect
import os
import sys
import textwrap
import threading

import numpy as np
import pytest
import tensorflow as tf

import kgraph
from kgraph.errors import ConversionError

HERE = os.path.abspath(__file__)


def _line_of(fn, text):
    """The absolute line of the first line of ``fn``'s source containing ``text``."""
    lines, start = inspect.getsourcelines(fn)
    for i, line in enumerate(lines):
        if text in line:
            return start + i
    raise AssertionError(f"{text!r} not in {fn.__name__}")


def _module_from(tmp_path, name, source):
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module, str(path)


# ---------------------------------------------------------------------------
# 1. Decorated functions: the conversion is the function's own code.

def _passthrough(f):
    @functools.wraps(f)
    def wrapper(*args):
        return f(*args)
    return wrapper


@_passthrough
def _plus(x):
    return x + 1


@_passthrough
def _minus(x):
    return x - 1


def _uses_both(x):
    return _plus(x) * 10 + _minus(x)


def test_decorated_functions_each_run_their_own_code():
    assert int(kgraph.function(_minus)(tf.constant(5))) == 4
    assert int(kgraph.function(_plus)(tf.constant(5))) == 6
    assert kgraph.to_graph(_plus)(5) == 6
    assert kgraph.to_graph(_minus)(5) == 4
    # The wrapper's code is converted (what runs), named after itself.
    code = kgraph.to_code(_plus)
    assert "def wrapper" in code and "minus" not in code
    # Through nested calls too.
    assert int(kgraph.function(_uses_both)(tf.constant(5))) == 64
    assert kgraph.to_graph(_uses_both)(5) == 64


def _tf_abs_wrapped():
    return _passthrough(tf.abs)


def _user_abs(x):
    if x < 0:
        return -x * 100
    return x * 100


def test_one_wrapper_code_around_a_library_function_and_a_user_function():
    # The same wrapper code closes over tf.abs once and over the user's own
    # function once: the second must still be converted (its `if` on a tensor).
    lib = _tf_abs_wrapped()
    user = _passthrough(_user_abs)
    assert int(kgraph.function(lib)(tf.constant(-3))) == 3
    assert int(kgraph.function(user)(tf.constant(-3))) == 300
    assert int(kgraph.function(user)(tf.constant(2))) == 200


# ---------------------------------------------------------------------------
# 2. Source that is not the running code is refused.

_EDITABLE = """\
    def step(x):
        if x > 0:
            x = x + 1
        return x
"""


def test_source_edited_on_disk_after_import_is_refused(tmp_path):
    module, path = _module_from(tmp_path, "kg_rel_edited", _EDITABLE)
    with open(path, "w") as f:
        f.write(textwrap.dedent(_EDITABLE).replace("x + 1", "x + 1000"))
    os.utime(path, (1, 1))   # a different mtime than at import, whatever the clock
    with pytest.raises(ConversionError) as info:
        kgraph.function(module.step)(tf.constant(1))
    text = str(info.value)
    assert f"{path}:1" in text
    assert "reload" in text and "step" in text


def test_source_edited_on_disk_runs_after_reload(tmp_path):
    module, path = _module_from(tmp_path, "kg_rel_reloaded", _EDITABLE)
    with open(path, "w") as f:
        f.write(textwrap.dedent(_EDITABLE).replace("x + 1", "x + 1000"))
    os.utime(path, (2, 2))
    module.__spec__.loader.exec_module(module)   # what importlib.reload does
    assert int(kgraph.function(module.step)(tf.constant(1))) == 1001


def _real(x):
    if x > 0:
        return x + 1
    return x


def _impostor(x):
    if x > 0:
        return x * 1000
    return x


def test_crafted_wrapped_attribute_is_not_what_runs():
    def fn(x):
        return _real(x)
    fn.__wrapped__ = _impostor     # inspect would follow it; the code is fn's own
    assert int(kgraph.function(fn)(tf.constant(2))) == 3
    assert "1000" not in kgraph.to_code(fn)


def test_code_naming_another_file_is_refused(tmp_path):
    other, other_path = _module_from(tmp_path, "kg_rel_other", """\
        def step(x):
            if x > 0:
                x = x * 1000
            return x
    """)
    module, _ = _module_from(tmp_path, "kg_rel_own", _EDITABLE)
    fn = module.step
    fn.__code__ = fn.__code__.replace(co_filename=other_path)
    with pytest.raises(ConversionError, match="reload") as info:
        kgraph.to_graph(fn)
    assert f"{other_path}:1" in str(info.value)


def test_methods_with_multiline_strings_and_private_names_still_convert():
    class Holder:
        def __init__(self):
            self.__scale = 3

        def run(self, x):
            text = """a
            b"""
            if x > 0:
                x = x * self.__scale + len(text)
            return x

    h = Holder()
    assert int(kgraph.function(h.run)(tf.constant(2))) == 2 * 3 + len("a\n            b")


# ---------------------------------------------------------------------------
# 4. Asserts in nested blocks: Python's order holds in the graph.

_v = tf.Variable(0.0)
_w = tf.Variable(0.0)


def _assert_in_python_if(x, check):
    _w.assign_add(1.0)
    if check:
        assert x > 0, "x must be positive"
    _v.assign_add(1.0)
    return x


def _assert_in_tensor_if(x):
    _w.assign_add(1.0)
    if x < 100:
        assert x > 0, "x must be positive"
    _v.assign_add(1.0)
    return x


def _assert_in_tensor_for(x):
    _w.assign_add(1.0)
    for i in tf.range(3):
        assert x > tf.cast(i, x.dtype) - 5.0, "x too small"
    _v.assign_add(1.0)
    return x


def _assert_in_tensor_while(x):
    _w.assign_add(1.0)
    i = 0.0
    while i < 5.0 + x * 0.0:
        if i > 2:
            assert x > 0, "x must be positive"
        i += 1.0
    _v.assign_add(1.0)
    return x


@pytest.mark.parametrize("fn, extra", [
    (_assert_in_python_if, (True,)), (_assert_in_tensor_if, ()),
    (_assert_in_tensor_for, ()), (_assert_in_tensor_while, ())])
def test_failing_assert_in_a_nested_block_holds_back_what_follows(fn, extra):
    f = kgraph.function(fn)
    _v.assign(0.0)
    _w.assign(0.0)
    line = _line_of(fn, "assert x")
    for _ in range(20):
        with pytest.raises(AssertionError) as info:
            f(tf.constant(-10.0), *extra)
        assert f"{HERE}:{line}" in str(info.value)
    assert float(_v.numpy()) == 0.0     # nothing after the failing assert ran
    assert float(_w.numpy()) == 20.0    # everything before it did
    assert float(f(tf.constant(10.0), *extra)) == 10.0
    assert float(_v.numpy()) == 1.0


def _ancestors(op):
    seen, todo = set(), [op]
    while todo:
        o = todo.pop()
        for p in [t.op for t in o.inputs] + list(o.control_inputs):
            if p not in seen:
                seen.add(p)
                todo.append(p)
    return seen


def _update_then_assert(x):
    _w.assign_add(1.0)
    assert x > 0
    return x


def _update_then_nested_assert(x):
    _w.assign_add(1.0)
    if x < 100:
        assert x > 0
    return x


@pytest.mark.parametrize("fn, kind", [(_update_then_assert, "Assert"),
                                      (_update_then_nested_assert, "If")])
def test_updates_before_an_assert_run_before_it(fn, kind):
    # A failing assert must not be able to stop an update written before it:
    # the assertion (or the tf.cond holding it) depends on the update.
    graph = kgraph.function(fn).get_concrete_function(tf.constant(1.0)).graph
    checks = [op for op in graph.get_operations() if op.type == kind]
    assert checks
    for op in checks:
        assert any(a.type == "AssignAddVariableOp" for a in _ancestors(op))


# ---------------------------------------------------------------------------
# 3. assert under XLA.

def _positive_twice(x):
    assert x > 0, "x must be positive"
    return x * 2


def _deep_assert(x):
    for i in tf.range(3):
        if x < 100:
            assert x + tf.cast(i, x.dtype) > 1, "too small at some step"
    return x


def test_assert_under_xla_fails_on_the_host_with_message_and_line():
    f = kgraph.function(_positive_twice, jit_compile=True)
    assert float(f(tf.constant(3.0))) == 6.0
    with pytest.raises(AssertionError, match="x must be positive") as info:
        f(tf.constant(-1.0))
    assert f"{HERE}:{_line_of(_positive_twice, 'assert x')}" in str(info.value)
    assert float(f(tf.constant(5.0))) == 10.0    # the register is reset per call
    g = kgraph.function(_deep_assert, jit_compile=True)
    assert float(g(tf.constant(3.0))) == 3.0
    with pytest.raises(AssertionError, match="too small") as info:
        g(tf.constant(0.5))
    assert f"{HERE}:{_line_of(_deep_assert, 'assert x')}" in str(info.value)


def test_assert_in_plain_xla_function_is_refused_at_the_users_line():
    from kgraph.errors import StagingError
    f = tf.function(kgraph.to_graph(_positive_twice), jit_compile=True, autograph=False)
    with pytest.raises(StagingError, match="XLA") as info:
        f(tf.constant(1.0))
    assert f"{HERE}:{_line_of(_positive_twice, 'assert x')}" in str(info.value)


# ---------------------------------------------------------------------------
# 5 (and 3 for Keras). A failing step in Keras' default loop and under XLA.

import keras  # noqa: E402


class GuardedStepModel(kgraph.GraphModel):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(1)

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            loss = self.compute_loss(x, y, self(x, training=True))
        grads = tape.gradient(loss, self.trainable_variables)
        assert tf.reduce_max(x) < 50.0, "input too large"
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
        return {m.name: m.result() for m in self.metrics}


class _Snapshot(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        model = self.model
        self.state = [v.numpy().copy() for v in _all_state(model)]


def _all_state(model):
    out = list(model.weights) + list(model.optimizer.variables)
    for metric in model.metrics:
        out += list(metric.variables)
    return out


def _fit_failing(jit, spe, mode_kwargs=None):
    x = np.ones((64, 3), np.float32)
    y = np.ones((64, 1), np.float32)
    x[40] = 100.0                   # in batch 3 (batch size 16)
    model = GuardedStepModel()
    model.compile("adam", "mse", jit_compile=jit, steps_per_execution=spe)
    model.build((None, 3))
    snap = _Snapshot()
    with pytest.raises(AssertionError, match="input too large") as info:
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False, callbacks=[snap],
                  **(mode_kwargs or {}))
    return model, snap, info.value


@pytest.mark.parametrize("jit", [False, True])
def test_failing_step_in_keras_default_loop_names_line_and_step_and_keeps_state(jit):
    model, snap, err = _fit_failing(jit, 1)
    line = _line_of(GuardedStepModel.train_step, "assert tf.reduce_max")
    assert f"{HERE}:{line}" in str(err)
    assert any("epoch 1, batch 3" in note for note in err.__notes__)
    assert int(model.optimizer.iterations.numpy()) == 2
    now = [v.numpy() for v in _all_state(model)]
    assert len(now) == len(snap.state)
    for before, after in zip(snap.state, now):
        np.testing.assert_array_equal(before, after)


def test_failing_step_under_xla_with_several_steps_per_call_is_named():
    model, _, err = _fit_failing(True, 2)
    assert any("epoch 1, batch 3" in note for note in err.__notes__)
    assert int(model.optimizer.iterations.numpy()) == 2


@pytest.mark.parametrize("mode", ["epoch", "fit"])
def test_failing_step_under_xla_in_graph_loops(mode):
    model, _, err = _fit_failing(True, mode)
    assert any("epoch 1, batch 3" in note for note in err.__notes__)
    assert int(model.optimizer.iterations.numpy()) == 2


# ---------------------------------------------------------------------------
# 6. Any callable a user hands over.

class SignedDouble(kgraph.GraphLayer):
    def call(self, x):
        if tf.reduce_sum(x) > 0:
            return x * 2.0
        return -x


def test_bound_call_of_a_graph_layer_and_the_layer_itself():
    layer = SignedDouble()
    x = tf.constant([[1.0, 2.0]])
    np.testing.assert_allclose(kgraph.function(layer.call)(x).numpy(), [[2.0, 4.0]])
    np.testing.assert_allclose(kgraph.function(layer)(-x).numpy(), [[1.0, 2.0]])
    np.testing.assert_allclose(kgraph.to_graph(layer.call)(-x).numpy(), [[1.0, 2.0]])


def _scaled(x, k):
    if k > 1:
        return x * k
    return x


def test_functools_partial_is_converted_inside():
    f = kgraph.function(functools.partial(_scaled, k=3.0))
    assert float(f(tf.constant(2.0))) == 6.0
    g = kgraph.to_graph(functools.partial(_scaled, k=tf.constant(0.5)))
    assert float(g(tf.constant(2.0))) == 2.0


def test_builtins_and_numpy_functions_run_as_in_tf_function():
    assert float(kgraph.function(abs)(tf.constant(-2.5))) == 2.5
    out = kgraph.function(np.square)(tf.constant([3, -4], tf.int64))
    assert out.dtype == tf.int64 and out.numpy().tolist() == [9, 16]
    assert float(kgraph.function(np.square)(tf.constant(1.5))) == 2.25


def _with_default(x, scale=2.0, *, shift=0.0):
    if tf.reduce_sum(x) > 0:
        return x * scale + shift
    return x


def test_kgraph_function_is_introspectable_and_usable_in_a_keras_lambda():
    f = kgraph.function(_with_default)
    assert str(inspect.signature(f)) == "(x, scale=2.0, *, shift=0.0)"
    spec = inspect.getfullargspec(f)
    assert spec.args == ["x", "scale"] and spec.kwonlyargs == ["shift"]
    model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(f)])
    np.testing.assert_allclose(model(np.array([[1.0, 2.0]], np.float32)).numpy(),
                               [[2.0, 4.0]])


def test_converting_a_class_says_to_use_graph_layer_or_graph_model():
    class Plain:
        def __call__(self, x):
            return x

    for convert in (kgraph.convert(), kgraph.function, kgraph.to_graph):
        with pytest.raises(TypeError) as info:
            convert(Plain)
        assert isinstance(info.value, kgraph.NotConvertibleError)
        text = str(info.value)
        assert "GraphLayer" in text and "GraphModel" in text
        assert f"{HERE}:{_line_of(test_converting_a_class_says_to_use_graph_layer_or_graph_model, 'class Plain')}" in text


# ---------------------------------------------------------------------------
# 7. Threads making the first call at once: one conversion, one trace.

def test_eight_threads_first_call_trace_once():
    traced = []

    def body(x):
        traced.append(1)          # runs once per trace
        if x > 0:
            x = x * 2
        return x

    f = kgraph.function(body)
    barrier = threading.Barrier(8)
    results, errors = [], []

    def worker():
        barrier.wait()
        try:
            results.append(int(f(tf.constant(3))))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == [6] * 8
    assert len(traced) == 1
    assert f.trace_count == 1


# ---------------------------------------------------------------------------
# 8. What 2018-style in-graph training loops hit first.

def _builds_a_model(x):
    model = keras.Sequential([keras.layers.Dense(1)])
    return model(x)


def _builds_an_optimizer(x):
    opt = keras.optimizers.SGD(0.1)
    v = tf.Variable(1.0)
    opt.apply_gradients([(x, v)])
    return v


def _returns_no_op(x):
    if x > 0:
        x = x + 1
    return tf.no_op()


@pytest.mark.parametrize("fn, arg, line", [
    (_builds_a_model, tf.ones((2, 3)), "return model(x)"),
    (_builds_an_optimizer, tf.constant(1.0), "opt = keras.optimizers.SGD"),
])
def test_creating_keras_objects_inside_points_at_the_line_with_the_fix(fn, arg, line):
    with pytest.raises(ValueError) as info:
        kgraph.function(fn)(arg)
    assert isinstance(info.value, kgraph.StagingError)
    text = str(info.value)
    assert f"{HERE}:{_line_of(fn, line)}" in text
    assert "outside the function" in text


def test_returning_no_op_points_at_the_line_with_the_fix():
    with pytest.raises(TypeError) as info:
        kgraph.function(_returns_no_op)(tf.constant(1.0))
    assert isinstance(info.value, kgraph.StagingError)
    text = str(info.value)
    assert f"{HERE}:{_line_of(_returns_no_op, 'tf.no_op()')}" in text
    assert "return nothing" in text


def test_generated_code_registry_is_by_identity_and_does_not_keep_code_alive():
    # The registry used to be a set of code objects: content-hashed (quadratic
    # in nesting, and equal code from another file compared whole trees) and
    # holding every generated code forever.
    import gc

    from kgraph.convert import policy

    src = "def outer(x):\n    def inner(y):\n        return y + 1\n    return inner(x)\n"
    first = compile(src, "<kgraph-test-a>", "exec")
    twin = compile(src, "<kgraph-test-a>", "exec")
    assert first == twin and first is not twin   # equal content, two objects
    policy.register_generated(first)
    assert policy.is_generated(first)
    assert not policy.is_generated(twin)          # identity, not equality
    nested = [c for c in first.co_consts if hasattr(c, "co_code")]
    assert nested and all(policy.is_generated(c) for c in nested)
    before = len(policy._generated_codes)
    del first, nested
    gc.collect()
    assert len(policy._generated_codes) < before
