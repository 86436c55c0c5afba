"""Placeholders for names that have no value yet.

Generated code binds ``y = kg__.Undefined('y')`` at the top of a scope when
``y`` may be read as control-flow state before Python would have bound it.
Any real use of the placeholder raises a clear error instead of a confusing
TypeError deep inside TensorFlow.
"""

from __future__ import annotations

import sys

from kgraph.errors import UndefinedVariableError


class Undefined:
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def _fail(self, *args, **kwargs):
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename == __file__:
            frame = frame.f_back
        where = f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame else None
        raise UndefinedVariableError(
            f"variable '{self.name}' is used before it is assigned",
            location=where,
            hints=(f"assign '{self.name}' on every path before this line",))

    def __repr__(self):
        return f"Undefined({self.name!r})"

    __bool__ = __call__ = __iter__ = __len__ = __index__ = __int__ = __float__ = _fail
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _fail
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = _fail
    __lt__ = __le__ = __gt__ = __ge__ = __neg__ = __getitem__ = _fail

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        self._fail()


class Unobserved(Undefined):
    """No value on a path that never reads it: graph control flow fills it
    with zeros of the other paths' dtype and shape."""

    __slots__ = ()


class Exited(Unobserved):
    """A variable still unbound in a branch that returned (or broke out of /
    continued a loop): the definite-assignment analysis proved that every
    path reading it after the ``if`` assigned it."""

    __slots__ = ()


class InLoop(Undefined):
    """A variable not bound yet when a graph loop starts, as its body sees it
    while the loop learns its type: a branch that binds it makes it a
    ``MaybeUnbound`` rather than an error (the next iteration may read it).

    A body that *reads* it (``for i in tf.range(n): if i > 0: s += last`` /
    ``last = i``) cannot be built before the type is known: the read raises
    ``InLoopRead`` for the loop that made it (``owner``), which learns the
    type in a scratch trace, where the read gives a weak zero instead."""

    __slots__ = ("owner", "group")

    def __init__(self, name, owner=None):
        super().__init__(name)
        self.owner = owner
        self.group = None   # the weak numbers its reads gave in a scratch trace

    def __repr__(self):
        return f"InLoop({self.name!r})"

    def read(self):
        """The value a read of the variable sees while its loop is built."""
        from kgraph import context
        if context.in_scratch_trace():
            # What it meets is linked to what the body binds it to (see
            # ``learn_from_body``): ``s = s + last`` then gets last's dtype.
            from kgraph.operators.weak import Group, Weak
            if self.group is None:
                self.group = Group(False)
            return Weak(0, self.group)
        if self.owner is not None:
            raise InLoopRead(self)
        self._fail()


class InLoopRead(UndefinedVariableError):
    """Internal: a graph loop's body read a variable the loop carries but has
    not learned the type of (its loop learns it and builds again)."""

    def __init__(self, value):
        super().__init__(f"variable '{value.name}' is used before it is assigned",
                         hints=(f"assign '{value.name}' before the loop",))
        self.owner = value.owner


def _forward_to(accessor, op):
    """``op`` applied to what the placeholder's ``accessor`` method gives."""
    def method(self, *args):
        return getattr(getattr(self, accessor)(), op)(*args)
    method.__name__ = op
    return method


for _op in ("add radd sub rsub mul rmul truediv rtruediv floordiv rfloordiv mod rmod pow "
            "rpow and rand or ror xor rxor neg pos abs lt le gt ge eq ne getitem bool "
            "index int float").split():
    setattr(InLoop, f"__{_op}__", _forward_to("read", f"__{_op}__"))
InLoop.__hash__ = object.__hash__


def learn_from_body(inputs, outputs):
    """After a scratch trace of a loop body: the weak zeros that reads of a
    variable not bound yet gave (``InLoop.read``) take the dtype the body
    binds the variable to, for the next iteration."""
    import tensorflow as tf
    from kgraph.operators.weak import Weak
    for v, out in zip(inputs, outputs):
        if not isinstance(v, InLoop) or v.group is None:
            continue
        if isinstance(out, MaybeUnbound):
            out = out.value
        if isinstance(out, Weak):
            v.group.union(out.group)
        elif isinstance(out, tf.Tensor):
            v.group.meet(out.dtype)


def in_loop(value, owner=None):
    return InLoop(value.name, owner) if type(value) is Undefined else value


class _NoReturn(Unobserved):
    """The return value of a function that has not returned yet."""

    __slots__ = ()

    def __init__(self):
        super().__init__("the return value")

    def __repr__(self):
        return "NO_RETURN"


NO_RETURN = _NoReturn()


