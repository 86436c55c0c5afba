"""if / while / for / ternary: one entry point each, Python path or graph path.

Generated code calls, for example::

    (y,) = kg__.if_stmt(x > 0, if_body_1, else_body_1, (y,), ('y',))

Branch and loop bodies are functions that take the state variables as
arguments and return them. When the condition (or the iterated object) is
staged, the operator builds ``tf.cond`` / ``tf.while_loop``; otherwise it
runs the bodies as plain Python.
"""

from __future__ import annotations

import tensorflow as tf

from kgraph import context
from kgraph.errors import (StagingError, StagingTypeError, StagingValueError,
                           UnsupportedStagingError)
from kgraph.operators import iterables, mutations
from kgraph.operators.composites import carrying
from kgraph.operators.element_guess import ElementGuess
from kgraph.operators.undefined import InLoopRead, in_loop, learn_from_body, mark_exits
from kgraph.operators.lists import GraphList, truth
from kgraph.operators.undefined import MaybeUnbound, Undefined
from kgraph.operators.staging import (caller_location, describe, is_staged,
                                      location_text, record)
from kgraph.operators.state import (ListSlot, MaybeSlot, NestSlot, Site, TensorSlot,
                                    UndefinedSlot, WeakSlot, _list_element, merge_all, slot_for)
from kgraph.operators.weak import Group, Weak, unwrap

# A site traces its bodies at most: one scratch trace (only when a Python
# number's dtype must be learned), or one first build that learns something
# new (a shape that changes, a list that grows) and is thrown away; then the
# real build. A third attempt only happens if the real build still learns
# (a shape that changes again once relaxed); it is counted like the others.
_MAX_ATTEMPTS = 3


class _Learned(Exception):
    """Internal: tracing taught better slots; this attempt is thrown away."""

    def __init__(self, slots, options=None):
        super().__init__("learned")
        self.slots = slots
        self.options = options


def _python_reason(value):
    return f"condition is {describe(value)}"


# --------------------------------------------------------------------------- if

_GUARD_TEXT = {"return": "return", "break": "break", "continue": "continue"}


def if_stmt(test, body, orelse, state, names, unstageable=None, composites=None,
            guard=None, unbound_on_exit=()):
    """``if test: body else: orelse`` over the state variables ``names``
    (and, when staged, the composite targets ``composites``: see
    ``operators/composites.py``).

    ``guard`` is set by the passes that lower ``return`` / ``break`` /
    ``continue`` (``"return"``...): this ``if`` runs the statements after one.
    ``unbound_on_exit`` names variables that a branch which returned / broke /
    continued may leave unbound: the analysis proved that no path reads them
    there.
    """
    test = truth(test)   # a graph list's truth value is len(xs) > 0, a tensor
    if is_staged(test):
        loc = caller_location()
        _refuse_unstageable(unstageable, "an if statement on a tensor", loc)
        if guard:
            record("guard", "graph", f"statements after a {guard} that depends on "
                                     f"a tensor run under tf.cond", loc)
        else:
            record("if", "graph", "condition is a symbolic tensor: tf.cond", loc)
        fns = (body, orelse)
        if unbound_on_exit:
            body = mark_exits(body, names, unbound_on_exit)
            orelse = mark_exits(orelse, names, unbound_on_exit)

        def build(composites, watch):
            b, o = watch.wrap(body), watch.wrap(orelse)
            if composites:
                full, full_names, wrap, finish = carrying(composites, state, names)
                return finish(_tf_if(test, wrap(b), wrap(o), full, full_names, loc,
                                     "the if statement"))
            return _tf_if(test, b, o, state, names, loc, "the if statement")
        return mutations.carry(fns, loc, "the if statement", "if", composites, build)
    if context.recorder() is not None:
        if guard:
            record("guard", "python", f"statements after a {guard}: "
                                      f"{_python_reason(test)}")
        else:
            record("if", "python", _python_reason(test))
    if test:
        return body(*state)
    return orelse(*state) if orelse is not None else state


def if_exp(test, if_true, if_false):
    """``if_true() if test else if_false()`` with lazily evaluated branches."""
    test = truth(test)
    if is_staged(test):
        loc = caller_location()
        record("ifexp", "graph", "condition is a symbolic tensor: tf.cond", loc)
        (out,) = _tf_if(test, lambda: (if_true(),), lambda: (if_false(),), (), ("<expr>",),
                        loc, "the conditional expression")
        return out
    if context.recorder() is not None:
        record("ifexp", "python", _python_reason(test))
    return if_true() if test else if_false()


def _copy_lists(state):
    # Branches of a staged if are both traced: each must see its own copy of
    # any Python list it may append to (graph lists are changed in place too),
    # and of a dict or set that it changes with a method (`d.clear()` makes `d`
    # a state variable, see passes/lists.py).
    return tuple(type(v)(v) if type(v) in (list, dict, set)
                 else v.copy() if isinstance(v, GraphList) else v for v in state)


