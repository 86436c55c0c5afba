"""``if`` / ``while`` / ``for`` -> body functions and one operator call.

Runs after returns, breaks and continues are lowered, so every block is
entered at its top and left at its bottom. Statements are rewritten inner
first; the facts (modified / live / defined names) are computed once, before
any rewriting, on the lowered tree::

    if c:                         def if_body_1(y):
        y = y + 1         ->          y = y + 1
                                      return (y,)
                                  (y,) = kg__.if_stmt(c, if_body_1, None, (y,), ('y',))
"""

from __future__ import annotations


import gast

from kgraph.analysis import composites, dataflow, scopes
from kgraph.convert import templates as T
from kgraph.passes.common import is_runtime_call, load_copy

_SCOPES = (gast.FunctionDef, gast.AsyncFunctionDef, gast.Lambda, gast.ClassDef)


def run(root, ctx):
    if not isinstance(root, gast.FunctionDef):
        return root
    facts = dataflow.analyze(root, head_reads={
        key: {flag} for key, (_, flag) in ctx.for_breaks.items()})
    if facts.unbound_reads:
        _CheckReads(facts.unbound_reads).visit(root)
    _Rewriter(ctx, facts).function(root)
    return root


class _CheckReads(gast.NodeTransformer):
    """``z`` -> ``kg__.bound(z)`` where the analysis found that ``z`` may be
    unbound (Python would raise UnboundLocalError there on some path): the
    placeholder a branch or loop left in ``z`` never leaks out as a value."""

    def __init__(self, reads):
        self.reads = reads

    def visit_Name(self, node):
        if id(node) in self.reads:
            call = T.call("bound", [node])
            # (a name the lowering passes generated may have no location yet)
            return T.copy_location(call, node) if hasattr(node, "lineno") else call
        return node


