"""In-place changes that tensor control flow must carry: found while tracing.

The converter carries the composite targets a block *assigns*
(``d['k'] = v``, ``obj.n += 1``: ``operators/composites.py``). Other in-place
changes are invisible to it: a dict method (``d.update(...)``, ``d.pop(k)``,
``d.setdefault``, ``d.clear()``, ``d.popitem()``), a list method on a Python
list, a set method, ``setattr``, or any of these made by a helper function the
block calls (``bump(stats, v)`` doing ``stats['n'] += v``, a method doing
``self.count += 1``). Traced inside a ``tf.cond`` branch they would survive
whichever branch runs; inside a ``tf.while_loop`` body they leave tensors of
the body graph in Python objects (``InaccessibleTensorError`` later).

So each graph ``if``/``while``/``for`` *watches* the Python objects its bodies
can reach before they run: the closure variables and the globals the body's
code names, and, inside them, dicts, lists, sets, tuples and instances of the
user's own classes (for Keras layers and other framework objects: their own
attributes, not the framework's). Every trace of a branch or body takes a
snapshot (identities, not copies of values), runs, and compares:

* an element or attribute whose value changed (a dict key, a list index, an
  attribute; added or removed too) is *learned*: the trace is thrown away and
  the statement is built again carrying that element as state, exactly as if
  the block had assigned it (``d['k']``, ``obj.attr``), with the same rules
  and errors (both branches must agree on its kind; a key first added in a
  loop is an error). What was learned is kept per statement, so the next trace
  of the same statement carries it at once.
* a Python list whose length changes, or a set that changes, cannot be carried
  in place: ``UnsupportedStagingError`` (a ``NotImplementedError``) at the
  statement, naming the container and the calls the block made.

The watch is a trace-time cost only (a walk over the reachable objects per
branch trace, bounded in depth and size); nothing of it reaches the graph.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import types

import numpy as np
import tensorflow as tf

from kgraph.errors import StagingError, UnsupportedStagingError
from kgraph.operators import composites as _composites
from kgraph.operators.lists import GraphList

_MAX_DEPTH = 4          # root -> container -> container -> ...
_MAX_OBJECTS = 2000     # objects snapshotted per watch, at most
_MAX_ATTEMPTS = 4       # builds of one statement while learning what it changes
_SCALARS = (int, float, complex, bool, str, bytes, type(None))

_local = threading.local()
# (loc, construct) -> list of learned paths (texts are computed from them)
_learned = {}


class Mutated(Exception):
    """Internal: a trace changed Python objects in place; build again carrying them."""

    def __init__(self, paths):
        super().__init__("mutated")
        self.paths = paths


# ------------------------------------------------------------------ paths

# A path is a tuple: (root name, step, step, ...), a step ("item", key) or
# ("attr", name). The last step is the carried element.

def path_text(path):
    out = path[0]
    for kind, key in path[1:]:
        out += f".{key}" if kind == "attr" else f"[{key!r}]"
    return out


def _resolve(roots, path):
    """The container holding ``path``'s last step, or None."""
    obj = roots.get(path[0], _MISSING)
    if obj is _MISSING:
        return None
    for kind, key in path[1:-1]:
        try:
            obj = getattr(obj, key) if kind == "attr" else obj[key]
        except (AttributeError, KeyError, IndexError, TypeError):
            return None
    return obj


_MISSING = object()


# ------------------------------------------------------------------ roots

def _roots(fns):
    """{name: object} the functions can reach by name: closure cells and the
    globals their code (and nested code) names."""
    roots = {}
    for fn in fns:
        fn = getattr(fn, "__kgraph_watched__", fn)
        code = getattr(fn, "__code__", None)
        if code is None:
            continue
        for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
            try:
                roots.setdefault(name, cell.cell_contents)
            except ValueError:   # an empty cell: not bound yet
                pass
        g = getattr(fn, "__globals__", {})
        for name in _names(code):
            if name in g and name not in roots:
                roots[name] = g[name]
    return {k: v for k, v in roots.items() if _watchable(v)}


def _names(code):
    out = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            out |= _names(c)
    return out


def _codes(code, out):
    out.add(code)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            _codes(c, out)
    return out


def _watchable(v):
    if isinstance(v, _SCALARS) or isinstance(v, (types.ModuleType, types.FunctionType,
                                                  types.BuiltinFunctionType, type,
                                                  types.MethodType, tf.Tensor, tf.Variable,
                                                  GraphList, np.ndarray, np.generic)):
        return False
    return isinstance(v, (dict, list, set, tuple)) or _user_object(v)