def _tf_if(test, body, orelse, state, names, loc, where):
    loc_text = location_text(loc)
    test = _as_bool_tensor(test, where, loc_text)
    near = _compared_dtypes(test)
    sites = [Site(n, where, loc_text, loop=False, near=tuple(near)) for n in names]
    state = list(state)
    if context.in_scratch_trace():
        return _scratch_if(body, orelse, state, names, sites, loc, where, loc_text)
    hinted = context.hint((loc, "if", tuple(names)))
    slots = None
    for _ in range(_MAX_ATTEMPTS):
        box = {"slots": slots}

        def true_fn():
            context.count_trace(loc, "true")
            out = _check_arity(body(*_copy_lists(state)), names, where, loc_text)
            if box["slots"] is None:
                box["slots"] = _apply_hints(
                    [slot_for(v, entry=e, near=near) for v, e in zip(out, _entries(state, out))],
                    hinted)
            else:
                _merge_or_learn(out, box["slots"], sites)
            return _pack(out, box["slots"])

        def false_fn():
            context.count_trace(loc, "false")
            if orelse is None:
                out = tuple(state)
            else:
                out = _check_arity(orelse(*_copy_lists(state)), names, where, loc_text)
            _merge_or_learn(out, box["slots"], sites)
            return _pack(out, box["slots"])

        with context.attempt() as att:
            try:
                result = tf.cond(test, true_fn, false_fn, name=op_name(where, loc))
                return _unpack(result, box["slots"])
            except _Learned as learned:
                att.discard()
                slots = learned.slots
                for i, slot in enumerate(slots):
                    if isinstance(slot, ListSlot) and isinstance(state[i], list):
                        # A list appended to in one branch only: both branches must
                        # see (and return) the same TensorArray-backed list.
                        state[i] = GraphList.from_python(state[i], slot.element)
    raise StagingError(f"could not agree on the types of the variables of {where}",
                       location=loc_text)


_COMPARISONS = {"Less", "LessEqual", "Greater", "GreaterEqual", "Equal", "NotEqual"}
_BOOLEAN = {"LogicalAnd", "LogicalOr", "LogicalNot", "Cast", "Identity"}


def _compared_dtypes(test, depth=3):
    """The dtypes of the tensors the condition compares (``x > 0`` with ``x``
    int64 -> [int64]): the provisional dtype of a Python number both branches
    assign, when nothing better is known (no tensor met it yet)."""
    op = getattr(test, "op", None)
    if op is None or depth == 0:
        return []
    if op.type in _COMPARISONS:
        return [t.dtype for t in op.inputs]
    if op.type in _BOOLEAN:
        return [d for t in op.inputs for d in _compared_dtypes(t, depth - 1)]
    return []


_CONSTRUCTS = (("conditional expression", "ifexp"), ("if", "if"), ("while", "while"),
               ("for", "for"))


def op_name(where, loc):
    """The name of the tf.cond / tf.while_loop built for the user's statement at
    ``loc``: ``if_line12``, ``while_line30``, ``for_line7``, ``ifexp_line9`` (op
    graphs in TensorBoard then show the user's statements by name)."""
    construct = next((c for key, c in _CONSTRUCTS if key in where), "cond")
    return f"{construct}_line{loc[1]}" if loc else construct


def _entries(state, out):
    """The values the state had before the if (none for a conditional expression)."""
    return state if len(state) == len(out) else [None] * len(out)


def _merge_or_learn(values, slots, sites):
    """Merge ``values`` into ``slots``; raise ``_Learned`` with every better slot
    learned when the graph built so far does not fit them."""
    merged = merge_all(values, slots, sites)
    if any(not _encodes_like(m, s) for m, s in zip(merged, slots)):
        raise _Learned(merged)


def _encodes_like(new, old):
    """True when values of slot ``new`` are carried exactly as those of ``old``."""
    if new is old:
        return True
    kinds = (WeakSlot, TensorSlot)
    if isinstance(new, kinds) and isinstance(old, kinds):
        shape_new = getattr(new, "shape", tf.TensorShape([]))
        shape_old = getattr(old, "shape", tf.TensorShape([]))
        return new.dtype == old.dtype and shape_new == shape_old
    if isinstance(new, NestSlot) and isinstance(old, NestSlot):
        return len(new.leaves) == len(old.leaves) and all(
            (a is None and b is None) or (a is not None and b is not None
                                          and _encodes_like(a, b))
            for a, b in zip(new.leaves, old.leaves))
    if isinstance(new, UndefinedSlot) and isinstance(old, UndefinedSlot):
        return (new.inner is None) == (old.inner is None) and (
            new.inner is None or _encodes_like(new.inner, old.inner))
    return new == old


