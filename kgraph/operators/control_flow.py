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
from kgraph.errors import StagingError
from kgraph.operators import iterables
from kgraph.operators.lists import GraphList
from kgraph.operators.staging import (caller_location, describe, is_staged,
                                      location_text, record)
from kgraph.operators.state import (Respec, Slot, decode, encode, slot_for, unify,
                                    unify_all)

_MAX_RESPECS = 16


def _python_reason(value):
    return f"condition is {describe(value)}"


# --------------------------------------------------------------------------- if

def if_stmt(test, body, orelse, state, names, unstageable=None):
    """``if test: body else: orelse`` over the state variables ``names``."""
    if is_staged(test):
        loc = caller_location()
        _refuse_unstageable(unstageable, "an if statement on a tensor", loc)
        record("if", "graph", "condition is a symbolic tensor: tf.cond", loc)
        return _tf_if(test, body, orelse, state, names, loc, "the if statement")
    if context.recorder() is not None:
        record("if", "python", _python_reason(test))
    if test:
        return body(*state)
    return orelse(*state) if orelse is not None else state


def if_exp(test, if_true, if_false):
    """``if_true() if test else if_false()`` with lazily evaluated branches."""
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
    # any Python list it may append to.
    return tuple(list(v) if type(v) is list else v for v in state)


def _tf_if(test, body, orelse, state, names, loc, where):
    loc_text = location_text(loc)
    test = _as_bool_tensor(test, where, loc_text)
    slots = None
    state = list(state)

    def true_fn():
        nonlocal slots
        out = _check_arity(body(*_copy_lists(state)), names, where, loc_text)
        if slots is None:
            slots = [slot_for(v) for v in out]
        else:
            unify_all(out, names, slots, where, loc_text)
        return _pack(out, slots)

    def false_fn():
        if orelse is None:
            out = tuple(state)
        else:
            out = _check_arity(orelse(*_copy_lists(state)), names, where, loc_text)
        unify_all(out, names, slots, where, loc_text)
        return _pack(out, slots)

    for _ in range(_MAX_RESPECS):
        try:
            result = tf.cond(test, true_fn, false_fn)
            return _unpack(result, slots)
        except Respec as r:
            slots[r.index] = r.slot
            if r.slot.kind == "list" and isinstance(state[r.index], list):
                # A list appended to in one branch only: both branches must
                # see (and return) the same TensorArray-backed list.
                state[r.index] = GraphList.from_python(state[r.index], r.slot.element)
    raise StagingError(f"could not agree on the types of the variables of {where}",
                       location=loc_text)


def _pack(values, slots):
    packed = [encode(v, s) for v, s in zip(values, slots)]
    packed = [p for p in packed if p is not None]
    return packed if packed else None


def _unpack(result, slots):
    if result is None:
        result = []
    elif not isinstance(result, (list, tuple)):
        result = [result]
    it = iter(result)
    out = []
    for s in slots:
        if s.kind == "same" or (s.kind == "undefined" and s.template is None):
            out.append(decode(None, s))
        else:
            out.append(decode(next(it), s))
    return tuple(out)


def _check_arity(out, names, where, loc_text):
    if not isinstance(out, tuple) or len(out) != len(names):
        raise StagingError(f"internal: {where} produced {out!r} for {names}", location=loc_text)
    return out


