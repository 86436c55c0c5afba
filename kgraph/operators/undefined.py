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


class _NoReturn(Undefined):
    """The return value of a function that has not returned yet."""

    __slots__ = ()

    def __init__(self):
        super().__init__("the return value")

    def __repr__(self):
        return "NO_RETURN"


NO_RETURN = _NoReturn()
