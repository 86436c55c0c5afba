"""List comprehensions and generator expressions over tensors become graph loops.

    ys = [v * 2 for v in t if v > 0]

becomes

    def comp_1(iter_1):
        elements_1 = []
        for v in iter_1:
            if v > 0:
                elements_1.append(v * 2)
        return elements_1
    ys = kg__.comprehension(t, comp_1, lambda iter_1: [v * 2 for v in iter_1 if v > 0])

The first iterable is evaluated once, as Python does, and decides: a staged
tensor, dataset, graph list or tensor range runs ``comp_1``, whose ``for``
and ``if`` the later passes turn into ``tf.while_loop`` / ``tf.cond`` and whose
list becomes a graph list; anything else runs the comprehension itself (a
generator expression stays a lazy generator). A generator expression over a
tensor gives a graph list, which ``sum``/``min``/``max``/``any``/``all``/``list``
reduce in the graph.

Comprehensions inside lambdas, class bodies, set and dict comprehensions,
and async comprehensions are left to Python.
"""

from __future__ import annotations

import copy

import gast

from kgraph.convert import templates as T

_SCOPES = (gast.Lambda, gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef,
           gast.SetComp, gast.DictComp)


def _own_comprehensions(stmt):
    """List comprehensions / generator expressions of ``stmt``'s own expressions
    (not inside nested statements, lambdas or other comprehensions)."""
    found = []
    todo = []
    for field, value in gast.iter_fields(stmt):
        if isinstance(value, list):
            todo.extend(v for v in value if isinstance(v, gast.AST) and not isinstance(
                v, gast.stmt))
        elif isinstance(value, gast.AST) and not isinstance(value, gast.stmt):
            todo.append(value)
    while todo:
        n = todo.pop()
        if isinstance(n, (gast.ListComp, gast.GeneratorExp)):
            if not any(g.is_async for g in n.generators):
                found.append(n)
            continue
        if isinstance(n, _SCOPES):
            continue
        todo.extend(gast.iter_child_nodes(n))
    return found


class _Lowering:
    def __init__(self, ctx):
        self.ctx = ctx

    def function(self, fn):
        if id(fn) in self.ctx.skip:
            return
        fn.body = self.block(fn.body)

    def block(self, stmts):
        out = []
        for stmt in stmts:
            if isinstance(stmt, (gast.FunctionDef, gast.AsyncFunctionDef)):
                self.function(stmt)
                out.append(stmt)
                continue
            if isinstance(stmt, gast.ClassDef):
                for item in stmt.body:
                    if isinstance(item, gast.FunctionDef):
                        self.function(item)
                out.append(stmt)
                continue
            for field in ("body", "orelse", "finalbody"):
                value = getattr(stmt, field, None)
                if isinstance(value, list) and value and isinstance(value[0], gast.stmt):
                    setattr(stmt, field, self.block(value))
            for handler in getattr(stmt, "handlers", []) or []:
                handler.body = self.block(handler.body)
            comps = _own_comprehensions(stmt)
            if comps:
                calls = {}
                for comp in comps:
                    fn, calls[id(comp)] = self.lower(comp, stmt)
                    out.append(fn)
                stmt = _Replace(calls).visit(stmt)
            out.append(stmt)
        return out

    def lower(self, comp, stmt):
        """Rewrite ``comp`` in place into the runtime call; return the new def."""
        fn_name = self.ctx.namer.new("comp")
        it = self.ctx.namer.new("iter")
        acc = self.ctx.namer.new("elements")
        first, *rest = comp.generators
        python_version = gast.ListComp if isinstance(comp, gast.ListComp) else \
            gast.GeneratorExp
        fallback = python_version(
            elt=copy.deepcopy(comp.elt),
            generators=[gast.comprehension(target=copy.deepcopy(first.target),
                                           iter=T.name(it), ifs=copy.deepcopy(first.ifs),
                                           is_async=0)] + copy.deepcopy(rest))
        append = T.expr_stmt(T.call(gast.Attribute(value=T.name(acc), attr="append",
                                                   ctx=gast.Load()), [comp.elt]))
        body = [append]
        gens = list(comp.generators)
        for k in range(len(gens) - 1, -1, -1):
            g = gens[k]
            for cond in reversed(g.ifs):
                body = [T.if_(cond, body)]
            source = T.name(it) if k == 0 else g.iter
            body = [gast.For(target=g.target, iter=source, body=body, orelse=[],
                             type_comment=None)]
        fn = T.function_def(fn_name, [it], [T.assign(acc, gast.List(elts=[], ctx=gast.Load()))]
                            + body + [T.return_(T.name(acc))])
        T.copy_location(fn, stmt)
        fn.body = self.block(fn.body)     # comprehensions nested in this one
        call = T.call("comprehension", [first.iter, T.name(fn_name),
                                        T.lambda_(fallback, [it])])
        return fn, call


class _Replace(gast.NodeTransformer):
    def __init__(self, calls):
        self.calls = calls

    def visit(self, node):
        if id(node) in self.calls:
            return self.calls[id(node)]
        if isinstance(node, gast.stmt) and getattr(self, "_entered", False):
            return node          # nested statements were handled as blocks
        self._entered = True
        return super().visit(node)


def run(root, ctx):
    if isinstance(root, gast.FunctionDef):
        _Lowering(ctx).function(root)
    return root
