"""Test helpers for code that uses kgraph.

``TraceCounter`` counts how many times kgraph traces each body and branch of
graph control flow, like PyTorch Dynamo's ``CompileCounter``::

    with kgraph.testing.TraceCounter() as traces:
        f(x)
    assert traces.real(line=12) == 1       # the loop body at line 12, traced once
    assert traces.scratch(line=12) <= 1    # plus at most one scratch trace

A *real* trace builds graph that runs; a *scratch* trace only learns the types
of the values a loop carries (a Python number's dtype, a list's element type,
a shape that changes across iterations) and is thrown away.
"""

from __future__ import annotations

import collections

from kgraph import context


class TraceCounter:
    """Counts body/branch traces per site ``(filename, line, part)``.

    ``part`` is ``"body"`` / ``"test"`` for loops and ``"true"`` / ``"false"``
    for the branches of an ``if`` (or conditional expression).
    """

    def __init__(self):
        self._events = []

    def __enter__(self):
        context.counters().append(self)
        return self

    def __exit__(self, *exc):
        context.counters().remove(self)
        return False

    def _count(self, scratch, line=None, part=None, filename=None):
        n = 0
        for (fname, lineno), p, a in self._events:
            if line is not None and lineno != line:
                continue
            if part is not None and p != part:
                continue
            if filename is not None and fname != filename:
                continue
            is_scratch = a is not None and a.is_scratch
            if is_scratch == scratch:
                n += 1
        return n

    def real(self, line=None, part=None, filename=None):
        """Traces that built graph that runs (optionally of one site/part)."""
        return self._count(False, line, part, filename)

    def scratch(self, line=None, part=None, filename=None):
        """Scratch traces (type learning) (optionally of one site/part)."""
        return self._count(True, line, part, filename)

    def by_site(self):
        """{(filename, line, part): (real, scratch)}."""
        out = collections.defaultdict(lambda: [0, 0])
        for (fname, lineno), p, a in self._events:
            out[(fname, lineno, p)][1 if (a is not None and a.is_scratch) else 0] += 1
        return {k: tuple(v) for k, v in out.items()}

    def __repr__(self):
        return f"TraceCounter(real={self.real()}, scratch={self.scratch()})"
