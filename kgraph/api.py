"""kgraph's public functions: function, to_graph, convert, to_code, explain,
do_not_convert."""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
import threading
import types

import tensorflow as tf

from kgraph import context, undo
from kgraph.convert import api_impl, policy
from kgraph.errors import NotConvertibleError, StagingTypeError, StagingValueError
from kgraph.operators import checks, lists
from kgraph.operators.builtins import ASSERT_MARKER, AssertRegister
from kgraph.operators.numeric import translate_arithmetic
from kgraph.operators.undefined import MaybeUnbound, translate_unbound
from kgraph.operators.weak import plain_nest
from kgraph.report import Recorder, Report


def do_not_convert(fn):
    """Mark ``fn`` so that kgraph calls it as is, never converting it."""
    target = fn.__func__ if isinstance(fn, types.MethodType) else fn
    try:
        setattr(target, policy.DO_NOT_CONVERT, True)
    except (AttributeError, TypeError):
        pass
    return fn


def _plain(fn):
    """(function, bound self or None) behind whatever the user passed;
    (None, None) for a callable that is not Python code of the user's to
    convert (a builtin, a NumPy ufunc, a Keras layer instance...: called as is,
    as ``tf.function`` would)."""
    if isinstance(fn, Function):
        return _plain(fn.python_function)
    if inspect.isclass(fn):
        raise _class_error(fn)
    if isinstance(fn, types.MethodType):
        # (before the attribute check below: a bound method forwards
        # attribute reads to its function, and would lose its ``self``)
        inner = getattr(fn.__func__, "__kgraph_original__", None)
        if inner is not None:
            return inner, fn.__self__
        if isinstance(fn.__func__, types.FunctionType):
            return fn.__func__, fn.__self__
        return None, None
    original = getattr(fn, "__kgraph_original__", None)   # a GraphLayer's wrapped method
    if original is not None:
        return original, None
    if isinstance(fn, types.FunctionType):
        return fn, None
    if isinstance(fn, functools.partial):
        raise NotConvertibleError("a functools.partial has no code of its own: convert "
                                  "its function (kgraph.to_graph(p.func))")
    call = getattr(type(fn), "__call__", None)
    if isinstance(call, types.FunctionType) and policy.should_convert(call):
        return call, fn
    if not callable(fn):
        raise NotConvertibleError(f"cannot convert {fn!r}: it is not callable")
    return None, None


def _class_error(cls):
    try:
        location = f"{inspect.getsourcefile(cls)}:{inspect.getsourcelines(cls)[1]}"
    except (OSError, TypeError):
        location = None
    return NotConvertibleError(
        f"cannot convert the class {cls.__qualname__}: kgraph converts functions",
        location=location,
        hints=("for a Keras layer or model, subclass kgraph.GraphLayer or "
               "kgraph.GraphModel: their call/train_step are converted",
               "for another class, convert its methods (kgraph.function(obj.method))"))


def to_graph(fn):
    """The converted Python function: same signature, graph-ready control flow.

    Call it eagerly (Python semantics, eager tensors) or inside a
    ``tf.function`` (graph control flow where the values are tensors).
    A ``functools.partial`` gives the partial of the converted function; a
    callable with no Python code of the user's (``abs``, ``np.square``, a
    Keras layer instance) is returned as is.
    """
    if isinstance(fn, functools.partial):
        return functools.partial(to_graph(fn.func), *fn.args, **fn.keywords)
    func, bound = _plain(fn)
    if func is None or getattr(func, policy.DO_NOT_CONVERT, False):
        return fn
    new = api_impl.converted_function(func)
    return types.MethodType(new, bound) if bound is not None else new


def convert(**_unused_options):
    """Decorator form of ``to_graph``: ``@kgraph.convert()``."""
    if _unused_options:
        raise TypeError(f"kgraph.convert() takes no options, got {sorted(_unused_options)}")
    return to_graph


def to_code(fn):
    """The generated source of ``fn``, as kgraph compiled it."""
    func, _ = _plain(fn.func if isinstance(fn, functools.partial) else fn)
    if func is None:
        raise NotConvertibleError(f"{fn!r} has no Python source of the user's: kgraph "
                                  f"calls it as is")
    return api_impl.convert_code(func).generated_source


def explain(fn, *args, **kwargs):
    """Trace ``fn`` on ``args`` and report, statement by statement, what became
    graph control flow, what stayed Python, and why."""
    func, bound = _plain(fn)
    jit = bool(fn._options.get("jit_compile")) if isinstance(fn, Function) else False
    converted = to_graph(fn) if bound is None else to_graph(types.MethodType(func, bound))
    recorder = Recorder()
    recorder.note_converted(func.__qualname__)

    def traced(*a, **k):
        with context.tracing(jit_compile=jit, recorder=recorder):
            return converted(*a, **k)

    tf.function(traced, autograph=False).get_concrete_function(*args, **kwargs)
    return Report(func.__qualname__, recorder.decisions, recorder.converted,
                  api_impl.convert_code(func).generated_source)


