"""List operations that must survive graph control flow.

A list changed in place inside a tensor ``if``/``while``/``for`` must be
state of that branch or loop, so each change of a local list becomes an
assignment to it (the operators do exactly what the list method does on a
Python list, and work on graph lists too):

* ``xs.append(v)``    -> ``xs = kg__.list_append(xs, v)`` (likewise ``extend``,
  ``insert``; ``clear``/``reverse``/``sort``/``remove`` via ``list_mutate``);
* ``v = xs.pop(i)``   -> ``xs, v = kg__.list_pop(xs, i)``; a bare
  ``xs.pop()`` -> ``xs = kg__.list_pop(xs)[0]``; a pop inside an assignment's or
  return's value is hoisted before it (``xs, pop_1 = kg__.list_pop(xs)``);
* ``xs[i] = v``       -> ``xs = kg__.list_setitem(xs, i, v)`` when an enclosing
  if/while/for cannot carry ``xs[i]`` as one element (``i`` changes in it);
  ``xs[i] op= v`` likewise when the index is a name (evaluated twice);
  ``del xs[i]`` -> ``xs = kg__.list_delitem(xs, i)``; elements it can carry
  (``pair[0] = x``) are left to the control-flow pass (composite state);
* ``kgraph.set_element_type(xs, ...)`` -> ``xs = kg__.set_element_type(xs, ...)``;
* a comprehension's iterable -> ``kg__.comp_iter(...)`` (Python semantics;
  a tensor of known length is unrolled, anything else is a clear error).

Only names local to the function are rewritten: rebinding a global or
closure list would make it local (and unbound).
"""

from __future__ import annotations

import gast

from kgraph.analysis import composites, scopes
from kgraph.convert import templates as T
from kgraph.passes.common import MISSING, local_names

_SIMPLE = {"append": (1, 1), "extend": (1, 1), "insert": (2, 2)}
_MUTATE = {"clear": (0, 0), "reverse": (0, 0), "sort": (0, 0), "remove": (1, 1)}


