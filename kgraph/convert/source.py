"""Getting the source of a function, method, nested function or lambda.

Functions are parsed from ``inspect.getsourcelines`` (dedented); lambdas from
the whole file (or notebook cell) so that several lambdas on one line can be
told apart by the columns Python records for their code. Line numbers of the
returned tree are absolute: they are the user's own.
"""

from __future__ import annotations

import dataclasses
import inspect
import linecache
import textwrap

import gast

from kgraph.errors import ConversionError


@dataclasses.dataclass
class Source:
    filename: str
    node: object          # gast.FunctionDef or gast.Lambda, absolute line numbers
    text: str             # the function's own source text (for display)


def _no_source_error(fn, why):
    name = getattr(fn, "__qualname__", repr(fn))
    return ConversionError(
        f"cannot convert {name}: its source code is not available ({why})",
        location=f"{fn.__code__.co_filename}:{fn.__code__.co_firstlineno}",
        hints=("define the function in a .py file or a notebook cell (IPython keeps "
               "cell sources); code typed into the plain Python REPL or built with "
               "exec() has no source to convert",
               "or mark it with @kgraph.do_not_convert to run it as is"))


def get_source(fn):
    code = fn.__code__
    filename = code.co_filename
    if fn.__name__ == "<lambda>":
        return _lambda_source(fn, filename)
    try:
        lines, start = inspect.getsourcelines(fn)
    except (OSError, TypeError) as e:
        raise _no_source_error(fn, str(e)) from None
    text = textwrap.dedent("".join(lines))
    try:
        module = gast.parse(text)
    except SyntaxError as e:
        raise ConversionError(f"cannot parse the source of {fn.__qualname__}: {e.msg}",
                              location=f"{filename}:{start}") from None
    node = module.body[0]
    if not isinstance(node, (gast.FunctionDef, gast.AsyncFunctionDef)):
        raise _no_source_error(fn, "the source found is not a function definition")
    _shift_lines(node, start - 1)
    return Source(filename, node, text)


_module_cache = {}


def _parse_file(filename):
    lines = linecache.getlines(filename)
    if not lines:
        linecache.checkcache(filename)
        lines = linecache.getlines(filename)
    text = "".join(lines)
    key = (filename, hash(text))
    tree = _module_cache.get(key)
    if tree is None and text:
        try:
            tree = gast.parse(text)
        except SyntaxError:
            tree = None
        _module_cache[key] = tree
    return tree, lines


def _lambda_source(fn, filename):
    code = fn.__code__
    tree, lines = _parse_file(filename)
    if tree is None:
        raise _no_source_error(fn, "the file holding the lambda could not be read or parsed")
    line = code.co_firstlineno
    candidates = [n for n in gast.walk(tree) if isinstance(n, gast.Lambda) and n.lineno == line]
    params = list(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
    candidates = [n for n in candidates if _lambda_params(n) == params] or candidates
    if len(candidates) > 1:
        positions = [p for p in code.co_positions() if p[0] is not None and p[2] is not None]
        if positions:
            def contains(n):
                return all((n.lineno, n.col_offset) <= (p[0], p[2]) and
                           (p[1], p[3]) <= (n.end_lineno, n.end_col_offset)
                           for p in positions)
            inside = [n for n in candidates if contains(n)]
            if inside:
                # The innermost lambda containing every instruction is ours.
                candidates = sorted(inside, key=lambda n: (n.end_lineno - n.lineno,
                                                           n.end_col_offset - n.col_offset))
    if not candidates:
        raise _no_source_error(fn, "no lambda found at its line")
    node = candidates[0]
    text = "".join(lines[node.lineno - 1:node.end_lineno])
    return Source(filename, node, textwrap.dedent(text))


def _lambda_params(node):
    a = node.args
    return [x.id for x in a.posonlyargs + a.args + a.kwonlyargs]


def _shift_lines(node, offset):
    for n in gast.walk(node):
        if "lineno" in n._attributes and getattr(n, "lineno", None) is not None:
            n.lineno += offset
            if getattr(n, "end_lineno", None) is not None:
                n.end_lineno += offset