_user_types = {}


def _user_object(v):
    """An instance of a class from the user's own code (kgraph's one rule for
    "user code"), not a function or class."""
    t = type(v)
    hit = _user_types.get(t)
    if hit is None:
        hit = _user_types[t] = hasattr(v, "__dict__") and _user_class(t)
    return hit


def _user_class(t):
    """Decided by the file of the class's own methods (a module loaded from a
    file without entering ``sys.modules`` still has them), else its module's."""
    from kgraph.convert import policy
    for klass in t.__mro__:
        if klass is object:
            break
        for member in vars(klass).values():
            code = getattr(getattr(member, "__func__", member), "__code__", None)
            if isinstance(code, types.CodeType):
                return policy.is_user_file(code.co_filename)
    module = sys.modules.get(getattr(t, "__module__", None) or "")
    if module is None:
        return getattr(t, "__module__", None) not in ("builtins",)
    filename = getattr(module, "__file__", None)
    return bool(filename) and policy.is_user_file(filename)


_framework = None


def _framework_attrs():
    """Attributes Keras sets on its layers and models itself (not the user's state)."""
    global _framework
    if _framework is None:
        names = {"built", "name", "autocast", "supports_jit", "activity_regularizer",
                 "call_signature_parameters", "build", "quantize", "compiled",
                 "optimizer", "loss", "stop_training", "history", "steps_per_execution",
                 "train_function", "test_function", "predict_function", "trainable",
                 "jit_compile", "input_spec", "dtype_policy"}
        try:
            import keras
            with tf.init_scope():
                names |= set(vars(keras.layers.Layer()))
                names |= set(vars(keras.Model()))
        except Exception:  # noqa: BLE001 - a smaller set is still correct for user attrs
            pass
        _framework = names
    return _framework


_framework_types = {}


def _is_framework(obj):
    """A user class built on a Keras / TensorFlow one (a layer, a model, a module)."""
    t = type(obj)
    hit = _framework_types.get(t)
    if hit is None:
        hit = _framework_types[t] = any(
            (getattr(c, "__module__", None) or "").startswith(("keras", "tensorflow",
                                                               "tf_keras"))
            for c in t.__mro__[1:])
    return hit


# --------------------------------------------------------------- snapshot

class _Record:
    __slots__ = ("obj", "kind", "contents", "path")

    def __init__(self, obj, kind, contents, path):
        self.obj = obj
        self.kind = kind
        self.contents = contents
        self.path = path


def _attrs(obj):
    d = getattr(obj, "__dict__", None)
    if not isinstance(d, dict):
        return None
    if _is_framework(obj):
        skip = _framework_attrs()
        return {k: v for k, v in d.items() if k not in skip and not k.startswith("_self_")}
    return dict(d)


def snapshot(roots, records=None, seen=None):
    """Records of the containers reachable from ``roots`` (appended to
    ``records``; objects whose id is in ``seen`` are skipped)."""
    records = [] if records is None else records
    seen = set() if seen is None else seen

    def visit(obj, path, depth):
        if len(records) >= _MAX_OBJECTS or id(obj) in seen or not _watchable(obj):
            return
        seen.add(id(obj))
        if isinstance(obj, dict):
            items = list(obj.items())
            records.append(_Record(obj, "dict", items, path))
            children = [(("item", k), v) for k, v in items]
        elif isinstance(obj, list):
            items = list(obj)
            records.append(_Record(obj, "list", items, path))
            children = [(("item", i), v) for i, v in enumerate(items)]
        elif isinstance(obj, set):
            records.append(_Record(obj, "set", set(obj), path))
            children = []
        elif isinstance(obj, tuple):
            children = [(("item", i), v) for i, v in enumerate(obj)]
        else:
            attrs = _attrs(obj)
            if attrs is None:
                return
            records.append(_Record(obj, "attrs", attrs, path))
            children = [(("attr", k), v) for k, v in attrs.items()]
        if depth < _MAX_DEPTH:
            for step, v in children:
                visit(v, path + (step,), depth + 1)

    for name, obj in roots.items():
        visit(obj, (name,), 0)
    return records


def _same(a, b):
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, _SCALARS):
        return a == b
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return False


class _Change:
    __slots__ = ("path", "kind", "key", "obj")

    def __init__(self, path, kind, key, obj):
        self.path, self.kind, self.key, self.obj = path, kind, key, obj


