"""Chained comparisons and membership tests keep Python's meaning on tensors.

``a < b <= c`` is Python's ``a < b and b <= c`` with ``b`` evaluated once and
``c`` only when ``a < b`` held. It becomes

    kg__.compare(a, '<', b, '<=', lambda: c)

``kg__.compare`` evaluates each operand once, in Python's order, and chains
the comparisons with ``kg__.and_`` (``tf.cond`` when one is a symbolic
tensor), so the middle operands may be any expressions (``0 <= i * 2 < n``).
Operands after the first comparison are thunks: they are evaluated only
when Python would evaluate them.

``x in c`` / ``x not in c`` become ``kg__.in_(x, c)`` / ``kg__.not_in(x, c)``:
Python's ``in`` would call ``bool()`` on a symbolic tensor.

Single comparisons without ``in`` are left alone (the tensor operators
already build the op).
"""

from __future__ import annotations

import gast

from kgraph.convert import templates as T

SYMBOLS = {gast.Eq: "==", gast.NotEq: "!=", gast.Lt: "<", gast.LtE: "<=", gast.Gt: ">",
           gast.GtE: ">=", gast.Is: "is", gast.IsNot: "is not", gast.In: "in",
           gast.NotIn: "not in"}


class _Comparisons(gast.NodeTransformer):
    def visit_Compare(self, node):
        self.generic_visit(node)
        if len(node.ops) == 1:
            op = node.ops[0]
            if isinstance(op, gast.In):
                return T.call("in_", [node.left, node.comparators[0]])
            if isinstance(op, gast.NotIn):
                return T.call("not_in", [node.left, node.comparators[0]])
            return node
        args = [node.left, T.const(SYMBOLS[type(node.ops[0])]), node.comparators[0]]
        for op, operand in zip(node.ops[1:], node.comparators[1:]):
            args += [T.const(SYMBOLS[type(op)]), T.lambda_(operand)]
        return T.call("compare", args)


def run(root, ctx):
    return _Comparisons().visit(root)
