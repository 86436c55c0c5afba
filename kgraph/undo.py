"""A failing call under XLA leaves ``tf.Variable``\\ s as they were before it.

Without XLA, an assertion that fails stops the graph: the statements after
an ``assert`` (or after a failing run-time check) run under a control
dependency on it and never run. Under XLA there are no assertion ops: a
failure is written into the error register (operators/checks.py) and the
computation runs to its end, so the variable writes after the failure do
happen. ``kgraph.function(..., jit_compile=True)`` therefore runs the
converted function as a nested function whose graph it can look at before
calling it:

1. trace the function (``tf.function(...).get_concrete_function``, traced
   once, inside the outer trace) and find the variables it may write: the
   captured resource handles some op other than a read consumes, following
   them into ``tf.while_loop`` / ``tf.cond`` bodies and nested calls
   (``written_variables``; an op kgraph does not know counts as a write);
2. read those variables, call the function, and where the register says a
   check failed write the values read back (an elementwise select per
   variable, in the same compiled computation: no host round trip).
   tf.function's automatic control dependencies order the reads before the
   call and the restores after it (each touches the same resources).

What is not undone: variables the function creates, and state outside
``tf.Variable``\\ s (a dataset iterator that advanced, a file written by a
host callback). A Keras ``GraphModel`` step does the same for its model's,
optimizer's and metrics' variables (layers/_step_failures.py).
"""

from __future__ import annotations

import tensorflow as tf

# Ops that read a resource and never write it.
_READS = frozenset({
    "ReadVariableOp", "ResourceGather", "ResourceGatherNd", "VariableShape",
    "VarIsInitializedOp", "DestroyResourceOp"})
# Ops that pass a resource through unchanged (follow their outputs).
_PASS = frozenset({"Identity", "IdentityN"})
# Ops that call functions: (attribute names of the called functions, inputs
# before the functions' first argument).
_CALLS = {
    "While": (("cond", "body"), 0), "StatelessWhile": (("cond", "body"), 0),
    "If": (("then_branch", "else_branch"), 1), "StatelessIf": (("then_branch", "else_branch"), 1),
    "PartitionedCall": (("f",), 0), "StatefulPartitionedCall": (("f",), 0),
}


def written_variables(graph, exclude=()):
    """The variables that ``graph`` (a traced FuncGraph) may write, in a stable order."""
    graph_def = graph.as_graph_def()
    library = {f.signature.name: f for f in graph_def.library.function}
    excluded = {id(v.handle) for v in exclude}
    by_handle = {id(v.handle): v for v in graph.variables}
    out = []
    for external, internal in graph.captures:
        v = by_handle.get(id(external))
        if v is None or id(external) in excluded or internal.dtype != tf.resource:
            continue
        if _writes(list(graph_def.node), internal.op.name, 0, library, set()):
            out.append(v)
    return out


def _refs(name, index):
    """How graph and function nodes name output ``index`` of node ``name``
    (``index`` None: ``name`` is a function argument)."""
    if index is None:
        return {name}
    refs = {f"{name}:{index}", f"{name}:output:{index}"}
    if index == 0:
        refs.add(name)
    return refs


def _consumers(nodes, name, index):
    """(node, input position) for each node of ``nodes`` reading that tensor."""
    refs = _refs(name, index)
    for node in nodes:
        position = 0
        for text in node.input:
            if text.startswith("^"):
                continue
            if text in refs:
                yield node, position
            position += 1


def _writes(nodes, name, index, library, seen):
    for node, position in _consumers(nodes, name, index):
        if node.op in _READS:
            continue
        if node.op in _PASS:
            if _writes(nodes, node.name, position, library, seen):
                return True
            continue
        call = _CALLS.get(node.op)
        if call is None:
            return True          # a write, or an op we do not know: assume it writes
        attrs, skip = call
        if position < skip:
            continue             # (a tf.cond's condition)
        for attr in attrs:
            fname = node.attr[attr].func.name
            key = (fname, position - skip)
            if key in seen:
                continue
            seen.add(key)
            fdef = library.get(fname)
            args = fdef.signature.input_arg if fdef is not None else ()
            if position - skip >= len(args):
                return True
            if _writes(list(fdef.node_def), args[position - skip].name, None, library, seen):
                return True
        # A loop's output k is its loop variable k: the same resource.
        if node.op in ("While", "StatelessWhile") and _writes(
                nodes, node.name, position, library, seen):
            return True
    return False


def call_undoing_on_failure(function, args, kwargs, register):
    """``function(*args, **kwargs)`` (a ``tf.function``, traced now), with the
    variables it may write restored where ``register`` (an ``AssertRegister``,
    active while tracing) says that a check failed. Returns its outputs."""
    sites = len(register.sites)
    concrete = function.get_concrete_function(*args, **kwargs)
    written = []
    if len(register.sites) > sites:      # it holds checks that can fail
        written = written_variables(concrete.graph,
                                    exclude=(register.variable, register.good_steps))
    before = [tf.identity(v.read_value()) for v in written]
    out = function(*args, **kwargs)
    if written:
        failed = register.failed()
        for v, old in zip(written, before):
            v.assign(tf.where(failed, old, v.read_value()))
    return out
