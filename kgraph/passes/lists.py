"""List operations that must survive graph loops.

* ``xs.append(v)`` as a statement -> ``xs = kg__.list_append(xs, v)``: the
  functional form makes ``xs`` a variable the loop carries;
* ``kgraph.set_element_type(xs, ...)`` -> ``xs = kg__.set_element_type(xs, ...)``;
* a comprehension's iterable -> ``kg__.comp_iter(...)`` (Python semantics;
  a tensor of known length is unrolled, anything else is a clear error).
"""

from __future__ import annotations

import gast

from kgraph.convert import templates as T
from kgraph.passes.common import MISSING, local_names


class _Lists(gast.NodeTransformer):
    def __init__(self, ctx):
        self.ctx = ctx
        self.scopes = []   # local names of the functions being visited

    def visit_FunctionDef(self, node):
        self.scopes.append(local_names(node))
        self.generic_visit(node)
        self.scopes.pop()
        return node

    def _is_local(self, name):
        # Rebinding a global or closure list would make it local (and unbound):
        # those lists keep Python's in-place append.
        return bool(self.scopes) and name in self.scopes[-1]

    def visit_Expr(self, node):
        self.generic_visit(node)
        call = node.value
        if not isinstance(call, gast.Call):
            return node
        func = call.func
        if (isinstance(func, gast.Attribute) and func.attr == "append"
                and isinstance(func.value, gast.Name) and len(call.args) == 1
                and not call.keywords and self._is_local(func.value.id)):
            target = func.value.id
            new = T.assign(target, T.call("list_append", [T.name(target), call.args[0]]))
            return T.copy_location(new, node)
        if call.args and isinstance(call.args[0], gast.Name) and self._is_set_element_type(func) \
                and self._is_local(call.args[0].id):
            target = call.args[0].id
            new = T.assign(target, T.call("set_element_type", call.args, {
                k.arg: k.value for k in call.keywords}))
            return T.copy_location(new, node)
        return node

    def _is_set_element_type(self, func):
        if not (isinstance(func, gast.Name) and func.id == "set_element_type"
                or isinstance(func, gast.Attribute) and func.attr == "set_element_type"):
            return False
        from kgraph.operators.lists import set_element_type
        return self.ctx.resolve(func, set()) in (set_element_type, MISSING)

    def visit_comprehension(self, node):
        self.generic_visit(node)
        node.iter = T.call("comp_iter", [node.iter])
        return node


def run(root, ctx):
    return _Lists(ctx).visit(root)
