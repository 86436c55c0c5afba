"""The syntax gate: refuse what kgraph cannot convert, at the user's line, first."""

from __future__ import annotations

import gast

from kgraph.passes.common import function_scopes


def run(root, ctx):
    if isinstance(root, gast.AsyncFunctionDef):
        raise ctx.error(root, "async functions cannot be converted",
                        hints=("TensorFlow graphs have no coroutines; call the async "
                               "function outside kgraph",))
    for node in gast.walk(root):
        if isinstance(node, (gast.AsyncFor, gast.AsyncWith, gast.Await)):
            raise ctx.error(node, "'async for', 'async with' and 'await' cannot be converted")
    # Generators: the root may not be one; nested generator functions are left as
    # plain Python (their bodies are not converted).
    for fn in function_scopes(root, ctx):
        found = _is_generator(fn)
        if found is not None:
            if fn is root:
                raise ctx.error(found, f"'{fn.name}' is a generator (it uses yield); "
                                    "generators cannot be converted into graphs",
                                hints=("return a list (kgraph.stack it) instead of "
                                       "yielding", "or mark it @kgraph.do_not_convert"))
            ctx.skip.add(id(fn))
    return root


def _is_generator(fn):
    """The first yield of ``fn`` (not of nested functions), or None."""
    todo = list(reversed(fn.body))
    while todo:
        n = todo.pop()
        if isinstance(n, (gast.Yield, gast.YieldFrom)):
            return n
        if isinstance(n, (gast.FunctionDef, gast.AsyncFunctionDef, gast.Lambda,
                          gast.ClassDef)):
            continue
        todo.extend(reversed(list(gast.iter_child_nodes(n))))
    return None