def _apply_hints(slots, hinted, loop=False):
    """Use what a scratch trace of an enclosing loop learned about this site:
    the dtype its Python numbers take (and, for a loop, relaxed shapes and
    lists that grow), so that it is built right away."""
    if not hinted or len(hinted) != len(slots):
        return slots
    out = []
    for s, h in zip(slots, hinted):
        if isinstance(h, WeakSlot):
            h = h.resolved()
        if isinstance(s, WeakSlot) and isinstance(h, TensorSlot) and \
                _python_kind_fits(s, h.dtype):
            out.append(TensorSlot(h.dtype, [], h.python, weak=True) if loop
                       else WeakSlot(s.is_float, h.dtype, s.group))
        elif loop and isinstance(s, TensorSlot) and isinstance(h, TensorSlot) and \
                s.dtype == h.dtype and s.shape.is_compatible_with(h.shape) and \
                s.shape != h.shape and h.shape.most_specific_compatible_shape(s.shape) == h.shape:
            out.append(TensorSlot(s.dtype, h.shape, s.python, s.weak))
        else:
            out.append(s)
    return out


def _python_kind_fits(weak_slot, dtype):
    from kgraph.operators.state import _dtype_fits_python
    return _dtype_fits_python(weak_slot.is_float, dtype)


def _scratch_if(body, orelse, state, names, sites, loc, where, loc_text):
    """An if inside a scratch trace: trace both branches, learn, hand back stand-ins."""
    context.count_trace(loc, "true")
    outs = [_check_arity(body(*_copy_lists(state)), names, where, loc_text)]
    if orelse is not None:
        context.count_trace(loc, "false")
        outs.append(_check_arity(orelse(*_copy_lists(state)), names, where, loc_text))
    else:
        outs.append(tuple(state))
    if len(outs[1]) != len(outs[0]):
        raise StagingError(f"internal: {where} produced {outs[1]!r}", location=loc_text)
    slots = [slot_for(v, entry=e) for v, e in zip(outs[0], _entries(state, outs[0]))]
    for s, v in zip(slots, outs[0]):
        if isinstance(s, WeakSlot) and isinstance(v, Weak):
            s.group = v.group
    slots = merge_all(outs[1], slots, sites)
    context.set_hint((loc, "if", tuple(names)), slots)
    return tuple(_stand_in(s, [o[i] for o in outs]) for i, s in enumerate(slots))


def _stand_in(slot, candidates):
    """The value a scratch trace continues with after a statement it learned."""
    if isinstance(slot, UndefinedSlot):
        rest = [c for c in candidates if not isinstance(c, Undefined)]
        if slot.inner is None or not rest:
            return candidates[0]
        return _stand_in(slot.inner, rest)
    if isinstance(slot, MaybeSlot):
        # Bound on some paths only: the scratch trace goes on with its type.
        rest = [c.value if isinstance(c, MaybeUnbound) else c for c in candidates
                if not isinstance(c, Undefined)]
        return _stand_in(slot.inner, rest) if rest else candidates[0]
    if isinstance(slot, WeakSlot):
        if slot.group is None:
            slot.group = Group(slot.is_float)
        number = None
        for c in candidates:
            if isinstance(c, Weak):
                slot.group.union(c.group)
            if number is None and (isinstance(c, (int, float, Weak))):
                number = unwrap(c)
        return Weak(number if number is not None else 0, slot.group)
    if isinstance(slot, TensorSlot):
        return tf.raw_ops.Placeholder(dtype=slot.dtype, shape=slot.shape)
    if isinstance(slot, ListSlot):
        for c in candidates:
            if isinstance(c, GraphList):
                return c
        return GraphList.from_python(list(candidates[0]), slot.element)
    return candidates[0]


def _pack(values, slots):
    packed = [s.encode(v) for v, s in zip(values, slots) if s.carried]
    packed = [p for p in packed if p is not None]
    return packed if packed else None


def _unpack(result, slots):
    if result is None:
        result = []
    elif not isinstance(result, (list, tuple)):
        result = [result]
    it = iter(result)
    return tuple(s.decode(next(it)) if s.carried else s.decode(None) for s in slots)


def _check_arity(out, names, where, loc_text):
    if not isinstance(out, tuple) or len(out) != len(names):
        raise StagingError(f"internal: {where} produced {out!r} for {names}", location=loc_text)
    return out


def _as_bool_tensor(test, where, loc_text):
    test = truth(test)
    if isinstance(test, tf.data.Dataset):
        raise StagingTypeError(f"the condition of {where} is a tf.data.Dataset",
                           location=loc_text)
    test = tf.convert_to_tensor(test)
    if test.dtype != tf.bool:
        test = tf.cast(test, tf.bool) if test.shape.rank == 0 else test
    if test.shape.rank not in (0, None):
        raise StagingValueError(
            f"the condition of {where} is a tensor of shape {test.shape}, "
            f"not a scalar: its truth value is ambiguous",
            location=loc_text, hints=("reduce it first, e.g. tf.reduce_any(...) or "
                                      "tf.reduce_all(...)",))
    if test.dtype != tf.bool:
        test = tf.cast(test, tf.bool)
    return test


