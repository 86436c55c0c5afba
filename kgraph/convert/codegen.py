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
from kgraph.convert import policy, source
from kgraph.convert.templates import RUNTIME

FACTORY = "__kgraph_factory__"
INNER = "__kgraph_converted__"


def _strip_for_compile(node):
    """Defaults, annotations and decorators were evaluated by the original def."""
    args = node.args
    args.defaults = []
    args.kw_defaults = [None] * len(args.kwonlyargs)
    if isinstance(node, ast.FunctionDef):
        node.decorator_list = []
        node.returns = None
        for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
            if a is not None:
                a.annotation = None
    return node


def to_source(node):
    """Readable source of a converted gast tree (what ``kgraph.to_code`` shows)."""
    return ast.unparse(gast.gast_to_ast(node))


def compile_code(fn, node, filename):
    """Compile the converted gast tree ``node`` of ``fn``.

    Returns ``(inner code object, Python AST of the converted function)``;
    the AST is left as converted (for ``kgraph.to_code``, unparsed on demand).
    """
    tree = gast.gast_to_ast(node)
    saved = _save_signature(tree)
    tree = _strip_for_compile(tree)
    line = tree.lineno
    pre = [ast.Assign(targets=[ast.Name(id=v, ctx=ast.Store())],
                      value=ast.Constant(value=None))
           for v in list(fn.__code__.co_freevars) + [RUNTIME]]
    if isinstance(tree, ast.Lambda):
        tree = ast.Assign(targets=[ast.Name(id=INNER, ctx=ast.Store())], value=tree)
    else:
        # Defined under a private name: a recursive call to the function's own
        # (global) name must not become a closure over the factory's local.
        tree.name = INNER
    cls = source.enclosing_class(fn.__code__.co_qualname)
    if cls is None:
        inner = [tree, ast.Return(value=ast.Name(id=INNER, ctx=ast.Load()))]
    else:
        # In a class body of the same mangling name, so that private names
        # (``self.__x``) mangle as in the user's class.
        holder = source.mangling_class_name(cls)
        inner = [ast.ClassDef(name=holder, bases=[], keywords=[], body=[tree],
                              decorator_list=[], type_params=[]),
                 ast.Return(value=ast.Attribute(value=ast.Name(id=holder, ctx=ast.Load()),
                                                attr=INNER, ctx=ast.Load()))]
        for n in inner:
            n.lineno, n.col_offset, n.end_lineno, n.end_col_offset = line, 0, line, 0
    factory = ast.FunctionDef(
        name=FACTORY, args=ast.arguments(args=[], posonlyargs=[], vararg=None, kwonlyargs=[],
                                         kw_defaults=[], kwarg=None, defaults=[]),
        body=pre + inner, decorator_list=[], returns=None, type_comment=None,
        type_params=[])
    for n in pre + [factory]:
        n.lineno, n.col_offset, n.end_lineno, n.end_col_offset = line, 0, line, 0
    module = ast.fix_missing_locations(ast.Module(body=[factory], type_ignores=[]))
    code = compile(module, filename, "exec", dont_inherit=True)
    namespace = {}
    exec(code, namespace)  # defines the factory only; nothing of the user's runs
    inner_code = namespace[FACTORY]().__code__
    if isinstance(tree, ast.Assign):
        tree = tree.value
    else:
        # The names of the code itself (a functools.wraps wrapper is named
        # after the function it wraps, but its code is the wrapper's).
        code = fn.__code__
        inner_code = inner_code.replace(co_name=code.co_name, co_qualname=code.co_qualname)
        tree.name = code.co_name
    _restore_signature(tree, saved)
    policy.register_generated(inner_code)
    return inner_code, tree


def _save_signature(tree):
    args = tree.args
    every = args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]
    return (list(args.defaults), list(args.kw_defaults), getattr(tree, "returns", None),
            [(a, a.annotation) for a in every if a is not None])


def _restore_signature(tree, saved):
    defaults, kw_defaults, returns, annotations = saved
    tree.args.defaults, tree.args.kw_defaults = defaults, kw_defaults
    if isinstance(tree, ast.FunctionDef):
        tree.returns = returns
    for a, annotation in annotations:
        a.annotation = annotation


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