_ASSERT_RE = re.compile(re.escape(ASSERT_MARKER) + r"(.*?):\]?\s*(?:\[(.*?)\])?\s*$",
                        re.S | re.M)


def translate_error(e):
    """A graph assertion failure becomes the AssertionError Python would raise."""
    message = getattr(e, "message", str(e))
    failed = checks.translate(message)     # a run-time check kgraph added
    if failed is not None:
        return failed
    unbound = translate_unbound(message)   # a variable read where it was never bound
    if unbound is not None:
        return unbound
    arithmetic = translate_arithmetic(message)   # an integer division by zero...
    if arithmetic is not None:
        return arithmetic
    if ASSERT_MARKER not in message:
        return None
    tail = message.split(ASSERT_MARKER, 1)[1]
    location, _, rest = tail.partition(":]")
    if not rest:
        location, _, rest = tail.partition(":")
    text = rest.strip()
    if text.startswith("[") and "]" in text:
        text = text[1:text.index("]")]
    else:
        text = ""
    err = AssertionError(f"{text} (assertion at {location.strip()})" if text
                         else f"assertion at {location.strip()} failed")
    err.location = location.strip()
    err.kgraph_message = text
    return err


class Function:
    """``kgraph.function(f)``: convert ``f`` on first call, then run it as one
    graph (``tf.function(converted, autograph=False, **options)``)."""

    def __init__(self, python_function, options):
        self.python_function = python_function
        self._options = dict(options)
        self._tf_function = None
        self._build_lock = threading.Lock()
        self._register = None
        self.trace_count = 0
        self.reports = []   # one Recorder per trace, for callbacks and explain
        functools.update_wrapper(self, python_function)

    def _build(self):
        twin = _numpy_in_graph(self.python_function)
        converted = twin or to_graph(self.python_function)
        jit = bool(self._options.get("jit_compile"))
        # Under XLA, asserts report to an error register that __call__ reads
        # after the computation (XLA drops assertion ops).
        register = self._register = AssertRegister() if jit else None

        def body(*args, **kwargs):
            out = converted(*args, **kwargs)
            # A name bound only on some paths is checked here, where the
            # register (under XLA) is active, not by tf.function's return.
            out = tf.nest.map_structure(_read_checked, out)
            err = _no_op_error(self.python_function, out)
            if err is not None:
                raise err
            # A list grown in a graph loop is returned stacked (docs/converter.md);
            # a Python number carried by graph control flow leaves as its tensor.
            return plain_nest(lists.to_user(out))

        def traced(*args, **kwargs):
            self.trace_count += 1
            recorder = Recorder()
            with context.tracing(jit_compile=jit, recorder=recorder), \
                    (register.active() if register is not None else contextlib.nullcontext()):
                if register is None:
                    out = body(*args, **kwargs)
                else:
                    # A failing call leaves the variables as before it (kgraph/undo.py).
                    register.reset()
                    out = undo.call_undoing_on_failure(
                        tf.function(body, autograph=False), args, kwargs, register)
            self.reports.append(recorder)
            return out

        if twin is None and converted is not self.python_function:
            # The user's signature, for tf.function's argument binding (not for
            # a builtin or ufunc: tf.function would pass every keyword default).
            functools.update_wrapper(traced, self.python_function)
        self._tf_function = tf.function(traced, autograph=False, **self._options)

    @property
    def tf_function(self):
        if self._tf_function is None:
            with self._build_lock:      # threads making the first call at once: one build
                if self._tf_function is None:
                    self._build()
        return self._tf_function

    def __call__(self, *args, **kwargs):
        return self._checked(_call_translating(self.tf_function, args, kwargs))

    def _checked(self, out):
        """``out``, unless an assert compiled by XLA failed during the call."""
        register = self._register
        if register is not None and register.sites:
            err = register.error()
            if err is not None:
                err.add_note(UNDONE_NOTE)
                raise err
        return out

    def _call_bound(self, bound, *args, **kwargs):
        return self._checked(_call_translating(bound, args, kwargs))

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        bound = self.tf_function.__get__(instance, owner)
        return functools.partial(self._call_bound, bound)

    def get_concrete_function(self, *args, **kwargs):
        return self.tf_function.get_concrete_function(*args, **kwargs)

    def experimental_get_tracing_count(self):
        return self.trace_count

    @property
    def __signature__(self):
        # What inspect.signature / getfullargspec report (Keras' Lambda layer
        # reads it): the signature of the function given, as tf.function's.
        try:
            return inspect.signature(self.python_function)
        except (TypeError, ValueError):
            return None

    def __repr__(self):
        name = getattr(self.python_function, "__qualname__", None) or repr(self.python_function)
        return f"<kgraph.function {name}>"


