"""``break`` -> ``break_N = True``; the loop stops when the flag is set.

A ``while`` loop's test becomes ``not break_N and test``; a ``for`` loop's
flag is recorded in ``ctx.for_breaks`` for the control-flow pass, which
passes it to ``for_stmt`` as the loop's extra test. (Loop ``else`` blocks
were already moved out by the loop_else pass.)
"""

from __future__ import annotations

import gast

from kgraph.convert import templates as T
from kgraph.passes.loop_exits import guard, loops_innermost_first, owns


def run(root, ctx):
    parents = _parents(root)
    for loop in loops_innermost_first(root):
        flag = None
        if owns(loop, gast.Break):
            flag = ctx.namer.new("break")
            loop.body = guard(loop.body, flag, gast.Break)
            if isinstance(loop, gast.While):
                loop.test = T.copy_location(
                    gast.BoolOp(op=gast.And(), values=[T.not_(T.name(flag)), loop.test]),
                    loop.test)
            else:
                ctx.for_breaks[id(loop)] = (loop, flag)
        if flag:
            block, index = _position(parents, loop)
            block[index:index] = [T.copy_location(T.assign(flag, T.const(False)), loop)]
    return root


def _parents(root):
    parents = {}
    for node in gast.walk(root):
        for field in ("body", "orelse", "finalbody"):
            value = getattr(node, field, None)
            if isinstance(value, list):
                for stmt in value:
                    parents[id(stmt)] = (node, field)
        for handler in getattr(node, "handlers", []) or []:
            for stmt in handler.body:
                parents[id(stmt)] = (handler, "body")
    return parents


def _position(parents, stmt):
    node, field = parents[id(stmt)]
    block = getattr(node, field)
    for i, s in enumerate(block):
        if s is stmt:
            return block, i
    raise AssertionError("statement not found in its parent block")
