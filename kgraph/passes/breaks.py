"""``break`` -> ``break_N = True``; the loop stops when the flag is set.

A ``while`` loop's test becomes ``not break_N and test``; a ``for`` loop's
flag is recorded in ``ctx.for_breaks`` for the control-flow pass, which
passes it to ``for_stmt`` as the loop's extra test. A loop's ``else`` block
moves after the loop, guarded by ``not break_N`` when the loop can break.
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
        before = [T.copy_location(T.assign(flag, T.const(False)), loop)] if flag else []
        after = []
        if loop.orelse:
            if flag:
                after = [T.copy_location(T.if_(T.not_(T.name(flag)), loop.orelse),
                                         loop.orelse[0])]
            else:
                after = loop.orelse
            loop.orelse = []
        if before or after:
            block, index = _position(parents, loop)
            block[index:index + 1] = before + [loop] + after
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
