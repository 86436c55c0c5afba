"""kgraph's public functions: function, to_graph, convert, to_code, explain,
do_not_convert."""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
import types

import tensorflow as tf

from kgraph import context
from kgraph.convert import api_impl, policy
from kgraph.errors import NotConvertibleError
from kgraph.operators import lists
from kgraph.operators.builtins import ASSERT_MARKER, AssertRegister
from kgraph.operators.undefined import translate_unbound
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
    """(function, bound self or None) behind whatever the user passed."""
    if isinstance(fn, Function):
        return _plain(fn.python_function)
    original = getattr(fn, "__kgraph_original__", None)   # a GraphLayer's wrapped method
    if original is not None:
        return original, None
    if isinstance(fn, types.MethodType):
        inner = getattr(fn.__func__, "__kgraph_original__", None)
        if inner is not None:
            return inner, fn.__self__
        return fn.__func__, fn.__self__
    if isinstance(fn, types.FunctionType):
        return fn, None
    if isinstance(fn, functools.partial):
        raise NotConvertibleError("convert the function inside the functools.partial, then "
                                  "re-apply partial")
    call = getattr(type(fn), "__call__", None)
    if isinstance(call, types.FunctionType):
        return call, fn
    raise NotConvertibleError(f"cannot convert {fn!r}: it is not a Python function")


def to_graph(fn):
    """The converted Python function: same signature, graph-ready control flow.

    Call it eagerly (Python semantics, eager tensors) or inside a
    ``tf.function`` (graph control flow where the values are tensors).
    """
    func, bound = _plain(fn)
    if getattr(func, policy.DO_NOT_CONVERT, False):
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
    func, _ = _plain(fn)
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
    unbound = translate_unbound(message)   # a variable read where it was never bound
    if unbound is not None:
        return unbound
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
        self._register = None
        self.trace_count = 0
        self.reports = []   # one Recorder per trace, for callbacks and explain
        functools.update_wrapper(self, python_function)

    def _build(self):
        converted = to_graph(self.python_function)
        jit = bool(self._options.get("jit_compile"))
        # Under XLA, asserts report to an error register that __call__ reads
        # after the computation (XLA drops assertion ops).
        register = self._register = AssertRegister() if jit else None

        def traced(*args, **kwargs):
            self.trace_count += 1
            recorder = Recorder()
            with context.tracing(jit_compile=jit, recorder=recorder), \
                    (register.active() if register is not None else contextlib.nullcontext()):
                if register is not None:
                    register.reset()
                out = converted(*args, **kwargs)
            self.reports.append(recorder)
            # A list grown in a graph loop is returned stacked (docs/converter.md).
            out = lists.to_user(out)
            return out

        functools.update_wrapper(traced, self.python_function)
        self._tf_function = tf.function(traced, autograph=False, **self._options)

    @property
    def tf_function(self):
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

    def __repr__(self):
        return f"<kgraph.function {self.python_function.__qualname__}>"


def _call_translating(fn, args, kwargs):
    try:
        return fn(*args, **kwargs)
    except tf.errors.InvalidArgumentError as e:
        err = translate_error(e)
        if err is None:
            raise
        raise err from e


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
        raise NotConvertibleError("kgraph.function takes a function, not a class")
    return Function(fn, options)