class _Rewriter:
    def __init__(self, ctx, facts):
        self.ctx = ctx
        self.facts = facts
        self.outer = []   # global/nonlocal names of the enclosing user functions
        self.rebinders = []   # nested defs that rebind this function's variables
        self.maybe_unstageable = []
        self.composites = {}   # id(statement) -> its composite targets
        self.appends = {}      # id(loop) -> {list name: appended name or None}
        self.appended = []     # per function: the names assigned kg__.list_append(...)
        self.written = composites.Written()
        # Names a statement passes as state that may not be bound yet (from
        # the definite-assignment facts): bound to kg__.Undefined at the top
        # of the function (user's or generated) whose local they are.
        self.needs = []
        self.block_needs = {}   # (id(statement), field) -> needs of that block

    def function(self, fn):
        if id(fn) in self.ctx.skip:
            return
        # Scanned once here: most functions have nothing unstageable (and no
        # list appended to), and then no statement needs its own scan.
        kinds, rebinders, has_try, appended = _scan(fn)
        self.outer.append((set(kinds), kinds))
        self.rebinders.append(rebinders)
        self.maybe_unstageable.append(bool(rebinders) or has_try)
        self.appended.append(appended)
        self.needs.append([])
        body = self.block(fn.body)
        # In the user's function a name certainly bound at the statement is bound.
        needs = [n for n, bound in self.needs.pop() if not bound]
        fn.body = _bind_undefined(body, needs, _param_names(fn),
                                  fn.body[0] if fn.body else fn)
        self.maybe_unstageable.pop()
        self.appended.pop()
        self.rebinders.pop()
        self.outer.pop()

    def block(self, stmts):
        out = []
        for stmt in stmts:
            out.extend(self.stmt(stmt))
        return out

    def stmt(self, node):
        if isinstance(node, gast.FunctionDef):
            self.function(node)
            return [node]
        if isinstance(node, gast.ClassDef):
            for item in node.body:
                if isinstance(item, gast.FunctionDef):
                    self.function(item)
            return [node]
        if isinstance(node, (gast.If, gast.While, gast.For)):
            # Before the inner statements become functions: scanned on the
            # user's code, nested user functions excluded.
            self.composites[id(node)] = self.written(
                node.body + node.orelse, set(self.facts[node].modified) | set(
                    scopes.assigned(node.target) if isinstance(node, gast.For) else ()))
        if isinstance(node, (gast.While, gast.For)) and self.appended:
            lists = self.appended[-1].intersection(self.facts[node].modified)
            if lists:
                self.appends[id(node)] = _append_only(node, lists)
        control = isinstance(node, (gast.If, gast.While, gast.For))
        for field in ("body", "orelse", "finalbody"):
            value = getattr(node, field, None)
            if isinstance(value, list) and value and isinstance(value[0], gast.stmt):
                if control:
                    self.needs.append([])
                setattr(node, field, self.block(value))
                if control:
                    self.block_needs[(id(node), field)] = self.needs.pop()
        for handler in getattr(node, "handlers", []) or []:
            handler.body = self.block(handler.body)
        if isinstance(node, gast.If):
            return self.if_(node)
        if isinstance(node, gast.While):
            return self.while_(node)
        if isinstance(node, gast.For):
            return self.for_(node)
        return [node]

    # -- helpers
    def _outer_names(self):
        return self.outer[-1][0] if self.outer else set()

    def _declarations(self, names, like):
        kinds = self.outer[-1][1] if self.outer else {}
        decls = []
        for kind in ("global", "nonlocal"):
            chosen = [n for n in names if kinds.get(n) == kind]
            if chosen:
                cls = gast.Global if kind == "global" else gast.Nonlocal
                decls.append(T.copy_location(cls(names=chosen), like))
        return decls

    def _unstageable(self, nodes):
        """``(keyword, line)`` of the first statement in ``nodes`` that a graph
        cannot stage (a try, or a call to a nested function that rebinds a
        variable of this one with nonlocal), else None."""
        if not (self.maybe_unstageable and self.maybe_unstageable[-1]):
            return None
        rebinders = self.rebinders[-1] if self.rebinders else {}
        for n in nodes:
            for inner in gast.walk(n):
                callee = _callee_name(inner)
                if callee in rebinders:
                    line, names = rebinders[callee]
                    return T.tuple_([T.const("nonlocal"), T.const(line)]
                                    + [T.const(n) for n in names])
        for n in nodes:
            if isinstance(n, gast.Try):
                return T.tuple_([T.const("try"), T.const(n.lineno)])
            for inner in gast.walk(n):
                if isinstance(inner, gast.Try):
                    return T.tuple_([T.const("try"), T.const(inner.lineno)])
        return None

    def _def(self, name, params, body, returns, like, modified, needs=(), outer_defined=()):
        decls = self._declarations([m for m in modified if m in self._outer_names()], like)
        # In a generated function, a state name that is not a parameter is its
        # local: unbound unless this block itself bound it before the statement
        # (bound at the statement, but not before the enclosing one).
        local_needs = [n for n, bound in needs if not bound or n in outer_defined]
        body = decls + _bind_undefined(list(body), local_needs, params, like)
        if returns is not None:
            body.append(T.return_(returns))
        if not body:
            body = [gast.Pass()]
        return T.copy_location(T.function_def(name, params, body), like)

    def _composites(self, node, keywords):
        """Getter/setter defs for the composite targets ``node`` writes; adds
        the ``composites=`` keyword of its operator call."""
        found = self.composites.pop(id(node), None)
        if not found:
            return []
        get_name, set_name = self.ctx.namer.new_group("get_state", "set_state")
        values = self.ctx.namer.new("values")
        reads, writes = [], []
        for i, c in enumerate(found):
            target = c.node
            base = load_copy(target.value)
            if isinstance(target, gast.Subscript):
                key = load_copy(target.slice)
                reads.append(T.call("read_item", [base, key]))
                writes.append(T.expr_stmt(T.call("write_item", [
                    load_copy(target.value), load_copy(target.slice), _item(values, i)])))
            else:
                reads.append(T.call("read_attr", [base, T.const(target.attr)]))
                writes.append(T.expr_stmt(T.call("write_attr", [
                    load_copy(target.value), T.const(target.attr), _item(values, i)])))
        getter = T.function_def(get_name, [], [T.return_(T.tuple_(reads))])
        setter = T.function_def(set_name, [values], writes)
        keywords["composites"] = T.tuple_([T.name(get_name), T.name(set_name),
                                           T.str_tuple([c.text for c in found])])
        return [getter, setter]

    def _need(self, node, state, defined):
        """Record the state names of ``node`` that may be unbound at it."""
        self.needs[-1].extend((n, n in defined) for n in state)

    def _block_needs(self, node, field):
        return self.block_needs.pop((id(node), field), ())

    # -- if
    def if_(self, node):
        f = self.facts[node]
        outer = self._outer_names()
        # State: what is live after the if, plus what a branch reads and may
        # rebind (Python would make it local to the branch function otherwise).
        read = f.read
        params = [n for n in f.modified if n not in outer and (
            n in f.live_out or (n in f.defined and n in read))]
        outputs = params
        guard = getattr(node, "kg_guard", None)    # set by the passes that lower exits
        if guard:
            # `if not break_1:` made by lowering: its body is what runs after
            # the break did not happen; explain() reports it as such.
            body_name, else_name = self.ctx.namer.new_group(f"after_{guard}", "else_body")
        else:
            body_name, else_name = self.ctx.namer.new_group("if_body", "else_body")
        self._need(node, params, f.defined)
        stmts = [self._def(body_name, params, node.body, T.tuple_(outputs), node, f.modified,
                           self._block_needs(node, "body"), f.defined)]
        else_ref = T.const(None)
        if node.orelse:
            stmts.append(self._def(else_name, params, node.orelse, T.tuple_(outputs),
                                   node.orelse[0], f.modified,
                                   self._block_needs(node, "orelse"), f.defined))
            else_ref = T.name(else_name)
        keywords = {"guard": T.const(guard)} if guard else {}
        # Bound after the if on every path that did not return/break/continue:
        # a branch that left the scope may leave them unbound (never read).
        exits = [n for n in outputs if n not in f.defined and f.defined_after is not None
                 and n in f.defined_after]
        if exits:
            keywords["unbound_on_exit"] = T.str_tuple(exits)
        unstageable = self._unstageable(node.body + node.orelse)
        if unstageable:
            keywords["unstageable"] = unstageable
        stmts.extend(self._composites(node, keywords))
        call = T.call("if_stmt", [node.test, T.name(body_name), else_ref,
                                  T.tuple_(params), T.str_tuple(params)], keywords)
        stmts.append(T.assign(list(outputs), call) if outputs else T.expr_stmt(call))
        return [T.copy_location(s, node) for s in stmts]

    # -- loops
    def _appends_keyword(self, node, state):
        """``appends=(('xs', 'h'),)``: the loop's state lists that its body only
        appends to, each with the state variable it appends. A list that enters
        the loop empty is then built right away as a graph list of that
        variable's type, checked at each append (operators/control_flow.py),
        instead of learning its element type in a first build thrown away."""
        found = self.appends.pop(id(node), {})
        pairs = [T.tuple_([T.const(n), T.const(src)])
                 for n, src in found.items() if n in state and src in state]
        return {"appends": T.tuple_(pairs)} if pairs else {}

    def _loop_vars(self, node, f):
        outer = self._outer_names()
        names = [n for n in f.modified if n in f.live_head and n not in outer]
        brk = self.ctx.for_breaks.get(id(node))
        if brk is not None and brk[1] not in names:
            names.append(brk[1])
        return names

    def while_(self, node):
        f = self.facts[node]
        state = self._loop_vars(node, f)
        test_name, body_name = self.ctx.namer.new_group("loop_test", "loop_body")
        self._need(node, state, f.defined)
        stmts = [
            self._def(test_name, state, [], node.test, node, []),
            self._def(body_name, state, node.body, T.tuple_(state), node, f.modified,
                      self._block_needs(node, "body"), f.defined),
        ]
        keywords = self._appends_keyword(node, state)
        unstageable = self._unstageable(node.body)
        if unstageable:
            keywords["unstageable"] = unstageable
        stmts.extend(self._composites(node, keywords))
        call = T.call("while_stmt", [T.name(test_name), T.name(body_name), T.tuple_(state),
                                     T.str_tuple(state)], keywords)
        stmts.append(T.assign(state, call) if state else T.expr_stmt(call))
        return [T.copy_location(s, node) for s in stmts]

    def for_(self, node):
        f = self.facts[node]
        state = self._loop_vars(node, f)
        test_name, body_name = self.ctx.namer.new_group("loop_test", "loop_body")
        target = node.target
        if isinstance(target, gast.Name) and target.id not in state:
            first, prelude = target.id, []
        else:
            first = self.ctx.namer.new("item")
            prelude = [T.copy_location(gast.Assign(targets=[target], value=T.name(first),
                                                   type_comment=None), node)]
        self._need(node, state, f.defined)
        stmts = [self._def(body_name, [first] + state, prelude + node.body, T.tuple_(state),
                           node, f.modified, self._block_needs(node, "body"), f.defined)]
        keywords = self._appends_keyword(node, state)
        brk = self.ctx.for_breaks.get(id(node))
        if brk is not None:
            stmts.insert(0, self._def(test_name, state, [], T.call("not_", [T.name(brk[1])]),
                                      node, []))
            keywords["extra_test"] = T.name(test_name)
        unstageable = self._unstageable(node.body)
        if unstageable:
            keywords["unstageable"] = unstageable
        stmts.extend(self._composites(node, keywords))
        call = T.call("for_stmt", [node.iter, T.name(body_name), T.tuple_(state),
                                   T.str_tuple(state)], keywords)
        stmts.append(T.assign(state, call) if state else T.expr_stmt(call))
        return [T.copy_location(s, node) for s in stmts]


