"""``assert test, msg`` -> ``kg__.assert_(test, lambda: msg)``."""

from __future__ import annotations

import gast

from kgraph.convert import templates as T


class _Asserts(gast.NodeTransformer):
    def visit_Assert(self, node):
        args = [node.test]
        if node.msg is not None:
            args.append(T.lambda_(node.msg))
        return T.copy_location(T.expr_stmt(T.call("assert_", args)), node)


def run(root, ctx):
    return _Asserts().visit(root)
