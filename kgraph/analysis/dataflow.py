"""Liveness and definite assignment over a structured function body.

The control-flow passes need three facts per ``if``/``while``/``for``:

* ``modified``: names the statement binds;
* ``live_out``: names that may be read after it before being rebound;
* ``defined``: names certainly bound when it starts;
* ``defined_after`` (``if`` only, when a branch may leave the scope): names
  certainly bound after it on every path that has not left the scope (a lowered ``return``/``break``/``continue``
  sets its flag and skips everything after it, so such a path constrains
  nothing: ``if y > 0: return x + y`` / ``else: z = x - y`` defines ``z``).

This is the converter's one definite-assignment analysis: the control-flow
pass also uses ``defined`` to bind ``kg__.Undefined`` placeholders for state
that may not be bound yet.

Loops additionally get ``live_head``: names live at the top of an iteration
(read before being rebound in the body or the test, or live after the loop).

The facts are computed in one backward pass (liveness) and one forward pass
(definite assignment) over a tree in which ``break``/``continue``/``return``
have already been lowered to flags, so every block is entered at its top and
left at its bottom: no jumps, hence no need for a control-flow graph.
(We do not use beniget here: its def-use chains cannot tell a loop-carried use
from a same-iteration one without extra path reasoning, while a structured
liveness walk answers exactly the question the passes ask.)
"""

from __future__ import annotations

import dataclasses

import gast

from kgraph.analysis import scopes


@dataclasses.dataclass
class StmtFacts:
    modified: list
    live_out: set
    defined: set
    live_head: set = dataclasses.field(default_factory=set)
    read: set = dataclasses.field(default_factory=set)   # names read in the body(ies)
    defined_after: object = None


class Facts:
    """Facts for the control-flow statements of one function, by node identity.

    ``unbound_reads`` maps ``id(name_node)`` to the ``gast.Name`` reads of a
    function's own variables that are not certainly bound where they are
    read (Python may raise UnboundLocalError there): the control-flow pass
    makes each one ``kg__.bound(name)``, which raises Python's error for a
    placeholder (and checks a maybe-unbound graph value at run time).
    """

    def __init__(self):
        self._by_node = {}
        self.unbound_reads = {}

    def __getitem__(self, node):
        return self._by_node[id(node)][1]

    def __contains__(self, node):
        return id(node) in self._by_node

    def _put(self, node, facts):
        # Keep the node alive so that its id cannot be reused while we hold it.
        self._by_node[id(node)] = (node, facts)


_CONTROL = (gast.If, gast.While, gast.For)


def analyze(fn_node, head_reads=None):
    """Compute ``Facts`` for every control-flow statement of ``fn_node``.

    Nested function definitions are analysed as functions of their own.
    ``head_reads`` maps ``id(for_node)`` to names its loop reads before every
    iteration (a lowered ``break`` flag, tested by the loop itself).
    """
    facts = Facts()
    if isinstance(fn_node, gast.Lambda):
        return facts
    summaries = scopes.Summaries()   # assigned/reads of each statement, computed once
    for fn in gast.walk(fn_node):   # the function itself and every nested def, once
        if isinstance(fn, gast.FunctionDef):
            _Liveness(facts, head_reads or {}, summaries).block(fn.body, set())
            params = set(_param_names(fn.args))
            own = (set(scopes.assigned(fn.body)) | params) - scopes.declared_outer(fn)
            definite = _Definite(facts, summaries, own)
            definite.block(fn.body, params)
            definite.finish()
    return facts


def _param_names(args):
    names = [a.id for a in args.posonlyargs + args.args + args.kwonlyargs]
    if args.vararg is not None:
        names.append(args.vararg.id)
    if args.kwarg is not None:
        names.append(args.kwarg.id)
    return names