def mark_exits(fn, names, exits):
    """Wrap a branch function so that the variables in ``exits`` it leaves
    unbound come out as ``Exited`` (see ``if_stmt(..., unbound_on_exit=...)``)."""
    exits = set(exits)

    def branch(*state):
        out = fn(*state) if fn is not None else tuple(state)
        return tuple(Exited(n) if n in exits and type(v) in (Undefined, InLoop) else v
                     for n, v in zip(names, out))

    branch.__name__ = getattr(fn, "__name__", "else_body")
    return branch


# ------------------------------------------------------------------ run time

UNBOUND_MARKER = "kgraph-unbound@"


class MaybeUnbound:
    """A graph value that is bound only on some run-time paths.

    A name first bound inside a graph loop (``for i in tf.range(n): last = i``)
    is bound after it only if the loop ran. Graph control flow carries it as
    ``(value, bound)``: a placeholder of the learned dtype and shape and a
    boolean. Python code that reads it (arithmetic, a TensorFlow op, a
    ``return``) gets the value behind a run-time check that raises
    ``UndefinedVariableError`` (an ``UnboundLocalError``) naming the variable
    and the line that read it, as Python would; graph control flow passes the
    pair along unchecked, so a path that does not read it never fails.
    """

    __slots__ = ("value", "bound", "name", "where")

    def __init__(self, value, bound, name, where=None):
        self.value = value
        self.bound = bound
        self.name = name
        self.where = where    # the loop or if that may leave it unbound

    def checked(self, dtype=None):
        # (operators/checks.py: an assertion without XLA, the error register
        # under XLA)
        from kgraph.operators import checks
        import tensorflow as tf
        from kgraph.operators.weak import WeakTensor
        read, made, name = _user_frame(), self.where, self.name
        weak = self.value if isinstance(self.value, WeakTensor) else None
        value = checks.gated(
            self.bound, lambda: unbound_error(read, made, name),
            f"{UNBOUND_MARKER}{read or ''}@{made or ''}@{name}@",
            self.value if weak is None else weak.tensor, location=read or made)
        if weak is not None:
            # A Python number (weak): it stays one, or takes the dtype asked for.
            value = WeakTensor(value, weak.is_float)
            return value if dtype is None else value.as_dtype(dtype)
        return value if dtype is None or dtype == value.dtype else tf.cast(value, dtype)

    def __tf_tensor__(self, dtype=None, name=None):
        return self.checked(dtype)

    def __repr__(self):
        return f"MaybeUnbound({self.name!r}, {self.value!r})"

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(self.checked(), attr)


def _user_frame():
    """``file:line`` of the innermost frame of converted code (it refers to the
    runtime ``kg__`` and runs under the user's own file name and lines), or
    None (e.g. a value returned from the function, read by TensorFlow)."""
    from kgraph.convert.policy import is_generated
    frame = sys._getframe(2)
    while frame is not None:
        # (a loop body that calls no operator has no ``kg__`` of its own)
        if "kg__" in frame.f_code.co_freevars or is_generated(frame.f_code):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return None


for _op in ("add radd sub rsub mul rmul truediv rtruediv floordiv rfloordiv mod rmod pow "
            "rpow matmul rmatmul and rand or ror xor rxor neg pos abs invert lt le gt ge "
            "getitem bool len iter index int float").split():
    setattr(MaybeUnbound, f"__{_op}__", _forward_to("checked", f"__{_op}__"))


def translate_unbound(message):
    """The ``UndefinedVariableError`` for a failed ``MaybeUnbound`` check, else None."""
    if UNBOUND_MARKER not in message:
        return None
    read, made, name = message.split(UNBOUND_MARKER, 1)[1].split("@")[:3]
    return unbound_error(read, made, name)


def unbound_error(read, made, name):
    """The ``UndefinedVariableError`` for ``name``, read at ``read`` (or None)
    where the statement at ``made`` leaves it unbound on some paths."""
    origin = (f" (the statement at {made} leaves it unbound on some paths: a branch that "
              f"does not assign it, a loop that ran zero times, a del)") if made else ""
    return UndefinedVariableError(
        f"variable '{name}' is read before it is assigned on the path that ran{origin}",
        location=read or made or None,
        hints=(f"assign '{name}' before the statement that binds it, or only read "
               f"it on the paths that assign it",))


def bound(value):
    """``kg__.bound(z)``: a read of ``z`` where it may be unbound (the
    definite-assignment analysis marks those reads, see
    ``analysis/dataflow.py``). A placeholder raises Python's
    ``UnboundLocalError`` (as ``UndefinedVariableError``) naming ``z`` and the
    reading line; a graph value bound on some run-time paths only is read
    behind its run-time check; any other value is returned as it is."""
    if isinstance(value, MaybeUnbound):
        return value.checked()
    if isinstance(value, InLoop):
        return value.read()
    if isinstance(value, Undefined) and value is not NO_RETURN:
        value._fail()
    return value
