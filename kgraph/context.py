"""Per-thread state of a trace: the options of the kgraph.function being
traced and the recorder that collects conversion decisions for explain()."""

from __future__ import annotations

import contextlib
import threading

_state = threading.local()


def _get(attr, default=None):
    return getattr(_state, attr, default)


def jit_compile():
    """True while a kgraph.function(..., jit_compile=True) is being traced."""
    return bool(_get("jit_compile", False))


def recorder():
    return _get("recorder")


@contextlib.contextmanager
def tracing(jit_compile=None, recorder=None):
    old = (_get("jit_compile"), _get("recorder"))
    if jit_compile is not None:
        _state.jit_compile = jit_compile
    if recorder is not None:
        _state.recorder = recorder
    try:
        yield
    finally:
        _state.jit_compile, _state.recorder = old