UNDONE_NOTE = (
    "kgraph: under jit_compile=True a failing call leaves tf.Variables as they were before "
    "the call: all its writes are undone, also those made before the failing line (without "
    "XLA those stay, as in Python); see 'Failures under XLA' in docs/converter.md")


def _read_checked(value):
    return value.checked() if isinstance(value, MaybeUnbound) else value


def _numpy_in_graph(fn):
    """A NumPy function (``np.square``) cannot take graph tensors; its
    ``tf.experimental.numpy`` twin can, with NumPy's result dtypes. None for
    anything else."""
    if isinstance(fn, Function) or not callable(fn) or inspect.isclass(fn):
        return None
    module = getattr(fn, "__module__", None) or ""
    if not (module == "numpy" or module.startswith("numpy.")
            or type(fn).__name__ == "ufunc"):
        return None
    from tensorflow.experimental import numpy as tnp
    twin = getattr(tnp, getattr(fn, "__name__", ""), None)
    if twin is None:
        raise NotConvertibleError(
            f"{fn!r} is a NumPy function: it runs on NumPy arrays, not on graph tensors, and "
            f"tf.experimental.numpy has no {getattr(fn, '__name__', fn)!r}",
            hints=("use the TensorFlow equivalent (tf.math...), or call it on "
                   "NumPy values outside the graph",))
    return twin


def _call_translating(fn, args, kwargs):
    try:
        return fn(*args, **kwargs)
    except tf.errors.InvalidArgumentError as e:
        err = translate_error(e)
        if err is None:
            raise
        raise err from e
    except ValueError as e:
        if _VARIABLE_ON_CALL not in str(e):
            raise
        raise StagingValueError(
            "a tf.Variable (a Keras model, layer or optimizer, which make variables) is "
            "created inside the converted function: a graph function runs its ops at every "
            "call, but creates variables only once, when it is traced",
            location=_user_frame(e.__traceback__),
            hints=("create the model, optimizer and variables once, outside the function, "
                   "and use them inside it (or pass them in)",
                   "for a training loop, use kgraph.GraphModel and "
                   "fit(steps_per_execution='epoch' or 'fit'): the whole loop runs in one "
                   "graph call"),
            kind="variable-in-function") from e


_VARIABLE_ON_CALL = "only supports singleton tf.Variables created on the first call"


def _user_frame(tb):
    """file:line of the innermost frame of kgraph-converted code in ``tb``."""
    found = None
    while tb is not None:
        code = tb.tb_frame.f_code
        if policy.is_generated(code):
            found = f"{code.co_filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


def _no_op_error(fn, out):
    """A StagingTypeError if ``out`` holds a tf.Operation (``return tf.no_op()``)."""
    if not any(isinstance(v, tf.Operation) for v in tf.nest.flatten(out)):
        return None
    location = None
    code = getattr(inspect.unwrap(fn), "__code__", None)
    if code is not None:
        location = f"{code.co_filename}:{code.co_firstlineno}"
        try:
            lines, start = inspect.getsourcelines(code)
            hits = [start + i for i, line in enumerate(lines)
                    if line.lstrip().startswith("return") and "no_op" in line]
            if hits:
                location = f"{code.co_filename}:{hits[0]}"
        except (OSError, TypeError):
            pass   # no source: the def line
    return StagingTypeError(
        "the function returns a tf.Operation (such as tf.no_op()): a graph function "
        "returns tensors; its ops (updates, prints, asserts) run at every call without "
        "being returned",
        location=location,
        hints=("return nothing (or a tensor): TF1's `return tf.no_op()` / "
               "`tf.group(...)` is not needed",),
        kind="returns-operation")


def function(fn=None, **options):
    """Convert ``fn`` and run it as one TensorFlow graph.

    ``options`` go to ``tf.function`` (``jit_compile=True``,
    ``input_signature=...``, ``reduce_retracing=True``...); ``autograph`` is
    always False: TensorFlow's own converter never runs over kgraph's output.
    Usable as ``@kgraph.function`` or ``@kgraph.function(jit_compile=True)``.
    """
    if "autograph" in options:
        raise TypeError("kgraph.function always passes autograph=False to tf.function")
    if fn is None:
        return lambda f: Function(f, options)
    if inspect.isclass(fn):
        raise _class_error(fn)
    return Function(fn, options)
