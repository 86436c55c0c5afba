"""``continue`` -> ``continue_N = True``; the rest of the iteration is guarded."""

from __future__ import annotations

import gast

from kgraph.convert import templates as T
from kgraph.passes.loop_exits import guard, loops_innermost_first, owns


def run(root, ctx):
    for loop in loops_innermost_first(root):
        if owns(loop, gast.Continue):
            flag = ctx.namer.new("continue")
            reset = T.copy_location(T.assign(flag, T.const(False)), loop.body[0])
            loop.body = [reset] + guard(loop.body, flag, gast.Continue)
    return root
