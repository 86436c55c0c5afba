"""Run-time checks: what Python would raise, known only when the graph runs.

kgraph adds a check where Python raises on a value the trace cannot see: a
name bound only on some run-time paths (``MaybeUnbound``), a graph list's
index out of range, ``pop`` from an empty list, ``next()`` on an exhausted
iterator, ``min()`` of an empty sequence... ``require(ok, make_error, text)``
is the one way to add one, so that each works the same with and without XLA:

* Without XLA: a ``tf.debugging.Assert`` whose message starts with a site
  marker (``kgraph-check#<id>#``, then ``text`` for a human reading the raw
  TensorFlow error). ``kgraph.function`` and the Keras step wrappers
  translate the ``InvalidArgumentError`` into the site's exception
  (``translate``): the builtin class Python raises, naming the user's line.
* Under XLA assertion ops are dropped. A failing check writes its index into
  the error register of the caller that compiles
  (``kgraph.function(..., jit_compile=True)``, a ``GraphModel`` step: see
  ``AssertRegister`` in builtins.py), which reads it after the computation
  and raises the same exception on the host. No host round trip: the write
  is an elementwise select on an int32 variable, inside loops too.
* Under XLA without a register (converted code in a plain
  ``tf.function(jit_compile=True)`` or a plain Keras model compiled with
  XLA) nobody would ever read the failure: the check is refused at the
  user's line when the graph is traced, as an ``assert`` is, unless the
  condition is known to hold when tracing.

The exception is made on the host (``make_error()``), only when the check
failed, so it may carry anything Python knows when tracing (the variable,
the user's file and line); it cannot carry run-time values under XLA.
"""

from __future__ import annotations

import itertools
import re
import threading

import tensorflow as tf

CHECK_MARKER = "kgraph-check#"
_MARKER_RE = re.compile(re.escape(CHECK_MARKER) + r"(\d+)#")

# site id -> make_error, for the checks compiled without XLA (the id is all the
# graph's message carries). One entry per traced check: small, and traces are few.
_sites = {}
_ids = itertools.count(1)
_lock = threading.Lock()


def require(ok, make_error, text, data=(), location=None):
    """Check that ``ok`` (a scalar bool tensor, or a Python bool) holds.

    ``make_error``: a function of no arguments making the exception to raise
    (on the host, after the failing call). ``text``: a readable message for
    the raw assertion (e.g. inside Keras' own loop, where nobody translates).
    ``data``: tensors the raw assertion prints after ``text`` (without XLA).
    ``location``: ``file:line`` for the refusal under XLA without a register.

    Returns the ops that what depends on the check must run after (a list,
    empty when there is nothing to wait for: under XLA the register write is
    a stateful op that always runs, and a failed call is raised afterwards).
    """
    if not tf.is_tensor(ok):
        if not ok:
            raise make_error()
        return []
    static = tf.get_static_value(ok)
    if static is not None and bool(static):
        return []
    if tf.executing_eagerly():
        if not bool(ok):
            raise make_error()
        return []
    from kgraph.context import jit_compile
    if jit_compile():
        _require_under_xla(ok, make_error, location)
        return []
    with _lock:
        sid = next(_ids)
    _sites[sid] = make_error
    return [tf.debugging.Assert(ok, [f"{CHECK_MARKER}{sid}# {text}", *data], summarize=16)]


def gated(ok, make_error, text, value, data=(), location=None):
    """``value``, read only after ``require(ok, ...)`` held (an identity under
    a control dependency on the assertion; ``value`` itself under XLA)."""
    deps = require(ok, make_error, text, data, location)
    if not deps:
        return value
    with tf.control_dependencies(deps):
        return tf.nest.map_structure(tf.identity, value)


def _require_under_xla(ok, make_error, location):
    from kgraph.errors import StagingError
    from kgraph.operators.builtins import current_register
    register = current_register()
    if register is None:
        err = make_error()
        raise StagingError(
            f"a run-time check in code compiled with XLA ({_first_line(err)}): XLA drops "
            f"assertion ops, so this error would never be raised and the result would be "
            f"silently wrong", location=location or getattr(err, "location", None),
            hints=tuple(getattr(err, "hints", ())) + (
                   "call the function through kgraph.function(f, jit_compile=True), or "
                   "in a kgraph.GraphModel step: both carry the failure out of XLA and "
                   "raise it",
                   "or compile without XLA (jit_compile=False)"),
            kind="check-under-xla")
    register.sites.append(make_error)
    index = len(register.sites)
    var = register.variable
    now = var.read_value()
    first = tf.logical_and(tf.equal(now, 0), tf.logical_not(tf.cast(ok, tf.bool)))
    var.assign(tf.where(first, tf.constant(index, tf.int32), now))


def _first_line(err):
    explanation = getattr(err, "explanation", None) or str(err)
    return explanation.splitlines()[0] if explanation else type(err).__name__


def translate(message):
    """The exception of the failed check named in ``message`` (the text of a
    TensorFlow error), or None if it holds no check marker."""
    m = _MARKER_RE.search(message)
    if m is None:
        return None
    make_error = _sites.get(int(m.group(1)))
    return None if make_error is None else make_error()
