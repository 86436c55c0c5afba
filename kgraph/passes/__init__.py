"""The conversion pipeline: one pass per Python feature, in this order.

Ordering constraints (each pass relies on the ones above it):

* gate        first: refuse unsupported syntax before doing any work.
* asserts     before calls: ``assert_`` calls must not be wrapped.
* comprehensions  before lists, builtins, calls and control_flow: it writes
              a nested ``def`` with a ``for`` loop and ``xs.append(...)``
              that those passes then convert like the user's own code.
* lists       before calls: ``xs.append`` must not become ``kg__.call(xs.append, ...)``.
* builtins    before calls: ``print``/``range``... are replaced, not wrapped.
* strings     before calls: ``template.format(...)`` becomes
              ``kg__.str_format(template, ...)`` instead of a wrapped method
              call; after asserts, so assert messages are rewritten too.
* arithmetic  after strings (``'%d' % n`` with a literal template is
              formatting, not ``kg__.mod``) and lists (``xs[i] //= 2`` becomes a
              ``list_setitem`` of a ``//`` it then rewrites); before calls.
* calls       before the lowering passes, so it sees only the user's calls.
              It reuses the builtins pass's set of local names
              (``common.all_local_names``): the passes between builtins and
              calls must bind no new name and add no function.
* named_exprs before loop_else and breaks: a ``:=`` in a while test moves
              into the body as ``if not test: break``.
* loop_else   before returns, continues and breaks: a loop's ``else`` block
              moves after the loop, where its ``continue``/``break`` belong to
              the enclosing loop; the breaks it adds are lowered later.
* returns     before breaks: a return inside a loop is lowered to a flag
              plus a ``break``, which the breaks pass then lowers.
* continues   before breaks: both guard statements; continue flags are reset
              at the top of the body, which must stay inside the loop.
* breaks      before boolean_ops: it writes ``not flag and test``.
* ifexp, comparisons, boolean_ops   before control_flow: the expression
              forms become operator calls, then statements are rewritten
              around them.
              (comparisons and boolean_ops are independent: each rewrites
              its own node kind, also inside the lambdas the other makes.)
* deletes     after lists (which owns ``del xs[i]``), before control_flow:
              ``del name`` in a branch or loop body becomes a binding of the
              Undefined placeholder, which control_flow carries as state.
* control_flow         after every lowering, last: it needs blocks without
              jumps; it also binds kg__.Undefined placeholders for state that
              may be unbound (from the one definite-assignment analysis,
              analysis/dataflow.py).
"""

from __future__ import annotations

from kgraph.passes import (arithmetic, asserts, boolean_ops, breaks, builtins, calls, comparisons,
                           comprehensions,
                           continues,
                           control_flow, deletes, gate, ifexp, lists, loop_else, named_exprs,
                           returns, strings)

PIPELINE = (
    gate,
    asserts,
    comprehensions,
    lists,
    builtins,
    strings,
    arithmetic,
    calls,
    named_exprs,
    loop_else,
    returns,
    continues,
    breaks,
    ifexp,
    comparisons,
    boolean_ops,
    deletes,
    control_flow,
)


def run_all(node, ctx, upto=None):
    """Run the pipeline (or its passes up to and including ``upto``)."""
    for p in PIPELINE:
        node = p.run(node, ctx)
        if upto is not None and p.__name__.rsplit(".", 1)[1] == upto:
            break
    return node
