"""Composite targets: ``a[i] = v``, ``d['k'] += v``, ``obj.count += 1``.

A tensor ``if``/``while``/``for`` must carry these like names: read before
the statement, passed in, written back after it. Otherwise both branches of
a ``tf.cond`` mutate the same Python object while they are traced and both
writes survive (``pair[0] = x`` in one branch and ``pair[1] = x`` in the
other give ``[x, x]``).

This module finds the composite targets a block writes (attribute and
subscript chains rooted at a name, not entering nested scopes) and keeps
those the runtime can read and write at the statement itself: the chain's
root name and every name its keys use must not be rebound inside the block
(``for i in ...: a[i] = v`` writes a different element each iteration: that
is not one piece of state).
"""

from __future__ import annotations

import gast

_SCOPES = (gast.FunctionDef, gast.AsyncFunctionDef, gast.Lambda, gast.ClassDef,
           gast.ListComp, gast.SetComp, gast.DictComp, gast.GeneratorExp)


class Composite:
    """One composite target: ``text`` (as the user wrote it) and its node."""

    __slots__ = ("text", "node")

    def __init__(self, text, node):
        self.text = text
        self.node = node

    def __repr__(self):
        return f"Composite({self.text!r})"


class Written:
    """The composite targets a block writes (or deletes), in order.

    ``written(stmts, modified)``: ``modified`` are the names the block
    rebinds; chains that depend on one of them are left out. Nested user
    functions are scopes of their own. Each statement's targets are collected
    once and combined upwards, so asking for every ``if``/loop body of a
    function, at every nesting level, stays linear in its size.
    """

    def __init__(self):
        self._memo = {}

    def __call__(self, stmts, modified):
        found = {}
        for stmt in stmts:
            for text, leaf in self._of(stmt):
                if text not in found and _trackable(leaf, modified):
                    found[text] = Composite(text, leaf)
        # A chain and a chain inside it (`self.stats` and `self.stats['n']`):
        # shorter first, so that writing back rebuilds the outer object first.
        return sorted(found.values(), key=lambda c: _depth(c.node))

    def _of(self, node):
        hit = self._memo.get(id(node))
        if hit is not None:
            return hit[1]
        leaves = []
        if not isinstance(node, _SCOPES):
            for target in _targets(node):
                for leaf in _leaves(target):
                    leaves.append((gast.unparse(leaf).strip(), leaf))
            for child in gast.iter_child_nodes(node):
                if isinstance(child, (gast.stmt, gast.excepthandler)):
                    leaves.extend(self._of(child))
        # Keep the node alive so that its id cannot be reused while memoized.
        self._memo[id(node)] = (node, leaves)
        return leaves


def written(stmts, modified):
    """``Written()(stmts, modified)`` for a single question (a pass asking
    about many nested blocks should keep one ``Written`` instance)."""
    return Written()(stmts, modified)


def _targets(node):
    if isinstance(node, (gast.Assign, gast.Delete)):
        return node.targets
    if isinstance(node, (gast.AugAssign, gast.AnnAssign, gast.For, gast.AsyncFor)):
        return [node.target]
    if isinstance(node, (gast.With, gast.AsyncWith)):
        return [i.optional_vars for i in node.items if i.optional_vars is not None]
    return ()


def _leaves(target):
    if isinstance(target, (gast.Tuple, gast.List)):
        for e in target.elts:
            yield from _leaves(e)
    elif isinstance(target, gast.Starred):
        yield from _leaves(target.value)
    elif isinstance(target, (gast.Attribute, gast.Subscript)):
        yield target


def _depth(node):
    d = 0
    while isinstance(node, (gast.Attribute, gast.Subscript)):
        d += 1
        node = node.value
    return d


def _trackable(node, modified):
    """An attribute/subscript chain rooted at a name that the block does not
    rebind, whose keys are constants or names the block does not rebind."""
    while isinstance(node, (gast.Attribute, gast.Subscript)):
        if isinstance(node, gast.Subscript) and not _static_key(node.slice, modified):
            return False
        node = node.value
    return isinstance(node, gast.Name) and node.id not in modified


def _static_key(key, modified):
    if isinstance(key, gast.Constant):
        return True
    if isinstance(key, gast.UnaryOp) and isinstance(key.op, (gast.USub, gast.UAdd)):
        return isinstance(key.operand, gast.Constant)
    if isinstance(key, gast.Name):
        return key.id not in modified
    if isinstance(key, gast.Tuple):
        return all(_static_key(e, modified) for e in key.elts)
    if isinstance(key, gast.Attribute):
        return _static_key(key.value, modified)
    return False   # slices, calls, arithmetic: not one fixed element
