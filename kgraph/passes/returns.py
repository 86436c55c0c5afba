"""``return`` anywhere -> a flag and a value, with one ``return`` at the end.

Only functions whose returns are not all in tail position are rewritten::

    if x > 0:                      do_return_1 = False
        return x          ->       retval_1 = kg__.NO_RETURN
    return -x                      if x > 0:
                                       do_return_1 = True
                                       retval_1 = x
                                   if not do_return_1:
                                       do_return_1 = True
                                       retval_1 = -x
                                   return retval_1

Inside a loop a return also breaks the loop (the breaks pass lowers that
``break``), and each enclosing loop gets ``if do_return: break`` after the
inner one. A function that can fall off its end returns ``None`` explicitly,
so a graph ``if`` whose branches return different things is caught; one
ending in ``while True:`` without a break of its own cannot (it leaves only
by a return), so it gets no such ``None``.
"""

from __future__ import annotations

import gast

from kgraph.convert import templates as T
from kgraph.passes.common import contains, function_scopes, stmt_lists

_LOOPS = (gast.For, gast.While)


def _is_return(n):
    return isinstance(n, gast.Return)


def run(root, ctx):
    if not isinstance(root, gast.FunctionDef):
        return root
    for fn in function_scopes(root, ctx):
        _lower(fn, ctx)
    return root


def _needs_lowering(fn):
    return not _tail_returns_only(fn.body)


def _tail_returns_only(body):
    """True if the only returns of ``body`` end it (possibly at the end of a
    trailing ``with`` block, which is how asserts guard what follows them)."""
    for i, stmt in enumerate(body):
        last = i == len(body) - 1
        if isinstance(stmt, gast.Return):
            return last
        if last and isinstance(stmt, gast.With):
            return _tail_returns_only(stmt.body)
        if contains(stmt, _is_return):
            return False
    return True


def _lower(fn, ctx):
    if not _needs_lowering(fn):
        return
    flag = ctx.namer.new("do_return")
    value = ctx.namer.new("retval")
    body = list(fn.body)
    if not _always_returns(body):
        body.append(T.copy_location(T.return_(None), body[-1]))
    lowered = _block(body, flag, value, in_loop=False)
    first = fn.body[0]
    fn.body = [T.copy_location(T.assign(flag, T.const(False)), first),
               T.copy_location(T.assign(value, T.runtime("NO_RETURN")), first)] + lowered
    fn.body.append(T.copy_location(T.return_(T.name(value)), fn.body[-1]))


def _always_returns(stmts):
    """True if every path through ``stmts`` ends in a ``return`` (so there is no
    fall-through ``return None``: an assert's ``with`` block, or an if/else
    returning on both sides, must not get one, or a graph if would see None
    on a path that never runs)."""
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, gast.Return):
        return True
    if isinstance(last, gast.If):
        return _always_returns(last.body) and _always_returns(last.orelse)
    if isinstance(last, gast.With):
        return _always_returns(last.body)
    if isinstance(last, gast.While):
        # `while True:` without a break of its own only leaves by a return.
        return _constant_true(last.test) and not _breaks_out(last.body)
    return False


def _constant_true(test):
    return isinstance(test, gast.Constant) and bool(test.value) and test.value is not Ellipsis


def _breaks_out(stmts):
    """True if a ``break`` in ``stmts`` belongs to the loop whose body they are
    (breaks of nested loops and of nested functions do not count)."""
    for stmt in stmts:
        if isinstance(stmt, gast.Break):
            return True
        if isinstance(stmt, (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef)):
            continue
        if isinstance(stmt, _LOOPS):
            if _breaks_out(stmt.orelse):
                return True
            continue
        for field in stmt_lists(stmt):
            if _breaks_out(getattr(stmt, field)):
                return True
        for handler in getattr(stmt, "handlers", []):
            if _breaks_out(handler.body):
                return True
    return False


def _block(stmts, flag, value, in_loop):
    out = []
    for i, stmt in enumerate(stmts):
        if isinstance(stmt, gast.Return):
            ret = stmt.value if stmt.value is not None else T.const(None)
            out.append(T.copy_location(T.assign(flag, T.const(True)), stmt))
            out.append(T.copy_location(T.assign(value, ret), stmt))
            if in_loop:
                out.append(T.copy_location(gast.Break(), stmt))
            return out  # the rest of the block is unreachable
        has_return = contains(stmt, _is_return)
        if has_return:
            loop = isinstance(stmt, _LOOPS)
            for field in stmt_lists(stmt):
                inner_loop = in_loop or (loop and field == "body")
                setattr(stmt, field, _block(getattr(stmt, field), flag, value, inner_loop))
            for handler in getattr(stmt, "handlers", []):
                handler.body = _block(handler.body, flag, value, in_loop)
        out.append(stmt)
        rest = stmts[i + 1:]
        if has_return and in_loop and isinstance(stmt, _LOOPS):
            out.append(T.copy_location(T.if_(T.name(flag), [gast.Break()]), stmt))
        if has_return and rest and not in_loop:
            guarded = _block(rest, flag, value, in_loop)
            after = T.copy_location(T.if_(T.not_(T.name(flag)), guarded), rest[0])
            after.kg_guard = "return"    # read by the control-flow pass: if_stmt(guard=...)
            out.append(after)
            return out
    return out