def _refuse_unstageable(unstageable, what, loc):
    """``unstageable`` is ``(keyword, line)`` of a statement a graph cannot run."""
    if unstageable:
        keyword, line, *names = unstageable
        why = _UNSTAGEABLE[keyword]
        if names:
            why += f" ({', '.join(repr(n) for n in names)})"
        # A try is the user's statement to move; a nonlocal rebinding is only
        # reached through a call, so the loop/if is what to point at.
        where = f"{loc[0]}:{line}" if keyword == "try" else location_text(loc)
        raise UnsupportedStagingError(
            f"{what} (line {loc[1]}) becomes graph control flow, but it reaches the "
            f"'{keyword}' statement at line {line}: {why}",
            location=where,
            hints=(f"move the '{keyword}' out of the graph control flow, or make the "
                   f"condition a Python value",) + _UNSTAGEABLE_HINTS.get(keyword, ()))


_UNSTAGEABLE = {
    "try": "its except clauses would never see errors raised while the graph runs",
    "nonlocal": "a nested function that rebinds an enclosing variable cannot be carried "
                "as the loop's or branch's state",
}
_UNSTAGEABLE_HINTS = {
    "nonlocal": ("return the new value from the nested function and assign it in the "
                 "loop, e.g. count = add(count, i)",),
}


# ------------------------------------------------------------------------ while

def while_stmt(test, body, state, names, unstageable=None, composites=None, appends=()):
    """``while test(*state): state = body(*state)``.

    ``appends``: ``(list name, appended name or None)`` for the state lists the
    body only appends to (see ``_guess_lists``)."""
    cond = truth(test(*state))
    if is_staged(cond):
        loc = caller_location()
        _refuse_unstageable(unstageable, "a while loop on a tensor", loc)
        record("while", "graph", "condition is a symbolic tensor: tf.while_loop", loc)
        return _while_composites(test, body, state, names, loc, composites, appends)
    if context.recorder() is not None:
        record("while", "python", _python_reason(cond))
    while cond:
        state = body(*state)
        cond = truth(test(*state))
        if is_staged(cond):
            # The condition became a tensor (a variable became one in the
            # body): the iterations so far are unrolled, the rest is a graph loop.
            loc = caller_location()
            _refuse_unstageable(unstageable, "a while loop on a tensor", loc)
            record("while", "graph", "condition became a symbolic tensor after "
                                     "Python iterations: tf.while_loop", loc)
            return _while_composites(test, body, state, names, loc, composites, appends)
    return state


def _while_composites(test, body, state, names, loc, composites, appends=()):
    def build(composites, watch):
        b = watch.wrap(body)
        if not composites:
            return _tf_loop(test, b, state, names, loc, "the while loop", appends=appends)
        full, full_names, wrap, finish = carrying(composites, state, names)
        return finish(_tf_loop(wrap(test, returns_state=False), wrap(b), full, full_names,
                               loc, "the while loop", appends=appends))
    return mutations.carry((body,), loc, "the while loop", "while", composites, build)


def _tf_loop(test, body, state, names, loc, where, maximum_iterations=None,
             list_capacity=None, exact_steps=False, appends=()):
    """Build one tf.while_loop, learning first what must be learned.

    Python numbers among the state have no dtype yet: the body (and test) are
    traced once in a scratch graph to learn it (``_learn_in_scratch``). Other
    things a first build can learn (a shape that changes, a list that grows, a
    return value's type) throw that build away and build again, once.
    """
    loc_text = location_text(loc)
    sites = [Site(n, where, loc_text, loop=True) for n in names]
    slots = [slot_for(v) for v in state]
    options = LoopOptions(maximum_iterations)
    if context.in_scratch_trace():
        return _scratch_loop(test, body, state, names, slots, sites, loc, where, loc_text)
    slots = _apply_hints(slots, context.hint((loc, "loop", tuple(names))), loop=True)
    table = {}
    if any(_has_weak(s) for s in slots):
        slots, options = _learn_in_scratch(test, body, state, names, slots, sites, loc,
                                           where, loc_text, options, table)
    unguessed = [_size_list(s, list_capacity, exact_steps, n, where, loc_text)
                 for s, n in zip(slots, names)]
    guesses = []
    if not context.jit_compile() or (list_capacity is not None and exact_steps):
        # (Under XLA only where the list can be sized, as _size_list requires.)
        slots, guesses = _guess_lists(slots, state, names, appends, loc)
    slots = [_size_list(s, list_capacity, exact_steps, n, where, loc_text)
             for s, n in zip(slots, names)] if guesses else unguessed
    owner = object()    # marks the placeholders this loop's body sees (InLoop)
    learned_unbound = False
    with context.learning_hints(table):
        attempt = 0
        while attempt < _MAX_ATTEMPTS:
            with context.attempt() as att:
                try:
                    return _build_loop(test, body, state, names, slots, sites, loc, loc_text,
                                       where, options, list_capacity, owner,
                                       guesses=guesses, unguessed=unguessed)
                except InLoopRead as e:
                    # The body reads a variable first bound inside it (on an
                    # earlier iteration): learn its type in one scratch trace.
                    if e.owner is not owner or learned_unbound:
                        raise
                    att.discard()
                    learned_unbound = True
                    slots, options = _learn_in_scratch(test, body, state, names, slots, sites,
                                                       loc, where, loc_text, options, table)
                    slots = [_size_list(s, list_capacity, exact_steps, n, where, loc_text)
                             for s, n in zip(slots, names)]
                    guesses = [g for g in guesses
                               if any(getattr(s, "guess", None) is g for s in slots)]
                except _Learned as learned:
                    attempt += 1
                    att.discard()
                    _note_learned(slots, learned.slots, sites, loc, "a first build")
                    slots = [_size_list(s, list_capacity, exact_steps, n, where, loc_text)
                             for s, n in zip(learned.slots, names)]
                    options = learned.options or options
                    guesses = [g for g in guesses
                               if any(getattr(s, "guess", None) is g for s in slots)]
    raise StagingError(f"could not agree on the types of the variables of {where}",
                       location=loc_text)


