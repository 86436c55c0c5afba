"""``break`` -> ``break_N = True``; the loop stops when the flag is set.

A ``while`` loop's test becomes ``not break_N and test``; a ``for`` loop's
flag is recorded in ``ctx.for_breaks`` for the control-flow pass, which
passes it to ``for_stmt`` as the loop's extra test. (Loop ``else`` blocks
were already moved out by the loop_else pass.)
"""

from __future__ import annotations

import gast

from kgraph.convert import templates as T
from kgraph.passes.common import insert_before
from kgraph.passes.loop_exits import guard, loops_innermost_first, owns


def run(root, ctx):
    inserts = {}
    for loop in loops_innermost_first(root):
        if owns(loop, gast.Break):
            flag = ctx.namer.new("break")
            loop.body = guard(loop.body, flag, gast.Break)
            if isinstance(loop, gast.While):
                loop.test = T.copy_location(
                    gast.BoolOp(op=gast.And(), values=[T.not_(T.name(flag)), loop.test]),
                    loop.test)
            else:
                ctx.for_breaks[id(loop)] = (loop, flag)
            inserts[id(loop)] = [T.copy_location(T.assign(flag, T.const(False)), loop)]
    insert_before(root, inserts)
    return root
