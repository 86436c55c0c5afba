"""Small builders for the gast nodes the passes generate.

Builders instead of string templates: nothing is parsed at conversion time,
and every generated node is made in one obvious place.
"""

from __future__ import annotations

import gast

RUNTIME = "kg__"  # the name generated code uses for kgraph.operators


def name(ident, store=False):
    return gast.Name(id=ident, ctx=gast.Store() if store else gast.Load(),
                     annotation=None, type_comment=None)


def const(value):
    return gast.Constant(value=value, kind=None)


def tuple_(items, store=False):
    elts = [name(i, store) if isinstance(i, str) else i for i in items]
    return gast.Tuple(elts=elts, ctx=gast.Store() if store else gast.Load())


def str_tuple(strings):
    return gast.Tuple(elts=[const(s) for s in strings], ctx=gast.Load())


def runtime(attr):
    """``kg__.attr``."""
    return gast.Attribute(value=name(RUNTIME), attr=attr, ctx=gast.Load())


def call(func, args=(), keywords=None):
    if isinstance(func, str):
        func = runtime(func)
    kws = [gast.keyword(arg=k, value=v) for k, v in (keywords or {}).items()]
    return gast.Call(func=func, args=list(args), keywords=kws)


def assign(target, value):
    """``target = value``; target is a name, a list of names (a tuple target) or a node."""
    if isinstance(target, str):
        target = name(target, store=True)
    elif isinstance(target, (list, tuple)):
        target = tuple_(target, store=True)
    return gast.Assign(targets=[target], value=value, type_comment=None)


def expr_stmt(value):
    return gast.Expr(value=value)


def arguments(params):
    return gast.arguments(
        args=[gast.Name(id=p, ctx=gast.Param(), annotation=None, type_comment=None)
              for p in params],
        posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
        defaults=[])


def function_def(fn_name, params, body):
    return gast.FunctionDef(name=fn_name, args=arguments(params), body=body,
                            decorator_list=[], returns=None, type_comment=None,
                            type_params=[])


def lambda_(body, params=()):
    return gast.Lambda(args=arguments(list(params)), body=body)


def return_(value):
    return gast.Return(value=value)


def not_(value):
    return gast.UnaryOp(op=gast.Not(), operand=value)


def if_(test, body, orelse=()):
    return gast.If(test=test, body=list(body), orelse=list(orelse))


def copy_location(new, old):
    """Give ``new`` and its location-less descendants ``old``'s position.

    Does not descend into nodes that already have a location: those are the
    user's statements (moved into generated functions), whose descendants
    keep their own lines. This keeps conversion linear in the tree size.
    """
    todo = [new]
    while todo:
        n = todo.pop()
        if "lineno" in n._attributes:
            if getattr(n, "lineno", None) is not None:
                continue
            n.lineno = old.lineno
            n.col_offset = getattr(old, "col_offset", 0)
            # One line only: Python 3.11 reports a method call at the *end*
            # line of its callee, and errors must name the statement's line.
            n.end_lineno = old.lineno
            n.end_col_offset = getattr(old, "col_offset", 0)
        todo.extend(gast.iter_child_nodes(n))
    return new