def _guess_lists(slots, state, names, appends, loc):
    """Slots for the lists that enter the loop empty and that its body only
    appends to (``appends``, from the converter): a graph list whose element
    type is guessed from the state variable appended (its type on entry), so
    the loop is built once instead of learning the type in a first build
    thrown away. Each append checks the guess (``element_guess.py``); a wrong
    guess learns what the first build would (``_check_guesses``). Returns
    (slots, guesses)."""
    if not appends:
        return slots, []
    index = {n: i for i, n in enumerate(names)}
    out, guesses = list(slots), []
    for name, source in appends:
        i, j = index.get(name), index.get(source)
        if i is None or j is None or type(state[i]) is not list or state[i] or \
                not isinstance(slots[i], NestSlot) or not isinstance(slots[j], TensorSlot):
            continue
        spec = tf.TensorSpec(slots[j].shape, slots[j].dtype)
        guess = ElementGuess(spec, name, source)
        out[i] = ListSlot(spec, getattr(slots[i], "capacity", None), guess)
        guesses.append(guess)
        record("note", "note", f"list '{name}' enters the loop empty and is only appended "
                               f"to: accumulated in a TensorArray of {spec.dtype.name} "
                               f"{spec.shape} elements (the type of '{source}', checked at "
                               f"each append), without a first build to learn it", loc)
    return out, guesses


def _has_weak(slot):
    if isinstance(slot, WeakSlot):
        return True
    if isinstance(slot, NestSlot):
        return any(_has_weak(leaf) for leaf in slot.leaves if leaf is not None)
    return False


def _resolve(slot, site=None):
    """A slot with every Python number in it given the dtype it learned."""
    if isinstance(slot, (WeakSlot, NestSlot)):
        return slot.resolved(site)
    if isinstance(slot, UndefinedSlot) and slot.inner is not None:
        inner = _resolve(slot.inner, site)
        return slot if inner is slot.inner else UndefinedSlot(slot.value, inner)
    return slot


def _note_learned(old, new, sites, loc, how):
    learned = []
    for o, n, site in zip(old, new, sites):
        if _encodes_like(n, o):
            continue
        if isinstance(n, ListSlot):
            learned.append(f"list {site.shown} is accumulated in a TensorArray")
        elif isinstance(n, TensorSlot) and isinstance(o, WeakSlot):
            learned.append(f"{site.shown} (a Python {'float' if o.is_float else 'int'}) "
                           f"is carried as {n.dtype.name}")
        elif isinstance(n, TensorSlot) and isinstance(o, TensorSlot) and o.dtype == n.dtype:
            learned.append(f"shape of {site.shown} relaxed from {o.shape} to {n.shape} "
                           f"(it changes across iterations)")
        elif hasattr(n, "spec"):
            learned.append(f"{site.shown} relaxed to {n.spec} (its shape changes across "
                           f"iterations)")
        else:
            learned.append(f"the type of {site.shown} was learned")
    if learned:
        record("note", "note", f"learned in {how} of the loop body (traced once more to "
                               f"build the loop): " + "; ".join(learned), loc)


def _trace_scratch(test, body, state, slots, loc):
    """Trace ``test`` and ``body`` once on stand-ins of ``state``; return
    (stand-ins, outputs, loop options). Called inside a scratch graph."""
    with context.loop_options_scope() as opts:
        values = [s.scratch_value(v) for s, v in zip(slots, state)]
        context.count_trace(loc, "test")
        test(*values)
        context.count_trace(loc, "body")
        out = body(*values)
    return values, out, opts