class _Liveness:
    def __init__(self, facts, head_reads, summaries):
        self.facts = facts
        self.head_reads = head_reads
        # Memoized per statement (the fixpoint visits loop bodies repeatedly,
        # and every nesting level asks about its whole body).
        self.reads = summaries.reads
        self.assigned = summaries.assigned

    def block(self, stmts, live_out):
        live = set(live_out)
        for stmt in reversed(stmts):
            live = self.stmt(stmt, live)
        return live

    def stmt(self, node, live):
        if isinstance(node, gast.If):
            self._record(node, live)
            return (self.block(node.body, live) | self.block(node.orelse, live)
                    | self.reads(node.test))
        if isinstance(node, gast.While):
            self._record(node, live)
            after = self.block(node.orelse, live)
            head = after | self.reads(node.test)
            while True:
                new = after | self.reads(node.test) | self.block(node.body, head)
                if new == head:
                    break
                head = new
            self.facts[node].live_head = head
            return head
        if isinstance(node, gast.For):
            self._record(node, live)
            after = self.block(node.orelse, live)
            targets = set(self.assigned(node.target))
            after = after | set(self.head_reads.get(id(node), ()))
            head = set(after)
            while True:
                new = after | (self.block(node.body, head) - targets)
                if new == head:
                    break
                head = new
            self.facts[node].live_head = head
            return head | self.reads(node.iter)
        if isinstance(node, (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef)):
            return (live - {node.name}) | self.reads(node)
        if isinstance(node, gast.With):
            # The body runs once, straight through, after the `as` targets are bound.
            inner = self.block(node.body, live)
            for item in node.items:
                if item.optional_vars is not None:
                    inner = inner - set(self.assigned(item.optional_vars))
            return inner | self.reads([i.context_expr for i in node.items])
        if isinstance(node, gast.Try):
            # An exception may leave the body anywhere: what the handlers need
            # is live throughout the body.
            after = self.block(node.finalbody, live)
            handlers = set()
            for h in node.handlers:
                handlers |= self.block(h.body, after)
            exit_ = self.block(node.orelse, after) | handlers
            return self.block(node.body, exit_) | handlers | self.reads(
                [h.type for h in node.handlers if h.type is not None])
        if isinstance(node, (gast.AsyncWith, gast.AsyncFor)):
            return live | self.reads(node)
        if isinstance(node, gast.AugAssign):
            return live | self.reads(node)
        return (live - set(self.assigned(node))) | self.reads(node)

    def _record(self, node, live):
        if node in self.facts:
            # Inside a loop the walk visits statements more than once; keep
            # the union (the last visit sees the fixed point's live set).
            self.facts[node].live_out |= set(live)
            return
        modified = self.assigned(node.body + node.orelse)
        if isinstance(node, gast.For):
            modified = self.assigned(node.target) + [
                m for m in modified if m not in self.assigned(node.target)]
        self.facts._put(node, StmtFacts(modified, set(live), set(),
                                        read=self.reads(node.body + node.orelse)))


class _Exited:
    """The definitely-bound set of a path that has left the scope: every name
    (it reaches no statement that reads one). ``_meet`` ignores it."""

    def __contains__(self, name):
        return True

    def __repr__(self):
        return "EXITED"


EXITED = _Exited()
_EXIT_FLAGS = ("do_return_", "break_", "continue_")


def _meet(a, b):
    if a is EXITED:
        return b
    if b is EXITED:
        return a
    return a & b


def _add(d, names):
    return d if d is EXITED else d | set(names)


def _copy(d):
    return d if d is EXITED else set(d)


def _exit_flag(name):
    prefix, _, number = name.rpartition("_")
    return number.isdigit() and prefix + "_" in _EXIT_FLAGS


def _sets_exit_flag(node):
    """``do_return_3 = True`` (and break/continue flags) made by lowering."""
    return (isinstance(node, gast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], gast.Name) and _exit_flag(node.targets[0].id)
            and isinstance(node.value, gast.Constant) and node.value.value is True)


def is_exit_guard(node):
    """``if not do_return_3:`` (or a break/continue flag) without ``else``: its
    implicit else is taken only by paths that have left the scope."""
    if not isinstance(node, gast.If) or node.orelse:
        return False
    test = node.test
    if isinstance(test, gast.UnaryOp) and isinstance(test.op, gast.Not):
        flag = test.operand
    elif (isinstance(test, gast.Call) and isinstance(test.func, gast.Attribute)
          and test.func.attr == "not_" and len(test.args) == 1):
        flag = test.args[0]
    else:
        return False
    return isinstance(flag, gast.Name) and _exit_flag(flag.id)


