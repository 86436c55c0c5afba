"""The README's example, end to end: conversion, graph run, Python run, code, explain."""

import tensorflow as tf

import kgraph


def collatz(n):
    steps = 0
    while n != 1:
        if n % 2 == 0:
            n = n // 2
        else:
            n = 3 * n + 1
        steps += 1
    return steps


def test_collatz_graph_equals_python():
    g = kgraph.function(collatz)
    for n in (1, 2, 7, 27, 97):
        assert int(g(tf.constant(n))) == collatz(n)


def test_collatz_converted_runs_as_python_on_python_values():
    assert kgraph.to_graph(collatz)(27) == 111


def test_collatz_is_one_graph_call():
    g = kgraph.function(collatz)
    g(tf.constant(27))
    g(tf.constant(9))
    assert g.trace_count == 1
    graph = g.get_concrete_function(tf.TensorSpec([], tf.int32)).graph
    ops = {op.type for op in graph.get_operations()}
    assert "While" in ops or "StatelessWhile" in ops


def test_collatz_code_is_short_and_readable():
    code = kgraph.to_code(collatz)
    assert "kg__.while_stmt(loop_test_1, loop_body_1, (n, steps), ('n', 'steps'))" in code
    # % and // go through kg__.mod / kg__.floordiv (Python's float semantics on tensors)
    assert "kg__.if_stmt(kg__.mod(n, 2) == 0, if_body_1, else_body_1, (n,), ('n',))" in code
    assert "n = kg__.floordiv(n, 2)" in code
    assert len(code.splitlines()) <= 25


def test_explain_names_lines_and_paths():
    report = kgraph.explain(collatz, tf.constant(27))
    lines = {(d.construct, d.path, d.lineno) for d in report.decisions}
    first = collatz.__code__.co_firstlineno
    assert ("while", "graph", first + 2) in lines
    assert ("if", "graph", first + 3) in lines
    python_report = kgraph.explain(collatz, 27)
    assert all(d.path == "python" for d in python_report.decisions)
    assert "condition is a Python bool" in str(python_report)
