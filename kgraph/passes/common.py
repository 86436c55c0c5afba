"""Helpers shared by the passes: the conversion context and scope walking."""

from __future__ import annotations

import builtins
import copy
import dataclasses

import gast

from kgraph.analysis import scopes
from kgraph.convert import templates as T
from kgraph.convert.names import Namer
from kgraph.errors import UnsupportedSyntaxError

RUNTIME = T.RUNTIME
_MISSING = object()


@dataclasses.dataclass
class Context:
    """What a conversion knows about the function it converts.

    ``for_breaks`` is the one fact passed between passes: the breaks pass
    records, for each ``for`` loop it lowered, the name of its break flag;
    the control-flow pass reads it to build the loop's extra test.
    """

    filename: str
    globals: dict
    closure: dict
    namer: Namer
    for_breaks: dict = dataclasses.field(default_factory=dict)
    skip: set = dataclasses.field(default_factory=set)   # ids of nested defs left as is
    # Names local to some function of the tree (``all_local_names``): made by
    # the builtins pass, reused by the calls pass (the passes between them,
    # strings and arithmetic, bind no new name and add no function).
    local_names_of_tree: set = None

    def error(self, node, message, hints=()):
        return UnsupportedSyntaxError(message, location=f"{self.filename}:{node.lineno}",
                                      hints=hints)

    def resolve(self, expr, local_names):
        """The object ``expr`` (a name or dotted name) denotes now, or _MISSING."""
        parts = []
        while isinstance(expr, gast.Attribute):
            parts.append(expr.attr)
            expr = expr.value
        if not isinstance(expr, gast.Name) or expr.id in local_names:
            return _MISSING
        if expr.id in self.closure:
            try:
                obj = self.closure[expr.id].cell_contents
            except ValueError:
                return _MISSING
        elif expr.id in self.globals:
            obj = self.globals[expr.id]
        elif hasattr(builtins, expr.id):
            obj = getattr(builtins, expr.id)
        else:
            return _MISSING
        for attr in reversed(parts):
            try:
                obj = getattr(obj, attr)
            except Exception:  # noqa: BLE001 - any failure means "unknown"
                return _MISSING
        return obj


MISSING = _MISSING


def function_scopes(root, ctx):
    """The root function and every nested def, each a scope of its own."""
    out = []
    for node in gast.walk(root):
        if isinstance(node, gast.FunctionDef) and id(node) not in ctx.skip:
            out.append(node)
    return out


def all_local_names(root, ctx):
    """The names local to ``root`` or to any function nested in it (computed
    once per conversion: see ``Context.local_names_of_tree``)."""
    if ctx.local_names_of_tree is None:
        names = set()
        for fn in function_scopes(root, ctx):
            names |= local_names(fn)
        ctx.local_names_of_tree = names
    return ctx.local_names_of_tree


def local_names(fn):
    """Parameters and names bound in ``fn`` (not counting nested scopes)."""
    if isinstance(fn, gast.Lambda):
        a = fn.args
    else:
        a = fn.args
    names = {x.id for x in a.posonlyargs + a.args + a.kwonlyargs}
    if a.vararg is not None:
        names.add(a.vararg.id)
    if a.kwarg is not None:
        names.add(a.kwarg.id)
    if isinstance(fn, gast.FunctionDef):
        names |= set(scopes.assigned(fn.body))
        names -= scopes.declared_outer(fn)
    return names


def is_runtime_call(node, attr=None):
    return (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
            and isinstance(node.func.value, gast.Name) and node.func.value.id == RUNTIME
            and (attr is None or node.func.attr == attr))


def stmt_lists(node):
    """The statement lists directly inside a compound statement."""
    lists = []
    for field in ("body", "orelse", "finalbody"):
        value = getattr(node, field, None)
        if isinstance(value, list) and value and isinstance(value[0], gast.stmt):
            lists.append(field)
    return lists


def contains(node, predicate, stop=()):
    """True if ``predicate`` holds for a node under ``node``, not entering scopes
    (functions, lambdas, classes) nor node types in ``stop``. Nothing is under
    a scope node itself: a nested ``def``'s returns are its own."""
    if isinstance(node, (gast.FunctionDef, gast.AsyncFunctionDef, gast.Lambda, gast.ClassDef)):
        return False
    todo = list(gast.iter_child_nodes(node))
    while todo:
        n = todo.pop()
        if predicate(n):
            return True
        if isinstance(n, (gast.FunctionDef, gast.AsyncFunctionDef, gast.Lambda,
                          gast.ClassDef)) or isinstance(n, stop):
            continue
        todo.extend(gast.iter_child_nodes(n))
    return False


def insert_before(root, inserts):
    """Insert statements before others, in one walk: ``inserts`` maps
    ``id(stmt)`` to the statements to put before ``stmt``."""
    if not inserts:
        return
    for node in list(gast.walk(root)):
        blocks = [getattr(node, f) for f in ("body", "orelse", "finalbody")
                  if isinstance(getattr(node, f, None), list)]
        blocks += [h.body for h in getattr(node, "handlers", []) or []]
        for block in blocks:
            if any(id(s) in inserts for s in block):
                block[:] = [x for s in block for x in inserts.get(id(s), []) + [s]]


def replace_stmt(root, stmt, replacement):
    """Put the statements ``replacement`` where ``stmt`` stands under ``root``."""
    for node in gast.walk(root):
        blocks = [getattr(node, f) for f in ("body", "orelse", "finalbody")
                  if isinstance(getattr(node, f, None), list)]
        blocks += [h.body for h in getattr(node, "handlers", []) or []]
        for block in blocks:
            for i, s in enumerate(block):
                if s is stmt:
                    block[i:i + 1] = replacement
                    return
    raise AssertionError("statement not found in its parent block")


def load_copy(expr):
    """A fresh copy of ``expr`` that reads (an assignment target's value, base or key)."""
    expr = copy.deepcopy(expr)
    for n in gast.walk(expr):
        if hasattr(n, "ctx"):
            n.ctx = gast.Load()
    return expr
