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


def written(stmts, modified, generated=()):
    """The composite targets written (or deleted) in ``stmts``, in order.

    ``modified`` are the names the block rebinds; chains that depend on one
    of them are left out. ``generated`` are ids of generated function
    definitions to look into (the lowered bodies of inner statements);
    the user's own nested functions are scopes of their own.
    """
    found = {}
    todo = list(reversed(stmts))
    while todo:
        node = todo.pop()
        if isinstance(node, _SCOPES) and id(node) not in generated:
            continue
        targets = ()
        if isinstance(node, gast.Assign):
            targets = node.targets
        elif isinstance(node, (gast.AugAssign, gast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, gast.Delete):
            targets = node.targets
        elif isinstance(node, (gast.For, gast.AsyncFor)):
            targets = [node.target]
        elif isinstance(node, (gast.With, gast.AsyncWith)):
            targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
        for t in targets:
            for leaf in _leaves(t):
                if _trackable(leaf, modified):
                    text = gast.unparse(leaf).strip()
                    found.setdefault(text, Composite(text, leaf))
        todo.extend(reversed(list(gast.iter_child_nodes(node))))
    # A chain and a chain inside it (`self.stats` and `self.stats['n']`):
    # shorter first, so that writing back rebuilds the outer object first.
    return sorted(found.values(), key=lambda c: _depth(c.node))


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