def _learn_in_scratch(test, body, state, names, slots, sites, loc, where, loc_text,
                      options, table):
    """The one scratch trace of a loop site: learn the dtypes Python numbers take."""
    box = {}

    def scratch():
        context.mark_scratch_graph()
        with context.attempt(scratch=True), context.learning_hints(table):
            values, out, opts = _trace_scratch(test, body, state, slots, loc)
            box["out"] = _check_arity(out, names, where, loc_text)
            learn_from_body(values, out)
            box["opts"] = opts
            box["values"] = values

    try:
        tf.function(scratch, autograph=False).get_concrete_function()
    except (StagingError, mutations.Mutated):
        raise
    except Exception as e:  # noqa: BLE001 - the real build reports real errors
        record("note", "note", f"the scratch trace of the loop body failed "
                               f"({type(e).__name__}); Python numbers take TensorFlow's "
                               f"default dtypes", loc)
        return [_resolve(s, site) for s, site in zip(slots, sites)], options
    merged = merge_all(box["out"], slots, sites)
    learned = [_resolve(m, site) for m, site in zip(merged, sites)]
    _note_learned(slots, learned, sites, loc, "one scratch trace")
    return learned, options.updated(box["opts"], box["values"])


def _scratch_loop(test, body, state, names, slots, sites, loc, where, loc_text):
    """A loop inside a scratch trace: trace its body once, learn, hand back stand-ins."""
    values, out, _ = _trace_scratch(test, body, state, slots, loc)
    out = _check_arity(out, names, where, loc_text)
    learn_from_body(values, out)
    for s, v in zip(slots, values):
        if isinstance(s, WeakSlot) and isinstance(v, Weak):
            s.group = v.group
    merged = merge_all(out, slots, sites)
    context.set_hint((loc, "loop", tuple(names)), merged)
    return tuple(_stand_in(m, [o, v]) for m, o, v in zip(merged, out, state))


def _size_list(slot, capacity, exact_steps, name, where, loc_text):
    if not isinstance(slot, ListSlot) or slot.capacity is not None or \
            not context.jit_compile():
        return slot
    if capacity is None or not exact_steps:
        raise UnsupportedStagingError(
            f"list '{name}' grows inside {where} under jit_compile=True, but XLA needs the "
            f"final size up front and the number of iterations is not known before the loop",
            location=loc_text,
            hints=("loop with `for ... in range(n)` (or over a tensor) without `break`, "
                   "appending exactly once per iteration",
                   "or preallocate a tensor and write into it with "
                   "tensor_scatter_nd_update"))
    return ListSlot(slot.element, capacity, slot.guess, weak=getattr(slot, "weak", False))


class LoopOptions:
    """What ``tf.autograph.experimental.set_loop_options`` (or the loop itself) asks."""

    def __init__(self, maximum_iterations=None, requested=None, invariants=None):
        self.base = maximum_iterations          # the loop's own bound (XLA trip count)
        self.requested = requested              # set_loop_options(maximum_iterations=)
        self.invariants = invariants or {}      # state index -> TensorShape / TypeSpec

    @property
    def maximum_iterations(self):
        if self.requested is None:
            return self.base
        if self.base is None:
            return self.requested
        return tf.minimum(tf.cast(self.requested, tf.int32), tf.cast(self.base, tf.int32))

    def updated(self, recorded, inputs):
        """The options a body trace recorded (``recorded``: the arguments of its
        set_loop_options call; ``inputs``: the values the body was given)."""
        if not recorded:
            return self
        requested = recorded.get("maximum_iterations", self.requested)
        invariants = dict(self.invariants)
        for var, shape in recorded.get("shape_invariants", ()):
            for i, v in enumerate(inputs):
                if v is var:
                    invariants[i] = shape
                    break
        return LoopOptions(self.base, requested, invariants)

    def key(self):
        req = self.requested
        req_key = req if isinstance(req, int) else id(req)
        return (req_key, tuple(sorted((i, str(s)) for i, s in self.invariants.items())))