def _append_only(loop, names):
    """``{xs: v or None}`` for the names in ``names`` that ``loop`` (its target,
    test and body, nested functions included) only uses as
    ``xs = kg__.list_append(xs, value)``; ``v`` is the name the first of those
    appends (when the value is a plain name)."""
    parts = list(loop.body)
    parts.append(loop.test if isinstance(loop, gast.While) else loop.target)
    uses, appends = {}, {}
    for part in parts:
        for n in gast.walk(part):
            if isinstance(n, gast.Name):
                if n.id in names:
                    uses[n.id] = uses.get(n.id, 0) + 1
            elif isinstance(n, gast.Assign) and len(n.targets) == 1 and \
                    isinstance(n.targets[0], gast.Name) and \
                    is_runtime_call(n.value, "list_append") and len(n.value.args) == 2 \
                    and not n.value.keywords and isinstance(n.value.args[0], gast.Name) \
                    and n.value.args[0].id == n.targets[0].id:
                value = n.value.args[1]
                appends.setdefault(n.targets[0].id, []).append(
                    value.id if isinstance(value, gast.Name) else None)
    return {xs: found[0] for xs, found in appends.items()
            if xs in names and uses.get(xs) == 2 * len(found)}


def _bind_undefined(body, needs, params, like):
    """``n = kg__.Undefined('n')`` at the top of ``body`` for each name in
    ``needs`` that is not a parameter (a parameter is bound: the enclosing
    statement's own state handles it). Binding at the top never overwrites a
    value (nothing has run yet) and keeps Python's scoping."""
    params = set(params)
    names = [n for n in dict.fromkeys(needs) if n not in params]
    if not names:
        return body
    return [T.copy_location(T.assign(n, T.call("Undefined", [T.const(n)])), like)
            for n in names] + body


