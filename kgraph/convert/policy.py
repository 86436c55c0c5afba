"""Which callables are converted: one rule, no allowlists.

A function is converted when its code is the user's own: not TensorFlow,
Keras, NumPy, the standard library, an installed package or kgraph itself,
and not marked ``do_not_convert``. Everything else is called as is.
"""

from __future__ import annotations

import functools
import inspect
import os
import sysconfig
import types
import weakref

_KGRAPH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LIBRARY_DIRS = tuple(sorted({
    os.path.realpath(p) for key in ("stdlib", "platstdlib", "purelib", "platlib")
    if (p := sysconfig.get_paths().get(key))}))

DO_NOT_CONVERT = "__kgraph_do_not_convert__"
CONVERTED = "__kgraph_converted__"

# Code objects kgraph compiled, by identity. Not a set of code objects: a code
# object hashes and compares by its whole content, nested code included, so a
# set made registration quadratic in a function's nesting (and a second
# conversion of equal code, e.g. the same source in another file, compared
# whole trees: 3.5 s at 400 lines); it also kept every generated code alive.
_generated_codes = {}
_user_file_cache = {}


def register_generated(code):
    """Remember code objects kgraph compiled (they are never converted again)."""
    todo = [code]
    while todo:
        c = todo.pop()
        key = id(c)
        _generated_codes[key] = weakref.ref(c, lambda _, key=key: _generated_codes.pop(key, None))
        todo.extend(x for x in c.co_consts if isinstance(x, types.CodeType))


def is_generated(code):
    """True for a code object kgraph compiled (converted code)."""
    ref = _generated_codes.get(id(code))
    return ref is not None and ref() is code


def is_user_file(filename):
    cached = _user_file_cache.get(filename)
    if cached is not None:
        return cached
    if filename.startswith("<"):
        # IPython cells ("<ipython-input-...>") keep their source in linecache.
        result = filename.startswith("<ipython-input-")
    else:
        path = os.path.realpath(filename)
        result = not (path.startswith(_KGRAPH_DIR + os.sep)
                      or any(path.startswith(d + os.sep) for d in _LIBRARY_DIRS)
                      or "site-packages" in path or "dist-packages" in path)
        if os.path.basename(os.path.dirname(path)).startswith("ipykernel_"):
            result = True  # notebook cells on recent IPython
    _user_file_cache[filename] = result
    return result


def should_convert(fn):
    """True if ``fn`` (a plain function) is user code that kgraph converts."""
    if not isinstance(fn, types.FunctionType):
        return False
    if getattr(fn, DO_NOT_CONVERT, False) or getattr(fn, CONVERTED, False):
        return False
    if is_generated(fn.__code__):
        return False
    if inspect.isgeneratorfunction(fn) or inspect.iscoroutinefunction(fn):
        return False
    return is_user_file(fn.__code__.co_filename)


def would_convert(f):
    """True if ``converted_callable(f)`` would convert something (no side effects)."""
    if isinstance(f, types.FunctionType):
        return should_convert(f)
    if isinstance(f, types.MethodType):
        return should_convert(f.__func__)
    if isinstance(f, functools.partial):
        return would_convert(f.func)
    if isinstance(f, (type, types.BuiltinFunctionType)) or not callable(f):
        return False
    return should_convert(getattr(type(f), "__call__", None))


def converted_callable(f):
    """What ``kg__.call(f, ...)`` actually calls."""
    from kgraph.convert import api_impl
    if isinstance(f, types.FunctionType):
        if should_convert(f):
            return api_impl.converted_function(f)
        return f
    if isinstance(f, types.MethodType):
        func = f.__func__
        if isinstance(func, types.FunctionType) and should_convert(func):
            return types.MethodType(api_impl.converted_function(func), f.__self__)
        return f
    if isinstance(f, functools.partial):
        inner = converted_callable(f.func)
        if inner is f.func:
            return f
        return functools.partial(inner, *f.args, **f.keywords)
    if isinstance(f, type) or isinstance(f, types.BuiltinFunctionType):
        return f
    call = getattr(type(f), "__call__", None)
    if isinstance(call, types.FunctionType) and should_convert(call):
        return types.MethodType(api_impl.converted_function(call), f)
    return f
