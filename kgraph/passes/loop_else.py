"""``for``/``while`` ... ``else`` -> the loop, then ``if not broke_N: else-block``.

Runs before the continues and breaks passes: a ``break`` of the loop becomes
``broke_N = True; break`` (the breaks pass then lowers the ``break``), and the
``else`` block moves after the loop, where a ``continue`` or ``break`` in it
belongs to the enclosing loop, as in Python.
"""

from __future__ import annotations

import gast

from kgraph.convert import templates as T
from kgraph.passes.common import replace_stmt, stmt_lists
from kgraph.passes.loop_exits import loops_innermost_first, owns

_LOOPS = (gast.For, gast.While)


def run(root, ctx):
    for loop in loops_innermost_first(root):
        if not loop.orelse:
            continue
        orelse, loop.orelse = loop.orelse, []
        if not owns(loop, gast.Break):
            replace_stmt(root, loop, [loop] + orelse)
            continue
        flag = ctx.namer.new("broke")
        loop.body = _mark_breaks(loop.body, flag)
        before = T.copy_location(T.assign(flag, T.const(False)), loop)
        after = T.copy_location(T.if_(T.not_(T.name(flag)), orelse), orelse[0])
        after.kg_guard = "break"     # runs when the loop did not break: if_stmt(guard=...)
        replace_stmt(root, loop, [before, loop, after])
    return root


def _mark_breaks(stmts, flag):
    out = []
    for stmt in stmts:
        if isinstance(stmt, gast.Break):
            out.append(T.copy_location(T.assign(flag, T.const(True)), stmt))
            out.append(stmt)
            continue
        if not isinstance(stmt, _LOOPS):  # a nested loop's breaks are its own
            for field in stmt_lists(stmt):
                setattr(stmt, field, _mark_breaks(getattr(stmt, field), flag))
            for handler in getattr(stmt, "handlers", []) or []:
                handler.body = _mark_breaks(handler.body, flag)
        elif stmt.orelse:
            stmt.orelse = _mark_breaks(stmt.orelse, flag)
        out.append(stmt)
    return out
