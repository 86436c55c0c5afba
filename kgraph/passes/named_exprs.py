"""``while (n := f(n)) > 0: body`` -> ``while True: if not (n := f(n)) > 0: break``.

A loop's test becomes a function of its own, where an assignment expression
would bind a local of that function and be lost. Moved to the top of the
body (as the test of an ``if ... break``), it binds the loop's variable like
any assignment there. An ``if`` test needs nothing: it is evaluated in place.
"""

from __future__ import annotations

import gast

from kgraph.convert import templates as T


def run(root, ctx):
    for node in gast.walk(root):
        if isinstance(node, gast.While) and any(
                isinstance(n, gast.NamedExpr) for n in gast.walk(node.test)):
            if node.orelse:
                raise ctx.error(node, "an assignment expression (:=) in the test of a while "
                                      "loop that has an else clause is not supported",
                                hints=("assign before the loop and at the end of its body",))
            exit_ = T.copy_location(T.if_(T.not_(node.test), [gast.Break()]), node)
            node.test = T.copy_location(T.const(True), node)
            node.body = [exit_] + node.body
    return root
