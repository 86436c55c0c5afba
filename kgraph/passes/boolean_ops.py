"""``a and b`` -> ``kg__.and_(a, lambda: b)``; ``or`` likewise; ``not a`` -> ``kg__.not_(a)``.

A chained comparison ``a < b < c`` is Python's ``a < b and b < c`` (with
``b`` evaluated once): it becomes ``kg__.and_(a < b, lambda: b < c)`` when
the middle operands are names or constants, so that evaluating them twice is
the same as once.
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

    def visit_Compare(self, node):
        self.generic_visit(node)
        middle = node.comparators[:-1]
        if len(node.ops) < 2 or not all(isinstance(m, (gast.Name, gast.Constant))
                                        for m in middle):
            return node
        operands = [node.left] + node.comparators
        parts = [gast.Compare(left=operands[i], ops=[op], comparators=[operands[i + 1]])
                 for i, op in enumerate(node.ops)]
        return T.call("and_", [parts[0]] + [T.lambda_(p) for p in parts[1:]])

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, gast.Not):
            return T.call("not_", [node.operand])
        return node


def run(root, ctx):
    return _BoolOps().visit(root)
