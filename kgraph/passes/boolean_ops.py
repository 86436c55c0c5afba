"""``a and b`` -> ``kg__.and_(a, lambda: b)``; ``or`` likewise; ``not a`` -> ``kg__.not_(a)``.

(Chained comparisons are the ``comparisons`` pass's.)
"""

from __future__ import annotations

import gast

from kgraph.convert import templates as T


class _BoolOps(gast.NodeTransformer):
    def visit_BoolOp(self, node):
        self.generic_visit(node)
        fn = "and_" if isinstance(node.op, gast.And) else "or_"
        first, *rest = node.values
        return T.call(fn, [first] + [T.lambda_(v) for v in rest])

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, gast.Not):
            return T.call("not_", [node.operand])
        return node


def run(root, ctx):
    return _BoolOps().visit(root)