class _Definite:
    def __init__(self, facts, summaries, own):
        self.facts = facts
        self.assigned = summaries.assigned
        self.own = own      # the function's own variables (parameters included)
        self.bound_reads = {}   # reads of own variables certainly bound there
        self.through_exits = set()

    def finish(self):
        """Reads of a variable that an ``if`` with an exiting branch binds on
        every other path are checked too, although certainly bound: the
        exiting path may carry a value of an enclosing graph loop that is bound
        on some run-time paths only, so the value after the ``if`` is one too
        (its check passes on every path that reads it)."""
        for key, n in self.bound_reads.items():
            if n.id in self.through_exits:
                self.facts.unbound_reads[key] = n

    def block(self, stmts, defined):
        d = _copy(defined)
        # After a lowered exit sets its flag, the statements that complete the
        # exit (``retval_1 = value``) still read with what the path had bound.
        exiting = None
        for stmt in stmts:
            self._reads(stmt, d if exiting is None else exiting)
            if exiting is not None:
                exiting = _add(exiting, self.assigned(stmt))
            new = self.stmt(stmt, d)
            if new is EXITED and d is not EXITED and _sets_exit_flag(stmt):
                exiting = _copy(d)
            d = new
        return d

    # -- reads of variables that may be unbound
    def _reads(self, node, d):
        if isinstance(node, (gast.If, gast.While)):
            exprs = [node.test] if isinstance(node, gast.If) else []  # a while: in stmt()
        elif isinstance(node, gast.For):
            exprs = [node.iter]
        elif isinstance(node, (gast.With, gast.AsyncWith)):
            exprs = [item.context_expr for item in node.items]
        elif isinstance(node, (gast.Try, gast.FunctionDef, gast.AsyncFunctionDef,
                               gast.ClassDef, gast.AsyncFor, gast.Global, gast.Nonlocal)):
            exprs = []
        else:
            exprs = [node]
        for e in exprs:
            self._record_reads(e, d)

    def _record_reads(self, expr, d):
        if d is EXITED:
            return
        for n in _loads(expr):
            if n.id in self.own:
                # Inside a loop a statement is visited more than once: the last
                # visit sees the loop head's fixed point.
                if n.id in d:
                    self.facts.unbound_reads.pop(id(n), None)
                    self.bound_reads[id(n)] = n
                else:
                    self.facts.unbound_reads[id(n)] = n
                    self.bound_reads.pop(id(n), None)

    def _loop(self, node, d, targets):
        """Definitely bound at the loop head: what is bound before it and at the
        end of every iteration (less than before only after a ``del``)."""
        head = _copy(d)
        while True:
            if isinstance(node, gast.While):
                self._record_reads(node.test, head)
            out = self.block(node.body, _add(head, targets))
            new = head if out is EXITED else head & out
            if new == head:
                return
            head = new

    def stmt(self, node, d):
        if isinstance(node, gast.If):
            self.facts[node].defined = _copy(d)
            body = self.block(node.body, d)
            if is_exit_guard(node):
                after, exits = body, True
            else:
                orelse = self.block(node.orelse, d)
                after, exits = _meet(body, orelse), EXITED in (body, orelse)
            # Only an if with a branch that leaves the scope can have names
            # bound after it that one branch leaves unbound.
            self.facts[node].defined_after = after if exits else None
            if exits and after is not EXITED:
                self.through_exits |= after - d
            return after
        if isinstance(node, gast.While):
            self.facts[node].defined = _copy(d)
            self._loop(node, d, ())
            return self.block(node.orelse, d)
        if isinstance(node, gast.For):
            self.facts[node].defined = _copy(d)
            self._loop(node, d, self.assigned(node.target))
            return self.block(node.orelse, d)
        if _sets_exit_flag(node):
            return EXITED
        if isinstance(node, gast.Try):
            self.block(node.body, d)
            for h in node.handlers:
                self.block(h.body, d)
            self.block(node.orelse, d)
            return self.block(node.finalbody, d)
        if isinstance(node, (gast.With, gast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    d = _add(d, self.assigned(item.optional_vars))
            return self.block(node.body, d)
        if isinstance(node, gast.Delete) or _binds_placeholder(node):
            return d if d is EXITED else d - set(self.assigned(node))
        return _add(d, self.assigned(node))


def _binds_placeholder(node):
    """``z = kg__.Undefined('z')``: how the deletes pass writes ``del z`` in a
    branch or loop body. It unbinds ``z`` as the ``del`` did."""
    if not (isinstance(node, gast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], gast.Name)):
        return False
    value = node.value
    return (isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute)
            and value.func.attr == "Undefined" and isinstance(value.func.value, gast.Name)
            and value.func.value.id == "kg__")


_INNER = (gast.Lambda, gast.ListComp, gast.SetComp, gast.DictComp, gast.GeneratorExp)


def _loads(expr, hidden=frozenset()):
    """The ``gast.Name`` reads in ``expr``, not inside nested defs or classes,
    nor of names a lambda or comprehension inside it binds itself."""
    todo = [(expr, hidden)]
    while todo:
        node, hide = todo.pop()
        if isinstance(node, gast.Name):
            if isinstance(node.ctx, gast.Load) and node.id not in hide:
                yield node
            continue
        if isinstance(node, (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef)):
            continue
        if isinstance(node, gast.Lambda):
            hide = hide | set(_param_names(node.args))
        elif isinstance(node, _INNER):
            hide = hide | {t for g in node.generators for t in scopes.assigned(g.target)}
        for child in gast.iter_child_nodes(node):
            todo.append((child, hide))