def _as_bool_tensor(test, where, loc_text):
    if isinstance(test, tf.data.Dataset):
        raise StagingError(f"the condition of {where} is a tf.data.Dataset",
                           location=loc_text)
    test = tf.convert_to_tensor(test)
    if test.dtype != tf.bool:
        test = tf.cast(test, tf.bool) if test.shape.rank == 0 else test
    if test.shape.rank not in (0, None):
        raise StagingError(
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
        raise StagingError(
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

def while_stmt(test, body, state, names, unstageable=None):
    """``while test(*state): state = body(*state)``."""
    cond = test(*state)
    if is_staged(cond):
        loc = caller_location()
        _refuse_unstageable(unstageable, "a while loop on a tensor", loc)
        record("while", "graph", "condition is a symbolic tensor: tf.while_loop", loc)
        return _tf_loop(test, body, state, names, loc, "the while loop")
    if context.recorder() is not None:
        record("while", "python", _python_reason(cond))
    while cond:
        state = body(*state)
        cond = test(*state)
        if is_staged(cond):
            # The condition became a tensor (a variable became one in the
            # body): the iterations so far are unrolled, the rest is a graph loop.
            loc = caller_location()
            _refuse_unstageable(unstageable, "a while loop on a tensor", loc)
            record("while", "graph", "condition became a symbolic tensor after "
                                     "Python iterations: tf.while_loop", loc)
            return _tf_loop(test, body, state, names, loc, "the while loop")
    return state


def _tf_loop(test, body, state, names, loc, where, maximum_iterations=None,
             list_capacity=None, exact_steps=False):
    """Build one tf.while_loop; retry with better specs when the body teaches us."""
    loc_text = location_text(loc)
    slots = [slot_for(v) for v in state]
    learned = False
    for _ in range(_MAX_RESPECS):
        try:
            return _build_loop(test, body, state, names, slots, loc, loc_text, where,
                               maximum_iterations, list_capacity, exact_steps)
        except (TypeError, ValueError):
            # A variable that starts as a Python number got a dtype guess
            # (0 -> int32) that the body contradicts (`s += int64_tensor`).
            # Learn the dtypes the body really produces, once, and retry.
            if learned or not any(s.from_python for s in slots):
                raise
            learned = True
            if not _learn_python_dtypes(body, state, slots):
                raise
        except Respec as r:
            slot = r.slot
            if slot.kind == "list":
                slot = _size_list(slot, list_capacity, exact_steps, names[r.index], where,
                                  loc_text)
            slots[r.index] = slot
            if r.note:
                record("note", "note", r.note, loc)
    raise StagingError(f"could not agree on the types of the variables of {where}",
                       location=loc_text)


def _learn_python_dtypes(body, state, slots):
    """Trace the body once, in a scratch graph, with Python numbers left as
    Python numbers; adopt the dtypes it gives them. True if anything changed."""
    outputs = []

    def scratch():
        out = body(*_copy_lists(state))
        outputs.append(out)
        return None

    try:
        tf.function(scratch, autograph=False).get_concrete_function()
    except Exception:  # noqa: BLE001 - the caller re-raises the original error
        return False
    changed = False
    for i, (slot, value) in enumerate(zip(slots, outputs[0])):
        if slot.from_python and tf.is_tensor(value) and value.dtype != slot.dtype:
            slots[i] = Slot("tensor", dtype=value.dtype, shape=slot.shape, from_python=False)
            changed = True
    return changed


def _size_list(slot, capacity, exact_steps, name, where, loc_text):
    if not context.jit_compile():
        return slot
    if capacity is None or not exact_steps:
        raise StagingError(
            f"list '{name}' grows inside {where} under jit_compile=True, but XLA needs the "
            f"final size up front and the number of iterations is not known before the loop",
            location=loc_text,
            hints=("loop with `for ... in range(n)` (or over a tensor) without `break`, "
                   "appending exactly once per iteration",
                   "or preallocate a tensor and write into it with "
                   "tensor_scatter_nd_update"))
    return Slot("list", element=slot.element, value="capacity")


def _build_loop(test, body, state, names, slots, loc, loc_text, where, maximum_iterations,
                list_capacity, exact_steps):
    capacity = list_capacity if context.jit_compile() else None

    def lists_capacity(s):
        return capacity if s.kind == "list" and s.value == "capacity" else None

    def entry(v, s):
        if s.kind == "list" and not isinstance(v, GraphList):
            return GraphList.from_python(v, s.element, lists_capacity(s)).to_flow()
        return encode(v, s, entry=True)

    init = [entry(v, s) for v, s in zip(state, slots)]
    live = [i for i, e in enumerate(init) if e is not None]

    def unpack(flat):
        values = []
        it = iter(flat)
        for i, s in enumerate(slots):
            if i in live_set:
                v = decode(next(it), s)
                if isinstance(v, GraphList):
                    v.capacity = lists_capacity(s)
                    v.static_count = 0
                    v.name = names[i]
                values.append(v)
            else:
                values.append(decode(None, s))
        return values

    live_set = set(live)

    def cond_fn(*flat):
        c = test(*unpack(flat))
        return _as_bool_tensor(c, where, loc_text)

    def body_fn(*flat):
        out = body(*unpack(flat))
        if not isinstance(out, tuple) or len(out) != len(names):
            raise StagingError(f"internal: {where} body returned {out!r}", location=loc_text)
        for i, v in enumerate(out):
            unify(i, names[i], slots[i], v, where, loc_text, loop=True)
            if i not in live_set and slots[i].kind not in ("same", "undefined"):
                raise AssertionError("slot became live without respec")
            if lists_capacity(slots[i]) is not None and getattr(v, "static_count", 1) != 1:
                raise StagingError(
                    f"list '{names[i]}' is appended to a varying number of times per "
                    f"iteration of {where}; under jit_compile=True each iteration must "
                    f"append exactly once", location=loc_text,
                    hints=("append unconditionally, once per iteration",))
        return [encode(out[i], slots[i]) for i in live]

    if not live:
        # Nothing to carry: the loop still runs for its side effects.
        counter = [tf.constant(0)]
        result = tf.while_loop(lambda k: cond_fn(), lambda k: (body_fn(), k + 1)[1], counter,
                               maximum_iterations=maximum_iterations)
        del result
        return tuple(unpack([]))
    result = tf.while_loop(cond_fn, body_fn, [init[i] for i in live],
                           maximum_iterations=maximum_iterations)
    if not isinstance(result, (list, tuple)):
        result = [result]
    return tuple(unpack(result))


# -------------------------------------------------------------------------- for

def for_stmt(iterable, body, state, names, extra_test=None, unstageable=None):
    """``for x in iterable: state = body(x, *state)``, stopping early when
    ``extra_test(*state)`` (the lowered ``break``) becomes false."""
    graph_iter = iterables.as_graph_iterable(iterable)
    if graph_iter is not None:
        loc = caller_location()
        _refuse_unstageable(unstageable, "a for loop over a tensor", loc)
        record("for", "graph", f"iterates {graph_iter.description}: tf.while_loop", loc)
        return _tf_for(graph_iter, body, state, names, extra_test, loc)
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
                return _python_for_guarded(it, body, state, names, extra_test, loc)
            if not go:
                return state
        try:
            value = next(it)
        except StopIteration:
            return state
        state = body(value, *state)


def _python_for_guarded(it, body, state, names, extra_test, loc):
    for value in it:
        go = extra_test(*state)
        if is_staged(go):
            state = _tf_if(go, lambda *s, v=value: body(v, *s), None, state, names, loc,
                           "the for loop")
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


def _tf_for(graph_iter, body, state, names, extra_test, loc):
    if isinstance(graph_iter, iterables.DatasetIterable):
        return _tf_dataset_for(graph_iter, body, state, names, extra_test, loc)
    n = graph_iter.size()
    k0 = tf.constant(0, dtype=n.dtype)

    def test(k, *s):
        go = k < n
        if extra_test is not None:
            more = extra_test(*s)
            if more is not True:
                go = tf.logical_and(go, tf.convert_to_tensor(more))
        return go

    def loop_body(k, *s):
        return (k + 1,) + tuple(body(graph_iter.get(k), *s))

    out = _tf_loop(test, loop_body, (k0,) + tuple(state), ("<iteration>",) + tuple(names), loc,
                   "the for loop", maximum_iterations=n, list_capacity=n,
                   exact_steps=extra_test is None)
    return out[1:]


def _tf_dataset_for(graph_iter, body, state, names, extra_test, loc):
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
                   loc, "the for loop over a dataset")
    return out[1:]