def _param_names(fn):
    a = fn.args
    names = [x.id for x in a.posonlyargs + a.args + a.kwonlyargs]
    names += [x.id for x in (a.vararg, a.kwarg) if x is not None]
    return names


def _item(name, index):
    return gast.Subscript(value=T.name(name), slice=T.const(index), ctx=gast.Load())


def _callee_name(node):
    """The plain name a call calls (``f(x)`` or, after the calls pass, ``kg__.call(f, x)``)."""
    if not isinstance(node, gast.Call):
        return None
    if is_runtime_call(node, "call") and node.args and isinstance(node.args[0], gast.Name):
        return node.args[0].id
    return node.func.id if isinstance(node.func, gast.Name) else None


def _scan(fn):
    """What the rewriting of ``fn`` needs to know of it, in one walk that does
    not enter nested scopes:

    * ``{name: "global" | "nonlocal"}`` for the names ``fn`` itself declares;
    * ``{name of a def nested in fn: (line of its nonlocal statement, names)}``
      for the nested defs that rebind a variable of ``fn``;
    * whether ``fn`` holds a ``try``;
    * the names ``fn`` assigns ``kg__.list_append(...)`` (lists appended to).
    """
    kinds, nested, has_try, appended = {}, [], False, set()
    todo = [fn]
    while todo:
        node = todo.pop()
        if isinstance(node, gast.Global):
            kinds.update({n: "global" for n in node.names})
        elif isinstance(node, gast.Nonlocal):
            kinds.update({n: "nonlocal" for n in node.names})
        elif isinstance(node, gast.Try):
            has_try = True
        elif isinstance(node, gast.Assign) and is_runtime_call(node.value, "list_append") \
                and isinstance(node.targets[0], gast.Name):
            appended.add(node.targets[0].id)
        for child in gast.iter_child_nodes(node):
            if isinstance(child, _SCOPES):
                if isinstance(child, gast.FunctionDef):
                    nested.append(child)
            else:
                todo.append(child)
    rebinders = {}
    for child in nested:
        for inner in gast.walk(child):
            rebound = [n for n in getattr(inner, "names", ())
                       if n in scopes.assigned(child.body)]
            if isinstance(inner, gast.Nonlocal) and rebound:
                rebinders[child.name] = (inner.lineno, rebound)
                break
    return kinds, rebinders, has_try, appended
