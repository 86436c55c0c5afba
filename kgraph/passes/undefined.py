"""Bind ``n = kg__.Undefined('n')`` where control-flow state may be unbound.

Runs last, on the final tree: in every function (the user's and the
generated ones) it walks the statements in order and, for each operator call
whose state tuple reads a local name not yet certainly bound, binds that name
to a placeholder at the top of the function. Binding at the top never
overwrites a value (nothing has run yet) and keeps Python's scoping.
"""

from __future__ import annotations

import gast

from kgraph.analysis import scopes
from kgraph.convert import templates as T
from kgraph.passes.common import is_runtime_call

_STATE_ARG = {"if_stmt": 3, "while_stmt": 2, "for_stmt": 2}


def run(root, ctx):
    if not isinstance(root, gast.FunctionDef):
        return root
    for fn in [n for n in gast.walk(root) if isinstance(n, gast.FunctionDef)]:
        if id(fn) not in ctx.skip:
            _hoist(fn)
    return root


def _hoist(fn):
    a = fn.args
    params = {x.id for x in a.posonlyargs + a.args + a.kwonlyargs}
    params |= {x.id for x in (a.vararg, a.kwarg) if x is not None}
    local = set(scopes.assigned(fn.body)) - scopes.declared_outer(fn)
    need = []

    def walk(stmts, defined):
        for stmt in stmts:
            value = getattr(stmt, "value", None)
            if isinstance(stmt, (gast.Assign, gast.Expr)) and value is not None:
                for op, index in _STATE_ARG.items():
                    if is_runtime_call(value, op) and len(value.args) > index:
                        for elt in value.args[index].elts:
                            n = elt.id
                            if n in local and n not in defined and n not in need:
                                need.append(n)
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], gast.stmt) \
                        and not isinstance(stmt, (gast.FunctionDef, gast.ClassDef)):
                    walk(inner, set(defined))
            for handler in getattr(stmt, "handlers", []) or []:
                walk(handler.body, set(defined))
            if isinstance(stmt, (gast.With,)):
                pass
            defined |= set(scopes.assigned(stmt))

    walk(fn.body, set(params))
    if need:
        first = fn.body[0]
        fn.body = [T.copy_location(T.assign(n, T.call("Undefined", [T.const(n)])), first)
                   for n in need] + fn.body
