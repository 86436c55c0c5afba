"""The conversion driver: source -> passes -> code, cached per code object."""

from __future__ import annotations

import ast
import dataclasses
import functools
import threading
import time
import types
import weakref

import gast

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
    lookups: dict = dataclasses.field(default_factory=dict, repr=False)

    @functools.cached_property
    def generated_source(self):
        """The generated code as text (made on first use: most conversions are
        never shown)."""
        return ast.unparse(self.tree)


_lock = threading.RLock()
_by_code = {}                               # original code object -> [Conversion, ...]
_by_function = weakref.WeakKeyDictionary()  # original function -> converted function
stats = {"conversions": 0}                  # tests assert on this counter


class _RecordingContext(Context):
    """A Context that remembers every global/closure name the passes looked
    up, and what it denoted: the conversion is only valid for functions whose
    names denote the same objects (two closures of one code, e.g. the wrapper
    a ``functools.wraps`` decorator makes around different functions, may see
    a user function in one and a TensorFlow function in the other)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lookups = {}

    def resolve(self, expr, local_names):
        obj = super().resolve(expr, local_names)
        path = _path(expr)
        if path is not None and path[0] not in local_names:
            self.lookups.setdefault(path, obj)
        return obj


def _path(expr):
    parts = []
    while isinstance(expr, gast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, gast.Name):
        return None
    return (expr.id, *reversed(parts))


def _same(a, b):
    if a is b:
        return True
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # noqa: BLE001 - objects that cannot be compared differ
        return False


def _still_valid(conv, fn):
    """True if every name ``conv``'s passes resolved denotes the same object
    in ``fn``'s globals and closure."""
    if not conv.lookups:
        return True
    ctx = Context(filename="", globals=fn.__globals__, closure=_closure(fn), namer=None)
    for path, obj in conv.lookups.items():
        expr = gast.Name(id=path[0], ctx=gast.Load(), annotation=None, type_comment=None)
        for attr in path[1:]:
            expr = gast.Attribute(value=expr, attr=attr, ctx=gast.Load())
        if not _same(ctx.resolve(expr, ()), obj):
            return False
    return True


def _closure(fn):
    return dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))


def convert_code(fn):
    """Convert ``fn``'s code and return the Conversion.

    Cached per code object, and for one code object per meaning of the names
    the conversion resolved (see _RecordingContext): a decorator's wrapper is
    one code object with a different closure for each function it wraps.
    """
    with _lock:
        known = _by_code.get(fn.__code__, ())
        for conv in known:
            if _still_valid(conv, fn):
                return conv
        start = time.perf_counter()
        src = source.get_source(fn)
        ctx = _RecordingContext(filename=src.filename, globals=fn.__globals__,
                                closure=_closure(fn), namer=Namer(all_identifiers(src.node)))
        node = run_all(src.node, ctx)
        if hasattr(node, "decorator_list"):
            node.decorator_list = []  # applied by the original def, not again
        code, tree = codegen.compile_code(fn, node, src.filename)
        conv = Conversion(fn.__code__.co_qualname, src.filename, src.text, tree, code,
                          time.perf_counter() - start, ctx.lookups)
        _by_code[fn.__code__] = [conv, *known][:_KEEP_PER_CODE]
        stats["conversions"] += 1
        return conv


# Conversions kept per code object (a decorator used on many functions with
# different closures keeps its most recent ones).
_KEEP_PER_CODE = 16


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
        return [conv for convs in _by_code.values() for conv in convs]


def clear_cache():
    with _lock:
        _by_code.clear()
        _by_function.clear()
