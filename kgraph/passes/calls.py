"""Calls to the user's own functions are converted too.

A call whose callee is known at conversion time (a global or closure name,
or a dotted name from one) is left alone when the callee is not user code
(``tf.reduce_sum``, ``len``, a Keras layer class...), and wrapped as
``kg__.call(f, ...)`` when it is. Callees only known at run time (locals,
``self.method``...) are wrapped; ``kg__.call`` decides then.
Zero-argument ``super()`` becomes ``super(__class__, self)``: the converted
function is compiled outside its class body.
"""

from __future__ import annotations

import gast
import tensorflow as tf

from kgraph.convert import policy
from kgraph.convert import templates as T
from kgraph.passes.common import MISSING, RUNTIME, all_local_names, local_names


_SET_LOOP_OPTIONS = tf.autograph.experimental.set_loop_options


class _Calls(gast.NodeTransformer):
    def __init__(self, ctx, locals_):
        self.ctx = ctx
        self.locals = locals_
        self.first_params = []

    def visit_FunctionDef(self, node):
        params = node.args.posonlyargs + node.args.args
        self.first_params.append(params[0].id if params else None)
        self.generic_visit(node)
        self.first_params.pop()
        return node

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        if isinstance(f, gast.Attribute) and isinstance(f.value, gast.Name) \
                and f.value.id == RUNTIME:
            return node
        if isinstance(f, gast.Name) and f.id == "super" and not node.args \
                and self.first_params and self.first_params[-1]:
            node.args = [T.name("__class__"), T.name(self.first_params[-1])]
            return node
        obj = self.ctx.resolve(f, self.locals)
        if obj is _SET_LOOP_OPTIONS:
            # tf.autograph.experimental.set_loop_options: kgraph's loops honour it.
            return T.copy_location(gast.Call(func=T.runtime("set_loop_options"),
                                             args=node.args, keywords=node.keywords), node)
        if obj is not MISSING and not self._may_convert(obj):
            return node
        return gast.Call(func=T.runtime("call"), args=[f] + node.args, keywords=node.keywords)

    @staticmethod
    def _may_convert(obj):
        try:
            return policy.would_convert(obj)
        except Exception:  # noqa: BLE001 - unknown objects are decided at run time
            return True


def run(root, ctx):
    if isinstance(root, gast.FunctionDef):
        locals_ = all_local_names(root, ctx)
    else:
        locals_ = local_names(root)
    return _Calls(ctx, locals_).visit(root)
