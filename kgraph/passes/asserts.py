"""``assert test, msg`` -> an assertion that gates the rest of its block.

In Python nothing after a failed assert runs. In a graph an assertion op only
runs *somewhere* in the step, so the statements after it are put under its
control dependency::

    assert loss < 10, "diverged"        with kg__.assert_(loss < 10, lambda: 'diverged'):
    apply(grads)                  ->        apply(grads)

(the message is a thunk: Python evaluates it only on failure). An assert that
ends its block stays a plain call. A statement that holds an assert in one of
its blocks (``if check: assert x > 0``) is ordered the same way::

    if check:                           with kg__.assert_block():
        assert x > 0                        if check: ...
    v.assign_add(1.)              ->    with kg__.assert_block():
                                            v.assign_add(1.)

(``assert_block``: a control dependency on every stateful op before it).
"""

from __future__ import annotations

import gast

from kgraph.convert import templates as T


def _assertion(node):
    args = [node.test]
    if node.msg is not None:
        args.append(T.lambda_(node.msg))
    return T.call("assert_", args)


def _holds_assert(stmt):
    """True if a compound statement has an assert in one of its blocks (not
    in a nested function or class)."""
    todo = [stmt]
    while todo:
        node = todo.pop()
        for child in gast.iter_child_nodes(node):
            if isinstance(child, gast.Assert):
                return True
            if not isinstance(child, (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef,
                                      gast.Lambda, gast.expr)):
                todo.append(child)
    return False


def _ordered(stmts, stmt):
    block = gast.With(items=[gast.withitem(context_expr=T.call("assert_block", []),
                                           optional_vars=None)],
                      body=stmts, type_comment=None)
    return T.copy_location(block, stmt)


def _block(stmts):
    out = []
    for i, stmt in enumerate(stmts):
        holds = not isinstance(stmt, gast.Assert) and _holds_assert(stmt)
        _visit(stmt)
        rest = stmts[i + 1:]
        if isinstance(stmt, gast.Assert):
            if rest:
                guarded = gast.With(items=[gast.withitem(context_expr=_assertion(stmt),
                                                         optional_vars=None)],
                                    body=_block(rest), type_comment=None)
                out.append(T.copy_location(guarded, stmt))
                return out
            out.append(T.copy_location(T.expr_stmt(_assertion(stmt)), stmt))
            return out
        if holds:
            # An assert inside an if/for/while/with/try: the statement runs
            # after everything before it, the statements after it after it.
            out.append(_ordered([stmt], stmt))
            if rest:
                out.append(_ordered(_block(rest), rest[0]))
            return out
        out.append(stmt)
    return out


def _visit(node):
    for field in ("body", "orelse", "finalbody"):
        value = getattr(node, field, None)
        if isinstance(value, list) and value and isinstance(value[0], gast.stmt):
            setattr(node, field, _block(value))
    for handler in getattr(node, "handlers", []) or []:
        handler.body = _block(handler.body)
    if not isinstance(node, gast.stmt) or isinstance(node, (gast.FunctionDef,
                                                            gast.ClassDef)):
        for child in gast.iter_child_nodes(node):
            if isinstance(child, (gast.FunctionDef, gast.ClassDef)):
                _visit(child)


def run(root, ctx):
    if isinstance(root, gast.FunctionDef):
        _visit(root)
    return root
