"""The conversion driver: source -> passes -> code, cached per code object."""

from __future__ import annotations

import ast
import dataclasses
import functools
import threading
import time
import types
import weakref

from kgraph import context
from kgraph.analysis.scopes import all_identifiers
from kgraph.convert import codegen, source
from kgraph.convert.names import Namer
from kgraph.errors import NotConvertibleError
from kgraph.passes import run_all
from kgraph.passes.common import Context


@dataclasses.dataclass
class Conversion:
    qualname: str
    filename: str
    original_source: str
    tree: ast.AST             # the converted function (Python AST)
    code: types.CodeType
    seconds: float

    @functools.cached_property
    def generated_source(self):
        """The generated code as text (made on first use: most conversions are
        never shown)."""
        return ast.unparse(self.tree)


_lock = threading.RLock()
_by_code = {}                               # original code object -> Conversion
_by_function = weakref.WeakKeyDictionary()  # original function -> converted function
stats = {"conversions": 0}                  # tests assert on this counter


def convert_code(fn):
    """Convert ``fn``'s code (once per code object) and return the Conversion."""
    with _lock:
        conv = _by_code.get(fn.__code__)
        if conv is not None:
            return conv
        start = time.perf_counter()
        src = source.get_source(fn)
        closure = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
        ctx = Context(filename=src.filename, globals=fn.__globals__, closure=closure,
                      namer=Namer(all_identifiers(src.node)))
        node = run_all(src.node, ctx)
        if hasattr(node, "decorator_list"):
            node.decorator_list = []  # applied by the original def, not again
        code, tree = codegen.compile_code(fn, node, src.filename)
        conv = Conversion(fn.__qualname__, src.filename, src.text, tree, code,
                          time.perf_counter() - start)
        _by_code[fn.__code__] = conv
        stats["conversions"] += 1
        return conv


def partial_source(fn, upto):
    """The source after the pipeline ran up to and including pass ``upto``
    (for golden tests of single passes; not cached)."""
    src = source.get_source(fn)
    closure = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    ctx = Context(filename=src.filename, globals=fn.__globals__, closure=closure,
                  namer=Namer(all_identifiers(src.node)))
    node = run_all(src.node, ctx, upto=upto)
    if hasattr(node, "decorator_list"):
        node.decorator_list = []
    return codegen.to_source(node)


def converted_function(fn):
    """The converted twin of the plain function ``fn`` (cached per function)."""
    if not isinstance(fn, types.FunctionType):
        raise NotConvertibleError(f"cannot convert {fn!r}: not a Python function")
    try:
        new = _by_function.get(fn)
    except TypeError:
        new = None
    if new is None:
        conv = convert_code(fn)
        new = codegen.bind(fn, conv.code)
        try:
            _by_function[fn] = new
        except TypeError:
            pass
    rec = context.recorder()
    if rec is not None:
        rec.note_converted(fn.__qualname__)
    return new


def conversions():
    """Every Conversion made so far (for callbacks that show converted code)."""
    with _lock:
        return list(_by_code.values())


def clear_cache():
    with _lock:
        _by_code.clear()
        _by_function.clear()
