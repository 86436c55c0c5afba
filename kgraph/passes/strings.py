"""Text built from values keeps Python's meaning when the values are tensors.

* ``f"x={x:.2f}"`` -> ``kg__.fstring('x=', kg__.fvalue(x, -1, '.2f'))``
* ``template.format(a, b)`` -> ``kg__.str_format(template, a, b)`` (any
  receiver: non-strings get their own ``format`` method, called as
  ``kg__.call`` would)
* ``'%d items' % n`` -> ``kg__.percent_format('%d items', n)`` (only when the
  left operand is a literal string: ``a % b`` on numbers is left alone)

On Python values the operators are exactly Python's; with a tensor they
build the same text in graph ops (``kgraph/operators/strings.py``).
``str``/``repr``/``format`` called by their builtin names are the
``builtins`` pass's.
"""

from __future__ import annotations

import gast

from kgraph.convert import templates as T
from kgraph.passes.common import RUNTIME


class _Strings(gast.NodeTransformer):
    def visit_JoinedStr(self, node):
        self.generic_visit(node)
        return T.copy_location(T.call("fstring", [self._piece(v) for v in node.values]), node)

    def _piece(self, v):
        if isinstance(v, gast.FormattedValue):
            conversion = T.const(chr(v.conversion) if v.conversion and v.conversion > 0
                                 else -1)
            args = [v.value, conversion]
            if v.format_spec is not None:
                args.append(self._spec(v.format_spec))
            return T.call("fvalue", args)
        return v

    def _spec(self, spec):
        if isinstance(spec, gast.Call):      # a JoinedStr already rewritten
            parts = spec.args
            if all(isinstance(p, gast.Constant) for p in parts):
                return T.const("".join(p.value for p in parts))
        return spec

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        if isinstance(f, gast.Attribute) and f.attr == "format" and not (
                isinstance(f.value, gast.Name) and f.value.id == RUNTIME):
            return gast.Call(func=T.runtime("str_format"), args=[f.value] + node.args,
                             keywords=node.keywords)
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, gast.Mod) and _is_text(node.left):
            return T.call("percent_format", [node.left, node.right])
        return node


def _is_text(node):
    if isinstance(node, gast.Constant) and isinstance(node.value, str):
        return True
    return (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
            and isinstance(node.func.value, gast.Name) and node.func.value.id == RUNTIME
            and node.func.attr == "fstring")


def run(root, ctx):
    return _Strings().visit(root)
