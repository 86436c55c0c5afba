"""``%``, ``//`` and ``**`` keep Python's meaning on tensors.

TensorFlow's ``floormod`` gives ``-0.0`` for ``-2.0 % 2.0`` (Python: ``0.0``),
its ``floordiv`` gives ``10.0`` for ``1.0 // 0.1`` (Python: ``9.0``), and it
refuses an int tensor to a negative power or meeting a Python float (Python
gives a float). So these three operators become runtime calls:

    a % b    ->  kg__.mod(a, b)
    a // b   ->  kg__.floordiv(a, b)
    a ** b   ->  kg__.pow_(a, b)
    x %= b   ->  x = kg__.mod_assign(x, b)      (also //=, **=)

which are Python's own operators on anything but tensors
(``kgraph/operators/numeric.py``). ``+``, ``-``, ``*``, ``/`` and the
comparisons already mean on tensors of one dtype what they mean in Python
(``/`` of ints gives float64), so they stay operators: generated code stays
readable. An augmented assignment is rewritten only when its target can be
evaluated twice without a side effect (a name, ``obj.attr`` or ``a[k]`` of
names and constants).
"""

from __future__ import annotations

import gast

from kgraph.convert import templates as T
from kgraph.passes.common import load_copy

_OPS = {gast.Mod: "mod", gast.FloorDiv: "floordiv", gast.Pow: "pow_"}
_AUG = {gast.Mod: "mod_assign", gast.FloorDiv: "floordiv_assign", gast.Pow: "pow_assign"}


class _Arithmetic(gast.NodeTransformer):
    def visit_BinOp(self, node):
        self.generic_visit(node)
        op = _OPS.get(type(node.op))
        if op is None:
            return node
        return T.copy_location(T.call(op, [node.left, node.right]), node)

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        op = _AUG.get(type(node.op))
        if op is None or not _repeatable(node.target):
            return node
        read = load_copy(node.target)
        new = T.assign(node.target, T.call(op, [read, node.value]))
        return T.copy_location(new, node)


def _repeatable(target):
    """Can ``target`` be read, then written, without evaluating anything twice
    that has an effect?"""
    if isinstance(target, gast.Name):
        return True
    if isinstance(target, gast.Attribute):
        return _simple(target.value)
    if isinstance(target, gast.Subscript):
        return _simple(target.value) and _simple(target.slice)
    return False


def _simple(node):
    if isinstance(node, (gast.Name, gast.Constant)):
        return True
    if isinstance(node, gast.Attribute):
        return _simple(node.value)
    return False


def run(root, ctx):
    return _Arithmetic().visit(root)
