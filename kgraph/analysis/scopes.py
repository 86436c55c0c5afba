"""Which names a piece of code binds and which it reads.

Nested scopes (functions, lambdas, classes, comprehensions) are treated the
way Python treats them: names they bind stay inside them, but every name they
read counts as read by the enclosing code (over-approximation is the safe
direction for liveness).
"""

from __future__ import annotations

import gast

_SCOPES = (gast.FunctionDef, gast.AsyncFunctionDef, gast.Lambda, gast.ClassDef,
           gast.ListComp, gast.SetComp, gast.DictComp, gast.GeneratorExp)


def _iter(nodes):
    if isinstance(nodes, list):
        return nodes
    return [nodes]


def assigned(nodes):
    """Names bound by ``nodes`` (a node or a list of statements), in order."""
    found = {}

    def visit(node):
        if isinstance(node, gast.Name) and isinstance(node.ctx, (gast.Store, gast.Del)):
            found.setdefault(node.id, None)
            return
        if isinstance(node, (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef)):
            found.setdefault(node.name, None)
            for d in node.decorator_list:
                visit(d)
            return
        if isinstance(node, (gast.Lambda, gast.ListComp, gast.SetComp, gast.DictComp,
                             gast.GeneratorExp)):
            return  # binds nothing outside itself (walrus inside is rare; ignored)
        if isinstance(node, (gast.Import, gast.ImportFrom)):
            for alias in node.names:
                name = alias.asname or alias.name.split(".")[0]
                found.setdefault(name, None)
            return
        if isinstance(node, gast.ExceptHandler) and node.name is not None:
            visit(node.name)
        for child in gast.iter_child_nodes(node):
            visit(child)

    for n in _iter(nodes):
        visit(n)
    return list(found)


def reads(nodes):
    """Names read anywhere inside ``nodes``, nested scopes included."""
    found = set()
    for n in _iter(nodes):
        for node in gast.walk(n):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
                found.add(node.id)
            elif isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
                found.add(node.target.id)
    return found


def all_identifiers(node):
    """Every identifier spelled anywhere in ``node`` (for fresh-name choice)."""
    found = set()
    for n in gast.walk(node):
        if isinstance(n, gast.Name):
            found.add(n.id)
        elif isinstance(n, (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef)):
            found.add(n.name)
        elif isinstance(n, gast.Attribute):
            found.add(n.attr)
    return found


def declared_outer(fn_node):
    """Names declared ``global`` or ``nonlocal`` directly in ``fn_node``."""
    names = set()

    def visit(node):
        for child in gast.iter_child_nodes(node):
            if isinstance(child, (gast.Global, gast.Nonlocal)):
                names.update(child.names)
            elif not isinstance(child, _SCOPES):
                visit(child)

    visit(fn_node)
    return names


def walk_no_scopes(node):
    """Like ``gast.walk`` but does not enter nested functions, lambdas or classes."""
    todo = [node]
    while todo:
        n = todo.pop()
        yield n
        for child in gast.iter_child_nodes(n):
            if not isinstance(child, (gast.FunctionDef, gast.AsyncFunctionDef,
                                      gast.Lambda, gast.ClassDef)):
                todo.append(child)


_COMPOUND = (gast.If, gast.While, gast.For, gast.AsyncFor, gast.With, gast.AsyncWith,
             gast.Try, gast.ExceptHandler)


class Summaries:
    """``assigned`` and ``reads`` of statements, each computed once.

    A compound statement's facts are combined from its children's (memoized)
    facts instead of walking its whole subtree again, so asking about every
    statement of a function (each ``if``/loop body, at every nesting level)
    costs time linear in the function's size, not size times nesting depth.
    The results equal ``assigned``/``reads`` above.
    """

    def __init__(self):
        self._memo = {}

    def _of(self, node):
        hit = self._memo.get(id(node))
        if hit is not None:
            return hit[1], hit[2]
        if isinstance(node, _COMPOUND):
            names, read = {}, set()
            for child in gast.iter_child_nodes(node):
                if isinstance(child, (gast.stmt, gast.excepthandler)):
                    a, r = self._of(child)
                else:
                    a, r = assigned(child), reads(child)
                for n in a:
                    names.setdefault(n, None)
                read |= r
            names = list(names)
        else:
            names, read = assigned(node), reads(node)
        # Keep the node alive so that its id cannot be reused while memoized.
        self._memo[id(node)] = (node, names, read)
        return names, read

    def assigned(self, nodes):
        if not isinstance(nodes, list):
            return self._of(nodes)[0] if isinstance(
                nodes, (gast.stmt, gast.excepthandler)) else assigned(nodes)
        if len(nodes) == 1:
            return self.assigned(nodes[0])
        names = {}
        for n in nodes:
            for name in self.assigned(n):
                names.setdefault(name, None)
        return list(names)

    def reads(self, nodes):
        if not isinstance(nodes, list):
            return self._of(nodes)[1] if isinstance(
                nodes, (gast.stmt, gast.excepthandler)) else reads(nodes)
        found = set()
        for n in nodes:
            found |= self.reads(n)
        return found
