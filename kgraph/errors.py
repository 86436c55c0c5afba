"""kgraph's error classes.

Every error carries a structured payload: ``kind`` (a short machine-readable
tag), ``location`` (the user's ``file:line``), ``explanation`` and ``hints``.
``str(err)`` renders them so that the first line already names the user's
file and line.

Each concrete class is also an instance of the builtin exception a Python
user would catch for the same mistake (as TensorFlow's and JAX's errors are):

=============================  =======================================
kgraph class                   also a
=============================  =======================================
``UnsupportedSyntaxError``     ``NotImplementedError``
``NotConvertibleError``        ``TypeError`` (not a Python function)
``StagingTypeError``           ``TypeError`` (dtype / kind mismatch)
``StagingValueError``          ``ValueError`` (structure / shape)
``UndefinedVariableError``     ``UnboundLocalError`` (a ``NameError``)
``UnsupportedStagingError``    ``NotImplementedError``
``RecursiveStagingError``      ``NotImplementedError`` and ``RecursionError``
``GraphIndexError``            ``IndexError`` (when the graph runs)
``GraphValueError``            ``ValueError`` (when the graph runs)
``GraphStopIteration``         ``StopIteration`` (when the graph runs)
``GraphZeroDivisionError``     ``ZeroDivisionError`` (raised when the graph runs)
=============================  =======================================

So ``except TypeError`` catches a dtype mismatch whether plain Python,
TensorFlow or kgraph found it, and ``except kgraph.StagingError`` still
catches every staging problem.
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

    def __reduce__(self):
        # The builtin bases would pickle only the rendered text.
        return (_rebuild, (type(self), self.explanation, self.location, self.hints,
                           self.kind))


def _rebuild(cls, explanation, location, hints, kind):
    return cls(explanation, location=location, hints=hints, kind=kind)


class ConversionError(KGraphError):
    """A function could not be converted.

    Cause: its source is not available (typed into a plain REPL, built with
    ``exec``), or it could not be parsed. Fix: define the function in a file
    or a notebook cell, or mark it with ``kgraph.do_not_convert``.
    """

    kind = "conversion"


class NotConvertibleError(ConversionError, TypeError):
    """The object given to kgraph is not a Python function it can convert.

    Cause: a class, a builtin, a ``functools.partial``... Fix: pass the
    function itself (a class's method, the partial's ``func``).
    """

    kind = "not-convertible"


class UnsupportedSyntaxError(ConversionError, NotImplementedError):
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


class StagingTypeError(StagingError, TypeError):
    """A value has the wrong dtype or kind for graph control flow.

    Cause: a variable changes dtype inside a graph loop, is an int in one
    branch of a tensor ``if`` and a float in the other, or becomes something
    that is not a tensor. Fix: cast it (the hint names the dtype) or give it
    a value of the right dtype before the statement.
    """

    kind = "dtype"


class StagingValueError(StagingError, ValueError):
    """A value has the wrong structure or shape for graph control flow.

    Cause: a tuple/list/dict changes its nesting inside a graph loop, or a
    condition is a tensor that is not a scalar. Fix: keep the same nesting;
    reduce conditions with ``tf.reduce_any`` / ``tf.reduce_all``.
    """

    kind = "structure"


class UndefinedVariableError(StagingError, UnboundLocalError):
    """A variable has no value on some path through graph control flow.

    Cause: it is assigned in only one branch of a tensor ``if`` (or only
    inside a tensor loop) and used after it. A graph must produce a value on
    every path. Fix: assign it before the statement or in every branch.
    """

    kind = "undefined"


class UnsupportedStagingError(StagingError, NotImplementedError):
    """Valid Python that has no graph equivalent with the values it got.

    Cause: a ``try`` inside a tensor loop, a comprehension over a dataset,
    a list of unknown final size under XLA... Fix: follow the hint, usually
    by moving the construct out of graph control flow.
    """

    kind = "unsupported"


class RecursiveStagingError(UnsupportedStagingError, RecursionError):
    """A converted function calls itself while tracing a graph branch or loop.

    Cause: recursion whose base case depends on a tensor: tracing both
    branches of the ``if`` never reaches the end. Fix: write the recursion
    as a loop (``while``), or make the condition a Python value.
    """

    kind = "recursion"


class RuntimeCheckError(KGraphError):
    """A check kgraph added to the graph failed when the graph ran.

    Cause: what Python raises on a value only known at run time: a list
    index out of range, ``pop`` from an empty list, ``next()`` on an exhausted
    iterator, ``min()`` of an empty sequence. Raised on the host after the
    call, naming the user's line, with and without XLA
    (kgraph/operators/checks.py). Fix: as for the Python error.
    """

    kind = "runtime-check"


class GraphIndexError(RuntimeCheckError, IndexError):
    """``IndexError`` when the graph ran (see ``RuntimeCheckError``)."""

    kind = "index"


class GraphValueError(RuntimeCheckError, ValueError):
    """``ValueError`` when the graph ran (see ``RuntimeCheckError``)."""

    kind = "value"


class GraphStopIteration(RuntimeCheckError, StopIteration):
    """``StopIteration`` when the graph ran: ``next()`` on an exhausted
    iterator (see ``RuntimeCheckError``). Fix: ``next(it, default)``, or
    iterate with ``for``."""

    kind = "stop-iteration"


class GraphZeroDivisionError(RuntimeCheckError, ZeroDivisionError):
    """An integer ``//``, ``%`` or ``divmod`` by zero ran in the graph.

    Cause: the divisor tensor was zero when the graph ran. TensorFlow's CPU
    kernels stop there and kgraph translates their error (not a check of its
    own: on GPU/TPU and under XLA nothing stops). Float division by zero is
    not an error in a graph: it gives ``inf``/``nan`` as in NumPy. Fix: test
    the divisor before dividing.
    """

    kind = "zero-division"