def changes(records):
    """What changed since the snapshot: carriable element changes, and the
    containers that cannot be carried (a list changing length, a set)."""
    out = []
    for r in records:
        obj, kind = r.obj, r.kind
        if kind == "dict":
            before = dict(r.contents) if _hashable_keys(r.contents) else None
            if before is None:
                continue
            for k in set(before) | set(obj.keys()):
                if k not in obj or k not in before or not _same(before[k], obj[k]):
                    out.append(_Change(r.path + (("item", k),), "item", k, obj))
        elif kind == "list":
            if len(obj) != len(r.contents):
                out.append(_Change(r.path, "length", None, obj))
                continue
            for i, (a, b) in enumerate(zip(r.contents, obj)):
                if not _same(a, b):
                    out.append(_Change(r.path + (("item", i),), "item", i, obj))
        elif kind == "set":
            if obj != r.contents:
                out.append(_Change(r.path, "set", None, obj))
        else:
            now = _attrs(obj) or {}
            for k in set(r.contents) | set(now):
                if k not in now or k not in r.contents or not _same(r.contents[k], now[k]):
                    out.append(_Change(r.path + (("attr", k),), "attr", k, obj))
    return out


def _hashable_keys(items):
    try:
        dict(items)
        return True
    except TypeError:
        return False


def restore(records):
    """Put every snapshotted container back as it was (in place)."""
    for r in reversed(records):
        obj = r.obj
        try:
            if r.kind == "dict":
                if len(obj) != len(r.contents) or any(
                        obj.get(k, _MISSING) is not v for k, v in r.contents):
                    obj.clear()
                    obj.update(r.contents)
            elif r.kind == "list":
                if len(obj) != len(r.contents) or any(
                        a is not b for a, b in zip(obj, r.contents)):
                    obj[:] = r.contents
            elif r.kind == "set":
                if obj != r.contents:
                    obj.clear()
                    obj.update(r.contents)
            else:
                now = _attrs(obj) or {}
                for k in set(now) - set(r.contents):
                    delattr(obj, k)
                for k, v in r.contents.items():
                    if now.get(k, _MISSING) is not v:
                        setattr(obj, k, v)
        except Exception:  # noqa: BLE001 - best effort: the error being raised matters more
            pass


# ------------------------------------------------------------------ watch

class Watch:
    """The objects one graph statement's bodies can reach, and what it carries."""

    def __init__(self, fns, loc, where):
        self.fns = [f for f in fns if f is not None]
        self.loc = loc
        self.where = where
        self.roots = _roots(self.fns)
        self.codes = set()
        for f in self.fns:
            code = getattr(f, "__code__", None)
            if code is not None:
                _codes(code, self.codes)
        self.carried = set()   # (id(container), kind, key) carried by the statement
        self.calls = []        # (callee name, line) made by the bodies themselves

    def wrap(self, fn):
        if fn is None:
            return fn
        watch = self

        def watched(*args):
            records, seen = [], set()
            snapshot(watch.roots, records, seen)
            _stack().append((watch, records, seen))
            try:
                out = fn(*args)
            finally:
                _stack().pop()
            found = [c for c in changes(records)
                     if (id(c.obj), c.kind, c.key) not in watch.carried]
            if found:
                restore(records)
                watch.refuse([c for c in found if c.kind in ("length", "set")])
                raise Mutated([c.path for c in found])
            return out

        watched.__name__ = getattr(fn, "__name__", "body")
        watched.__kgraph_watched__ = fn
        return watched

    def refuse(self, bad):
        if not bad:
            return
        c = bad[0]
        text = path_text(c.path)
        from kgraph.operators.staging import location_text
        if c.kind == "length":
            what = (f"the Python list {text} changes length inside {self.where}: a "
                    f"Python list cannot grow or shrink in place by graph control flow")
            hints = ("build the list in the loop's own body (xs.append(v) there makes it a "
                     "graph list), or return a new list from the helper and assign it",
                     "or use a tf.TensorArray")
        else:
            what = (f"the set {text} is changed inside {self.where}: a Python set cannot "
                    f"be changed by graph control flow (both branches are traced, the "
                    f"loop body once)")
            hints = ("decide the change in Python, or keep a boolean tensor per member "
                     "(e.g. with tf.where)",)
        raise UnsupportedStagingError(what + self._by(), location=location_text(self.loc),
                                      hints=hints)

    def _by(self):
        calls = list(dict.fromkeys(self.calls))
        if not calls:
            return ""
        shown = ", ".join(f"{name}() at line {line}" for name, line in calls[:3])
        more = " ..." if len(calls) > 3 else ""
        return f" (changed by a call it makes: {shown}{more})"


