"""Compile a converted tree into a function that shares the user's world.

The converted ``def`` is compiled **under the user's file name and line
numbers** inside a factory function whose locals stand for the original
closure variables. We take the inner code object and build the final
function with ``types.FunctionType``, giving it the user's own globals (live,
not a copy), the user's own closure cells (so later changes are seen), the
original defaults, and one extra cell: ``kg__``, the runtime operators.
"""

from __future__ import annotations

import ast
import functools
import types

import gast

from kgraph import operators
from kgraph.convert import policy
from kgraph.convert.templates import RUNTIME

FACTORY = "__kgraph_factory__"
INNER = "__kgraph_converted__"


def _strip_for_compile(node):
    """Defaults, annotations and decorators were evaluated by the original def."""
    if isinstance(node, gast.FunctionDef):
        node.decorator_list = []
        node.returns = None
        args = node.args
        args.defaults = []
        args.kw_defaults = [None] * len(args.kwonlyargs)
        for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
            if a is not None:
                a.annotation = None
    else:  # Lambda
        node.args.defaults = []
        node.args.kw_defaults = [None] * len(node.args.kwonlyargs)
    return node


def to_source(node):
    """Readable source of a converted function (what ``kgraph.to_code`` shows)."""
    return ast.unparse(gast.gast_to_ast(node))


def compile_code(fn, node, filename):
    """Compile the converted tree ``node`` of ``fn``; returns the inner code object."""
    node = _strip_for_compile(node)
    freevars = list(fn.__code__.co_freevars)
    line = node.lineno
    pre = [gast.Assign(targets=[gast.Name(id=v, ctx=gast.Store(), annotation=None,
                                          type_comment=None)],
                       value=gast.Constant(value=None, kind=None), type_comment=None)
           for v in freevars + [RUNTIME]]
    if isinstance(node, gast.Lambda):
        inner = [gast.Return(value=node)]
    else:
        # Defined under a private name: a recursive call to the function's own
        # (global) name must not become a closure over the factory's local.
        node.name, user_name = INNER, node.name
        inner = [node, gast.Return(value=gast.Name(id=INNER, ctx=gast.Load(),
                                                   annotation=None, type_comment=None))]
    factory = gast.FunctionDef(
        name=FACTORY, args=gast.arguments(args=[], posonlyargs=[], vararg=None,
                                          kwonlyargs=[], kw_defaults=[], kwarg=None,
                                          defaults=[]),
        body=pre + inner, decorator_list=[], returns=None, type_comment=None,
        type_params=[])
    for n in pre + [factory]:
        n.lineno, n.col_offset, n.end_lineno, n.end_col_offset = line, 0, line, 0
    module = ast.fix_missing_locations(
        gast.gast_to_ast(gast.Module(body=[factory], type_ignores=[])))
    code = compile(module, filename, "exec", dont_inherit=True)
    namespace = {}
    exec(code, namespace)  # defines the factory only; nothing of the user's runs
    inner_code = namespace[FACTORY]().__code__
    if not isinstance(node, gast.Lambda):
        node.name = user_name
        inner_code = inner_code.replace(co_name=user_name, co_qualname=fn.__qualname__)
    policy.register_generated(inner_code)
    return inner_code


def bind(fn, inner_code):
    """The converted function: ``inner_code`` with ``fn``'s globals, cells and defaults."""
    cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    cells[RUNTIME] = types.CellType(operators)
    closure = tuple(cells[name] for name in inner_code.co_freevars)
    new = types.FunctionType(inner_code, fn.__globals__, fn.__name__, fn.__defaults__,
                             closure or None)
    new.__kwdefaults__ = fn.__kwdefaults__
    functools.update_wrapper(new, fn)  # name, qualname, doc, module, __wrapped__
    setattr(new, policy.CONVERTED, True)
    return new
