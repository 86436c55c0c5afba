"""``break`` and ``continue`` -> flags, and the statements after them guarded.

Shared by the ``continues`` and ``breaks`` passes, which differ only in the
statement they lower and where the flag is reset.
"""

from __future__ import annotations

import gast

from kgraph.convert import templates as T
from kgraph.passes.common import contains, stmt_lists

_LOOPS = (gast.For, gast.While)


def owns(loop, kind):
    """True if ``loop``'s body has a ``kind`` statement belonging to this loop."""
    return any(isinstance(s, kind) or contains(s, lambda n: isinstance(n, kind), stop=_LOOPS)
               for s in loop.body if not isinstance(s, _LOOPS))


def guard(stmts, flag, kind):
    """Replace ``kind`` statements by ``flag = True`` and skip what follows them."""
    out = []
    for i, stmt in enumerate(stmts):
        if isinstance(stmt, kind):
            out.append(T.copy_location(T.assign(flag, T.const(True)), stmt))
            return out
        if isinstance(stmt, _LOOPS):
            out.append(stmt)  # a nested loop's break/continue are its own
            continue
        jumps = contains(stmt, lambda n: isinstance(n, kind), stop=_LOOPS)
        if jumps:
            for field in stmt_lists(stmt):
                setattr(stmt, field, guard(getattr(stmt, field), flag, kind))
            for handler in getattr(stmt, "handlers", []):
                handler.body = guard(handler.body, flag, kind)
        out.append(stmt)
        rest = stmts[i + 1:]
        if jumps and rest:
            after = T.copy_location(T.if_(T.not_(T.name(flag)), guard(rest, flag, kind)),
                                    rest[0])
            # The guard kind, passed on explicitly to if_stmt by the control-flow pass.
            after.kg_guard = "break" if kind is gast.Break else "continue"
            out.append(after)
            return out
    return out


def loops_innermost_first(root):
    """Every loop under ``root``, inner loops before the loops holding them."""
    found = []

    def visit(node):
        for child in gast.iter_child_nodes(node):
            visit(child)
        if isinstance(node, _LOOPS):
            found.append(node)

    visit(root)
    return found
