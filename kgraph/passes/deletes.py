"""``del name`` inside an ``if``/``while``/``for`` -> ``name = kg__.Undefined('name')``.

Branch and loop bodies become nested functions that take and return their
state. A ``del z`` left in such a function would make ``z`` a local of the
body function, unbound when the ``del`` runs (UnboundLocalError even though
the user's code is valid). Written as a binding of the "no value" placeholder,
the deletion is ordinary state: the definite-assignment analysis sees ``z`` as
unbound on that path (``analysis/dataflow.py`` reads the placeholder binding as
a ``del``), so a later read is the same "bound on some paths only" case as any
other: marked ``kg__.bound(z)``, Python's UnboundLocalError at the reading
line on the path that deleted it (at run time after a tensor ``if``), and a
``z`` never read again costs nothing.

A ``del`` at the top level of a function, and ``del`` of subscripts and
attributes (``del xs[i]``, ``del d['k']``, ``del obj.a``) stay as written: the
first never ends up inside a body function, the others are handled by the
lists pass and the composite-state machinery.

Runs before control_flow (which reads the bindings) and after lists.
"""

from __future__ import annotations

import gast

from kgraph.convert import templates as T
from kgraph.passes.common import stmt_lists

_BLOCKS = (gast.If, gast.For, gast.While)
_SCOPES = (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef)


def run(root, ctx):
    if isinstance(root.body, list):   # a lambda's body is one expression: no del
        root.body = _rewrite(root.body, nested=False)
    return root


def _rewrite(stmts, nested):
    out = []
    for stmt in stmts:
        if isinstance(stmt, gast.Delete) and nested:
            out.extend(_lower(stmt))
            continue
        if isinstance(stmt, _SCOPES):
            # A nested def is a scope of its own: its top level is not nested.
            if isinstance(stmt, gast.FunctionDef):
                stmt.body = _rewrite(stmt.body, nested=False)
            out.append(stmt)
            continue
        inner = nested or isinstance(stmt, _BLOCKS)
        for field in stmt_lists(stmt):
            setattr(stmt, field, _rewrite(getattr(stmt, field), inner))
        for handler in getattr(stmt, "handlers", None) or []:
            handler.body = _rewrite(handler.body, inner)
        out.append(stmt)
    return out


def _lower(stmt):
    names = [t for t in stmt.targets if isinstance(t, gast.Name)]
    others = [t for t in stmt.targets if not isinstance(t, gast.Name)]
    out = []
    if others:
        out.append(T.copy_location(gast.Delete(targets=others), stmt))
    for target in names:
        out.append(T.copy_location(
            T.assign(target.id, T.call("Undefined", [T.const(target.id)])), stmt))
    return out