def _stack():
    s = getattr(_local, "stack", None)
    if s is None:
        s = _local.stack = []
    return s


def note_call(f, args, kwargs):
    """Called by ``kg__.call`` before it calls ``f``: remember the calls a
    watched body makes itself (for error messages), and watch, from now on,
    what the callee reaches that the body's own names did not: its arguments
    (named by its parameters) and the globals and closure variables of a
    function of the user's own code."""
    stack = getattr(_local, "stack", None)
    if not stack:
        return
    watch = stack[-1][0]
    frame = sys._getframe(2)
    if frame.f_code in watch.codes:
        name = getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)
        watch.calls.append((name, frame.f_lineno))
    new = _callee_roots(f, args, kwargs)
    if not new:
        return
    for watch, records, seen in stack:
        added = {}
        for name, obj in new.items():
            if id(obj) in seen:
                continue
            if watch.roots.get(name, obj) is not obj:
                continue   # another object of that name: not reachable by a path
            watch.roots[name] = obj
            added[name] = obj
        if added:
            snapshot(added, records, seen)


def _callee_roots(f, args, kwargs):
    fn = f.__func__ if isinstance(f, types.MethodType) else f
    code = getattr(fn, "__code__", None)
    if code is None or not isinstance(fn, types.FunctionType):
        return {k: v for k, v in kwargs.items() if _watchable(v)}
    from kgraph.convert import policy
    if not policy.is_user_file(code.co_filename):
        return {}
    roots = {}
    params = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    if isinstance(f, types.MethodType):
        params = params[1:]
    for name, v in zip(params, args):
        if _watchable(v):
            roots[name] = v
    for name, v in kwargs.items():
        if _watchable(v):
            roots[name] = v
    roots.update(_roots([fn]))
    return roots


@contextlib.contextmanager
def _recording_reads(out):
    """Note the elements ``read_item`` / ``read_attr`` read meanwhile."""
    prev = getattr(_composites._reads, "out", None)
    _composites._reads.out = out
    try:
        yield
    finally:
        _composites._reads.out = prev


# ------------------------------------------------------------- building

def carry(fns, loc, where, construct, composites, build):
    """Build a graph statement (``build(composites, watch)``), learning the
    in-place changes its bodies make and carrying them as state.

    ``composites`` are the converter's ``(get, put, texts)`` (or None);
    ``build`` wraps its bodies with ``watch.wrap`` (inside the composite
    carrying, so that a trace's own state writes are not changes).
    """
    from kgraph import context
    watch = Watch(fns, loc, where)
    key = (loc, construct)
    static = []
    if composites:
        with _recording_reads(static):
            composites[0]()
    for _ in range(_MAX_ATTEMPTS):
        paths = _learned.get(key, [])
        extra = []
        for path in paths:
            obj = _resolve(watch.roots, path)
            if obj is not None:
                extra.append((obj, path))
        watch.carried = set(static) | {(id(o), p[-1][0], p[-1][1]) for o, p in extra}
        combined = _combine(composites, extra)
        # What the carried elements hold before the statement: a thrown-away
        # trace leaves its own (graph) values in them.
        entry = combined[0]() if combined else None
        with context.attempt() as att:
            try:
                return build(combined, watch)
            except Mutated as m:
                att.discard()
                if combined:
                    combined[1](entry)
                known = _learned.setdefault(key, [])
                known.extend(p for p in m.paths if p not in known)
                # A path already learned may not have resolved yet: its root is
                # an object the bodies only reach through a call (a helper's
                # global), found during this trace (now in watch.roots).
                carried = [p for _, p in extra]
                if all(p in carried for p in m.paths):
                    break
    from kgraph.operators.staging import location_text
    raise StagingError(f"could not agree on the Python objects {where} changes",
                       location=location_text(loc))


def _combine(composites, extra):
    if not extra:
        return composites
    if composites:
        sget, sput, stexts = composites
    else:
        sget, sput, stexts = (lambda: ()), (lambda values: None), ()
    n = len(stexts)

    def get():
        values = list(sget())
        for obj, path in extra:
            kind, key = path[-1]
            values.append(_composites.read_attr(obj, key) if kind == "attr"
                          else _composites.read_item(obj, key))
        return tuple(values)

    def put(values):
        sput(values[:n])
        for (obj, path), v in zip(extra, values[n:]):
            kind, key = path[-1]
            if kind == "attr":
                _composites.write_attr(obj, key, v)
            else:
                _composites.write_item(obj, key, v)

    return get, put, tuple(stexts) + tuple(path_text(p) for _, p in extra)