def _build_loop(test, body, state, names, slots, sites, loc, loc_text, where, options,
                list_capacity, owner=None, guesses=(), unguessed=None):
    init = [s.encode(v, entry=True) if s.carried else None for v, s in zip(state, slots)]
    live = [i for i, e in enumerate(init) if e is not None]
    live_set = set(live)

    def unpack(flat):
        values = []
        it = iter(flat)
        for i, s in enumerate(slots):
            if i in live_set:
                v = s.decode(next(it))
                if isinstance(v, GraphList):
                    v.static_count = 0
                    v.name = names[i]
                values.append(v)
            else:
                values.append(in_loop(s.decode(None), owner))
        return values

    def cond_fn(*flat):
        context.count_trace(loc, "test")
        c = test(*unpack(flat))
        return _as_bool_tensor(c, where, loc_text)

    def body_fn(*flat):
        context.count_trace(loc, "body")
        inputs = unpack(flat)
        for g in guesses:
            g.reset()
        with context.loop_options_scope() as recorded:
            out = body(*inputs)
        if not isinstance(out, tuple) or len(out) != len(names):
            raise StagingError(f"internal: {where} body returned {out!r}", location=loc_text)
        merged = merge_all(out, slots, sites)
        if guesses:
            merged = _check_guesses(merged, guesses, unguessed, sites, loc)
        new_options = options.updated(recorded, inputs)
        if any(not _encodes_like(m, s) for m, s in zip(merged, slots)) or (
                new_options.key() != options.key()):
            raise _Learned(merged, new_options)
        for i, v in enumerate(out):
            slot = slots[i]
            if isinstance(slot, ListSlot) and slot.capacity is not None and \
                    getattr(v, "static_count", 1) != 1:
                raise UnsupportedStagingError(
                    f"list '{names[i]}' is appended to a varying number of times per "
                    f"iteration of {where}; under jit_compile=True each iteration must "
                    f"append exactly once", location=loc_text,
                    hints=("append unconditionally, once per iteration",))
        return [slots[i].encode(out[i]) for i in live]

    maximum_iterations = options.maximum_iterations
    if not live:
        # Nothing to carry: the loop still runs for its side effects.
        counter = [tf.constant(0)]
        result = tf.while_loop(lambda k: cond_fn(), lambda k: (body_fn(), k + 1)[1], counter,
                               maximum_iterations=maximum_iterations,
                               name=op_name(where, loc))
        del result
        return _without_guesses(unpack([]), guesses)
    loop_vars = [init[i] for i in live]
    kwargs = {}
    if options.invariants or any(hasattr(slots[i], "spec") for i in live):
        invariants = []
        for i in live:
            given = options.invariants.get(i)
            if given is not None:
                invariants.append(given)
            else:
                invariants.append(slots[i].invariant(init[i]))
        kwargs["shape_invariants"] = invariants
    result = tf.while_loop(cond_fn, body_fn, loop_vars, maximum_iterations=maximum_iterations,
                           name=op_name(where, loc), **kwargs)
    if not isinstance(result, (list, tuple)):
        result = [result]
    return _without_guesses(unpack(result), guesses)


def _check_guesses(merged, guesses, unguessed, sites, loc):
    """The merged slots of a body traced with guessed list elements: a guess
    that did not hold is replaced by what a first build with the Python list
    learns (a graph list of the last value's type; the Python list itself if
    nothing was appended), which throws this build away."""
    merged = list(merged)
    for i, slot in enumerate(merged):
        g = getattr(slot, "guess", None)
        if g is None or g not in guesses or g.holds:
            continue
        record("note", "note", f"the element type guessed for list '{g.name}' (that of "
                               f"'{g.source}') did not hold: learned in a first build", loc)
        if g.appended:
            merged[i] = ListSlot(_list_element([[g.last]], sites[i]), slot.capacity)
        else:
            merged[i] = unguessed[i]
    return merged


def _without_guesses(values, guesses):
    """The loop's results, its graph lists no longer checking its guesses."""
    for v in values:
        if isinstance(v, GraphList) and v.guess is not None and v.guess in guesses:
            v.guess = None
    return tuple(values)


# -------------------------------------------------------------------------- for

def for_stmt(iterable, body, state, names, extra_test=None, unstageable=None,
             composites=None, appends=()):
    """``for x in iterable: state = body(x, *state)``, stopping early when
    ``extra_test(*state)`` (the lowered ``break``) becomes false. ``appends``:
    as for ``while_stmt``."""
    graph_iter = iterables.as_graph_iterable(iterable)
    if graph_iter is not None:
        loc = caller_location()
        _refuse_unstageable(unstageable, "a for loop over a tensor", loc)
        record("for", "graph", f"iterates {graph_iter.description}: tf.while_loop", loc)
        def build(composites, watch):
            b = watch.wrap(body)
            if composites:
                full, full_names, wrap, finish = carrying(composites, state, names)
                return finish(_tf_for(graph_iter, wrap(b, lead=1), full, full_names,
                                      extra_test and wrap(extra_test, returns_state=False),
                                      loc, appends))
            return _tf_for(graph_iter, b, state, names, extra_test, loc, appends)
        return mutations.carry((body,), loc, "the for loop", "for", composites, build)
    if context.recorder() is not None:
        record("for", "python", f"iterates {describe_iterable(iterable)}")
    it = iter(iterable)
    while True:
        if extra_test is not None:
            go = extra_test(*state)
            if is_staged(go):
                # `break` now depends on a tensor: the remaining iterations
                # each run under a tf.cond on the break flag.
                loc = caller_location()
                record("for", "graph", "break condition became a symbolic tensor: "
                                       "remaining Python iterations run under tf.cond", loc)
                return _python_for_guarded(it, body, state, names, extra_test, loc,
                                           composites)
            if not go:
                return state
        try:
            value = next(it)
        except StopIteration:
            return state
        state = body(value, *state)


