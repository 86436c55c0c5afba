"""Composite targets (``a[i]``, ``d['k']``, ``obj.attr``) as control-flow state.

Generated code gives a staged ``if``/``while``/``for`` two small functions
over the composite targets its block writes::

    def get_state_1():
        return (kg__.read_item(pair, 0), kg__.read_item(pair, 1))

    def set_state_1(values_2):
        kg__.write_item(pair, 0, values_2[0])
        kg__.write_item(pair, 1, values_2[1])

    pair = ... kg__.if_stmt(x > 0, if_body_1, else_body_1, (), (),
                            composites=(get_state_1, set_state_1, ('pair[0]', 'pair[1]')))

Only when the statement becomes graph control flow are they used: the
targets' values join the state tuple, every branch or iteration starts by
writing its inputs into the objects (so the ``else`` branch never sees what
the traced ``if`` branch wrote), ends by reading them back, and after the
``tf.cond``/``tf.while_loop`` the results are written into the objects, as
Python would have left them. A target that does not exist yet (a dict key or
an attribute first set in the block) reads as ``Undefined``: set in both
branches it works like a name, set in a loop it is reported at the user's line.
"""

from __future__ import annotations

import threading

from kgraph.operators.lists import GraphList
from kgraph.operators.undefined import Undefined


def read_item(obj, key):
    note_read(obj, "item", key)
    try:
        return obj[key]
    except (KeyError, IndexError):
        return Undefined(_item_text(obj, key))


def read_attr(obj, attr):
    note_read(obj, "attr", attr)
    try:
        return getattr(obj, attr)
    except AttributeError:
        return Undefined(attr)


# While ``operators/mutations.py`` asks which elements a statement's getter
# reads (so that it does not learn them again), each read is noted here.
_reads = threading.local()


def note_read(obj, kind, key):
    out = getattr(_reads, "out", None)
    if out is not None:
        out.append((id(obj), kind, key))


def write_item(obj, key, value):
    if isinstance(value, Undefined):
        # The key did not exist before the statement: it must not exist now.
        if isinstance(obj, dict):
            obj.pop(key, None)
        return
    if isinstance(obj, GraphList):
        obj.scoped_setitem(key, value)   # see GraphList._contents
        return
    obj[key] = value


def write_attr(obj, attr, value):
    if isinstance(value, Undefined):
        if attr in getattr(obj, "__dict__", {}):
            delattr(obj, attr)
        return
    if getattr(obj, attr, _MISSING) is value:
        return   # unchanged: do not trigger setters (Keras attribute tracking)
    setattr(obj, attr, value)


_MISSING = object()


def _item_text(obj, key):
    return f"[{key!r}]"


def carrying(composites, state, names):
    """State, names and a function wrapper for a statement that carries the
    composite targets ``composites = (get, put, texts)`` as state after the
    ``len(state)`` plain variables; ``finish(out)`` writes the results back
    and returns the plain variables' part."""
    get, put, texts = composites
    n = len(state)

    def wrap(fn, lead=0, returns_state=True):
        if fn is None:
            fn = _identity
        def wrapped(*args):
            head, values = args[:lead], args[lead:]
            put(values[n:])
            out = fn(*head, *values[:n])
            if not returns_state:
                return out
            return tuple(out) + tuple(get())
        wrapped.__name__ = getattr(fn, "__name__", "body")
        return wrapped

    def finish(out):
        out = tuple(out)
        put(out[n:])
        return out[:n]

    return tuple(state) + tuple(get()), tuple(names) + tuple(texts), wrap, finish


def _identity(*state):
    return state