class _Lists(gast.NodeTransformer):
    def __init__(self, ctx):
        self.ctx = ctx
        self.scopes = []   # local names of the functions being visited
        self.enclosing = []   # the if/while/for statements around the current one
        # id(statement) -> (names it rebinds, texts of its composite-state
        # targets), computed once per if/while/for on the user's code before
        # its body is rewritten; the memoizing analyses combine each statement's
        # facts from its children's, so the pass stays linear in the function's
        # length (asking composites.written() afresh for every enclosing
        # statement of every subscript target was quadratic).
        self.facts = {}
        self.summaries = scopes.Summaries()
        self.written = composites.Written()

    def visit_FunctionDef(self, node):
        self.scopes.append(local_names(node))
        saved, self.enclosing = self.enclosing, []
        self.generic_visit(node)
        self.enclosing = saved
        self.scopes.pop()
        return node

    def _compound(self, node):
        modified = set(self.summaries.assigned(node.body + node.orelse))
        if isinstance(node, gast.For):
            modified |= set(scopes.assigned([node.target]))
        tracked = {c.text for c in self.written(node.body + node.orelse, modified)}
        self.facts[id(node)] = (modified, tracked)
        self.enclosing.append(node)
        self.generic_visit(node)
        self.enclosing.pop()
        return node

    visit_If = visit_While = visit_For = _compound

    def _is_local(self, name):
        return bool(self.scopes) and name in self.scopes[-1]

    def _method_call(self, call, methods):
        """(list name, method) when ``call`` is ``NAME.method(...)`` on a local NAME."""
        if not isinstance(call, gast.Call):
            return None
        func = call.func
        if not (isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name)
                and func.attr in methods and self._is_local(func.value.id)):
            return None
        low, high = methods[func.attr]
        if any(isinstance(a, gast.Starred) for a in call.args):
            return None
        if func.attr == "pop" and call.args and isinstance(call.args[0], gast.Constant) \
                and isinstance(call.args[0].value, str):
            return None   # d.pop('key'): a dict (its key is composite-target state)
        if func.attr == "sort":
            if call.args or any(k.arg not in ("key", "reverse") for k in call.keywords):
                return None
        elif call.keywords or not low <= len(call.args) <= high:
            return None
        return func.value.id, func.attr

    def visit_Expr(self, node):
        self.generic_visit(node)
        call = node.value
        hit = self._method_call(call, _SIMPLE)
        if hit:
            target, method = hit
            new = T.assign(target, T.call(f"list_{method}", [T.name(target)] + call.args))
            return T.copy_location(new, node)
        hit = self._method_call(call, _MUTATE)
        if hit:
            target, method = hit
            new = T.assign(target, T.call("list_mutate", [T.name(target), T.const(method)]
                                          + call.args,
                                          {k.arg: k.value for k in call.keywords}))
            return T.copy_location(new, node)
        hit = self._method_call(call, {"pop": (0, 1)})
        if hit:
            target = hit[0]
            popped = gast.Subscript(value=T.call("list_pop", [T.name(target)] + call.args),
                                    slice=T.const(0), ctx=gast.Load())
            return T.copy_location(T.assign(target, popped), node)
        if isinstance(call, gast.Call) and call.args and isinstance(call.args[0], gast.Name) \
                and self._is_set_element_type(call.func) and self._is_local(call.args[0].id):
            target = call.args[0].id
            new = T.assign(target, T.call("set_element_type", call.args, {
                k.arg: k.value for k in call.keywords}))
            return T.copy_location(new, node)
        return node

    def visit_Assign(self, node):
        self.generic_visit(node)
        if len(node.targets) != 1:
            return self._hoist_pops(node)
        target = node.targets[0]
        hit = self._method_call(node.value, {"pop": (0, 1)})
        if hit and not _binds(target, hit[0]):
            lst = hit[0]
            new = T.assign(T.tuple_([T.name(lst, store=True), target], store=True),
                           T.call("list_pop", [T.name(lst)] + node.value.args))
            return T.copy_location(new, node)
        sub = self._subscript_target(target)
        if sub is not None:
            new = T.assign(sub, T.call("list_setitem", [T.name(sub), target.slice,
                                                        node.value]))
            return self._hoist_pops(T.copy_location(new, node))
        return self._hoist_pops(node)

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        target = node.target
        sub = self._subscript_target(target)
        if sub is None or not isinstance(target.slice, (gast.Name, gast.Constant)):
            return self._hoist_pops(node)
        read = gast.Subscript(value=T.name(sub), slice=_copy(target.slice), ctx=gast.Load())
        value = gast.BinOp(left=read, op=node.op, right=node.value)
        new = T.assign(sub, T.call("list_setitem", [T.name(sub), target.slice, value]))
        return self._hoist_pops(T.copy_location(new, node))

    def visit_Return(self, node):
        self.generic_visit(node)
        return self._hoist_pops(node)

    def _hoist_pops(self, stmt):
        """``total += xs.pop()`` -> ``xs, pop_1 = kg__.list_pop(xs)`` then
        ``total += pop_1``: the list becomes an assigned name. Only when the pop
        is evaluated unconditionally and its list is not read elsewhere in the
        statement (else hoisting could change what Python computes)."""
        if stmt.value is None:
            return stmt
        found = []
        _find_pops(stmt.value, self, found, conditional=False)
        if not found or any(cond for _, _, cond in found):
            return stmt
        names = [lst for _, lst, _ in found]
        reads = [n for n in gast.walk(stmt) if isinstance(n, gast.Name) and n.id in names]
        if len(reads) != len(found) + sum(_binds(t, n) for t in _targets(stmt)
                                          for n in names):
            return stmt   # the list is also read (or bound) by the statement itself
        out = []
        replaced = {}
        for call, lst, _ in found:
            tmp = self.ctx.namer.new("pop")
            out.append(T.copy_location(T.assign(
                T.tuple_([T.name(lst, store=True), T.name(tmp, store=True)], store=True),
                T.call("list_pop", [T.name(lst)] + call.args)), stmt))
            replaced[id(call)] = tmp
        return out + [_Replace(replaced).visit(stmt)]

    def visit_Delete(self, node):
        self.generic_visit(node)
        if len(node.targets) != 1:
            return node
        sub = self._subscript_target(node.targets[0])
        if sub is None:
            return node
        new = T.assign(sub, T.call("list_delitem", [T.name(sub), node.targets[0].slice]))
        return T.copy_location(new, node)

    def _subscript_target(self, target):
        """NAME when ``target`` is ``NAME[index]`` on a local NAME that an enclosing
        if/while/for cannot carry as one element (composite-target state, see
        analysis/composites.py), typically ``xs[i] = v`` in ``for i in ...``: the
        whole list must then be that statement's state. Elements it can carry
        (``pair[0] = x``) are left to it: it keeps Python numbers' weak types and
        the list's identity, which a whole Python list carried as state loses."""
        if not (isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name)
                and self._is_local(target.value.id)):
            return None
        text = None
        for stmt in self.enclosing:
            modified, tracked = self.facts[id(stmt)]
            if target.value.id in modified:
                return None   # already a state variable of that statement
            if text is None:
                text = gast.unparse(target).strip()
            if text not in tracked:
                return target.value.id
        return None

    def _is_set_element_type(self, func):
        if not (isinstance(func, gast.Name) and func.id == "set_element_type"
                or isinstance(func, gast.Attribute) and func.attr == "set_element_type"):
            return False
        from kgraph.operators.lists import set_element_type
        return self.ctx.resolve(func, set()) in (set_element_type, MISSING)

    def visit_comprehension(self, node):
        self.generic_visit(node)
        node.iter = T.call("comp_iter", [node.iter])
        return node


class _Replace(gast.NodeTransformer):
    def __init__(self, replaced):
        self.replaced = replaced

    def generic_visit(self, node):
        tmp = self.replaced.get(id(node))
        if tmp is not None:
            return T.copy_location(T.name(tmp), node)
        return super().generic_visit(node)


def _find_pops(node, visitor, found, conditional):
    """``NAME.pop(...)`` calls on local lists in ``node``, in evaluation order, each
    with whether it is evaluated only conditionally."""
    if isinstance(node, (gast.Lambda, gast.ListComp, gast.SetComp, gast.DictComp,
                         gast.GeneratorExp)):
        conditional = True
    hit = visitor._method_call(node, {"pop": (0, 1)})
    for i, child in enumerate(gast.iter_child_nodes(node)):
        later = conditional or (isinstance(node, gast.BoolOp) and i > 1) or (
            isinstance(node, gast.IfExp) and child is not node.test)
        _find_pops(child, visitor, found, later)
    if hit:
        found.append((node, hit[0], conditional))


def _targets(stmt):
    if isinstance(stmt, gast.Assign):
        return stmt.targets
    if isinstance(stmt, gast.AugAssign):
        return [stmt.target]
    return []


def _binds(target, name):
    return any(isinstance(n, gast.Name) and n.id == name for n in gast.walk(target))


def _copy(node):
    if isinstance(node, gast.Name):
        return T.name(node.id)
    return T.const(node.value)


def run(root, ctx):
    return _Lists(ctx).visit(root)
