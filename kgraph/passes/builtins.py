"""Builtins whose Python form cannot take a staged value.

``print``, ``range``, ``len``, ``enumerate``, ``zip``, ``reversed``, ``str``,
``repr``, ``format``, ``min``, ``max``, ``sum``, ``any``, ``all``, ``round``,
``divmod``, ``int``, ``float``, ``bool``, ``pow``, ``iter`` and ``next`` called by their
builtin name (and not shadowed by the user) call kgraph's versions, which
behave exactly like the builtins on Python values. Calls of the ``math``
module's functions (``math.floor(x)``, ``sqrt(x)`` imported from it) become
``kg__.math_call(math.floor, x)``: the function itself on Python values, the
TensorFlow op on symbolic tensors.
"""

from __future__ import annotations

import builtins
import math

import gast

from kgraph.convert import templates as T
from kgraph.passes.common import all_local_names

_REPLACED = {"print": "print_", "range": "range_", "len": "len_",
             "enumerate": "enumerate_", "zip": "zip_", "str": "str_", "repr": "repr_",
             "format": "format_", "min": "min_", "max": "max_", "sum": "sum_",
             "any": "any_", "all": "all_", "round": "round_", "divmod": "divmod_",
             "reversed": "reversed_", "int": "int_", "float": "float_", "bool": "bool_",
             "pow": "pow_"}


# TensorFlow iterators (operators/iterables.py): Python's own on everything else.
_REPLACED.update({"iter": "iter_", "next": "next_"})

# Graph lists (operators/lists.py): Python's own, except on a list built in a graph loop.
_REPLACED.update({"sorted": "sorted_", "list": "list_", "tuple": "tuple_"})


class _Builtins(gast.NodeTransformer):
    def __init__(self, ctx, shadowed):
        self.ctx = ctx
        self.shadowed = shadowed

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        if isinstance(f, gast.Name) and f.id in _REPLACED and f.id not in self.shadowed:
            if self.ctx.resolve(f, set()) is getattr(builtins, f.id):
                node.func = T.runtime(_REPLACED[f.id])
                return node
        if isinstance(f, (gast.Name, gast.Attribute)) and not node.keywords and \
                is_math_function(self.ctx.resolve(f, self.shadowed)):
            # math.floor(x)... -> kg__.math_call(math.floor, x)
            return gast.Call(func=T.runtime("math_call"), args=[f] + node.args, keywords=[])
        return node


def is_math_function(fn):
    """Is ``fn`` a function of the ``math`` module (``math.floor``...)?"""
    name = getattr(fn, "__name__", None)
    return isinstance(name, str) and callable(fn) and getattr(math, name, None) is fn


def run(root, ctx):
    shadowed = all_local_names(root, ctx) if isinstance(root, gast.FunctionDef) else set()
    return _Builtins(ctx, shadowed).visit(root)