def _python_for_guarded(it, body, state, names, extra_test, loc, composites=None):
    for value in it:
        go = extra_test(*state)
        if is_staged(go):
            step = lambda *s, v=value: body(v, *s)  # noqa: E731
            if composites:
                full, full_names, wrap, finish = carrying(composites, state, names)
                state = finish(_tf_if(go, wrap(step), wrap(None), full, full_names, loc,
                                      "the for loop"))
            else:
                state = _tf_if(go, step, None, state, names, loc, "the for loop")
        elif not go:
            return state
        else:
            state = body(value, *state)
    return state


def describe_iterable(iterable):
    if isinstance(iterable, range):
        return "a Python range"
    if tf.is_tensor(iterable):
        return describe(iterable)
    return f"a Python {type(iterable).__name__}"


def _tf_for(graph_iter, body, state, names, extra_test, loc, appends=()):
    if isinstance(graph_iter, iterables.DatasetIterable):
        return _tf_dataset_for(graph_iter, body, state, names, extra_test, loc, appends)
    def with_extra(go, s):
        if extra_test is not None:
            more = extra_test(*s)
            if more is not True:
                go = tf.logical_and(go, tf.convert_to_tensor(more))
        return go

    xla = context.jit_compile()
    step = getattr(graph_iter, "static_step", None)
    if step is not None and not xla:
        # range(start, stop, <Python int>): the loop carries the value itself,
        # as a hand-written while loop would (no index, no trip count).
        stop = graph_iter.stop

        def range_test(v, *s):
            return with_extra(v < stop if step > 0 else v > stop, s)

        def range_body(v, *s):
            return (v + step,) + tuple(body(v, *s))

        out = _tf_loop(range_test, range_body, (graph_iter.start,) + tuple(state),
                       ("<iteration>",) + tuple(names), loc, "the for loop", appends=appends)
        return out[1:]

    n = graph_iter.size()
    k0 = tf.constant(0, dtype=n.dtype)

    def test(k, *s):
        return with_extra(k < n, s)

    def loop_body(k, *s):
        return (k + 1,) + tuple(body(graph_iter.get(k), *s))

    # The trip count bounds the loop for XLA (and sizes its list accumulators).
    out = _tf_loop(test, loop_body, (k0,) + tuple(state), ("<iteration>",) + tuple(names), loc,
                   "the for loop", maximum_iterations=n if xla else None, list_capacity=n,
                   exact_steps=extra_test is None, appends=appends)
    return out[1:]


def _tf_dataset_for(graph_iter, body, state, names, extra_test, loc, appends=()):
    iterator = iter(graph_iter.dataset)
    first = iterator.get_next_as_optional()

    def test(opt, *s):
        go = opt.has_value()
        if extra_test is not None:
            more = extra_test(*s)
            if more is not True:
                go = tf.logical_and(go, tf.convert_to_tensor(more))
        return go

    def loop_body(opt, *s):
        value = graph_iter.transform(opt.get_value())
        new = tuple(body(value, *s))
        return (iterator.get_next_as_optional(),) + new

    out = _tf_loop(test, loop_body, (first,) + tuple(state), ("<iterator>",) + tuple(names),
                   loc, "the for loop over a dataset", appends=appends)
    return out[1:]


# ----------------------------------------------------------- set_loop_options

_UNSET = object()


def set_loop_options(parallel_iterations=_UNSET, swap_memory=_UNSET,
                     maximum_iterations=_UNSET, shape_invariants=_UNSET):
    """``tf.autograph.experimental.set_loop_options`` in a converted loop body.

    ``maximum_iterations`` bounds the graph loop; ``shape_invariants`` is a
    list of ``(variable, shape)`` pairs (a ``tf.TensorShape`` or, for a
    SparseTensor / RaggedTensor, a ``TypeSpec``) for loop variables whose
    shape changes. ``parallel_iterations`` and ``swap_memory`` are accepted and
    ignored (TensorFlow 2 chooses them). Outside a graph loop it does nothing,
    as in TensorFlow.
    """
    del parallel_iterations, swap_memory
    options = {}
    if maximum_iterations is not _UNSET:
        options["maximum_iterations"] = maximum_iterations
    if shape_invariants is not _UNSET:
        options["shape_invariants"] = [
            (var, shape if isinstance(shape, tf.TypeSpec) else tf.TensorShape(shape))
            for var, shape in shape_invariants]
    context.set_loop_options(**options)
