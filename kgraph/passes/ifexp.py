"""``a if c else b`` -> ``kg__.if_exp(c, lambda: a, lambda: b)``."""

from __future__ import annotations

import gast

from kgraph.convert import templates as T


class _IfExp(gast.NodeTransformer):
    def visit_IfExp(self, node):
        self.generic_visit(node)
        return T.call("if_exp", [node.test, T.lambda_(node.body), T.lambda_(node.orelse)])


def run(root, ctx):
    return _IfExp().visit(root)
