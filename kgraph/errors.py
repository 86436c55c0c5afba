"""kgraph's error classes.

Every error carries a structured payload: ``kind`` (a short machine-readable
tag), ``location`` (the user's ``file:line``), ``explanation`` and ``hints``.
``str(err)`` renders them so that the first line already names the user's
file and line.
"""

from __future__ import annotations


class KGraphError(Exception):
    """Base class of kgraph's errors.

    Cause: see the subclass. Fix: read the hint lines of the message.
    """

    kind = "error"

    def __init__(self, explanation, location=None, hints=(), kind=None):
        self.explanation = explanation
        self.location = location
        self.hints = tuple(hints)
        if kind is not None:
            self.kind = kind
        super().__init__(self._render())

    def _render(self):
        where = f"{self.location}: " if self.location else ""
        lines = [f"{where}{self.explanation}"]
        lines.extend(f"  hint: {h}" for h in self.hints)
        return "\n".join(lines)


class ConversionError(KGraphError):
    """A function could not be converted.

    Cause: its source is not available (typed into a plain REPL, built with
    ``exec``), or it could not be parsed. Fix: define the function in a file
    or a notebook cell, or mark it with ``kgraph.do_not_convert``.
    """

    kind = "conversion"


class UnsupportedSyntaxError(ConversionError):
    """The function uses Python syntax kgraph cannot convert.

    Cause: a construct such as ``yield`` or ``async def`` in a converted
    function. Fix: move that code into a helper marked
    ``kgraph.do_not_convert``, or rewrite it as the hint says.
    """

    kind = "unsupported-syntax"


class StagingError(KGraphError):
    """Converted code could not be staged into a TensorFlow graph.

    Cause: a construct that is fine in Python cannot become graph control
    flow with the values it got, e.g. a variable defined in only one branch
    of a tensor ``if`` and used after it, or a loop variable whose dtype
    changes between iterations. Fix: follow the hint, usually by giving the
    variable a value (of the right dtype) before the ``if`` or loop.
    """

    kind = "staging"
