"""Property-based differential test: random small programs, graph == Python.

Hypothesis generates functions of one integer ``x`` that mix ``if``/``elif``/
``else``, ``while`` (with ``else``), ``for`` over ``range`` (with ``else``),
``break``, ``continue``, ``return``, ternaries and ``and``/``or``/``not``
over a few integer variables. Loops always terminate: every ``while`` counts iterations with its
own counter, incremented first thing in the body (so ``continue`` cannot skip
it), and every bound is at most 5, so no run exceeds a few dozen iterations.
Values stay far from int32 overflow (``% 97`` on products).

A failing example is printed (not shrunk unless ``KGRAPH_SHRINK=1``).
Each program is written to a real file and imported, so its source is
available to the converter, then ``kgraph.function(f)(tf.constant(x))`` and
``kgraph.to_graph(f)(x)`` must both equal ``f(x)``.
"""

import importlib.util
import itertools
import os

import tensorflow as tf
from hypothesis import Phase, given, note, settings
from hypothesis import strategies as st

import kgraph

VARS = ("a", "b", "c")
_counter = itertools.count()


class _Gen:
    """Draws a program as source lines; ``draw`` is hypothesis's draw."""

    MAX_DEPTH = 2          # at most three nested blocks

    def __init__(self, draw):
        self.draw = draw
        self.loops = 0
        # Total statements: keeps programs (and their tracing time) small.
        self.budget = draw(st.integers(3, 12))

    def pick(self, seq):
        return self.draw(st.sampled_from(seq))

    def small(self, lo=0, hi=5):
        return self.draw(st.integers(lo, hi))

    def operand(self, scope):
        if self.draw(st.booleans()):
            return self.pick(scope)
        return str(self.small(0, 9))

    def expr(self, scope):
        kind = self.small(0, 4)
        if kind == 0:
            return self.pick(scope)
        if kind == 1:
            return str(self.small(-3, 9))
        if kind == 2:
            return (f"({self.operand(scope)} if {self.comparison(scope)} "
                    f"else {self.operand(scope)})")
        op = self.pick(["+", "-", "*"])
        return f"({self.pick(scope)} {op} {self.operand(scope)}) % 97"

    def comparison(self, scope):
        if self.small(0, 4) == 0:
            return f"{self.pick(scope)} % 2 == {self.small(0, 1)}"
        op = self.pick(["<", "<=", ">", ">=", "==", "!="])
        return f"{self.pick(scope)} {op} {self.operand(scope)}"

    def condition(self, scope):
        kind = self.small(0, 5)
        if kind == 0:
            return f"not {self.comparison(scope)}"
        if kind == 1:
            return f"{self.comparison(scope)} and {self.comparison(scope)}"
        if kind == 2:
            return f"{self.comparison(scope)} or {self.comparison(scope)}"
        if kind == 3:
            return f"not ({self.comparison(scope)} or {self.comparison(scope)})"
        return self.comparison(scope)

    def bound(self, scope):
        kind = self.small(0, 2)
        if kind == 0:
            return str(self.small(0, 5))
        if kind == 1:
            return f"x % {self.small(2, 5)} + {self.small(0, 1)}"
        return f"{self.pick(scope)} % {self.small(2, 6)}"

    def block(self, indent, depth, scope, in_loop):
        lines = []
        for i in range(self.small(1, 3)):
            if i and self.budget <= 0:
                break
            stmt, terminal = self.statement(indent, depth, scope, in_loop)
            lines.extend(stmt)
            if terminal:     # nothing after an unconditional break/continue/return
                break
        return lines

    def statement(self, indent, depth, scope, in_loop):
        pad = "    " * indent
        self.budget -= 1
        choices = []
        if depth < self.MAX_DEPTH and self.budget > 0:
            choices += ["for", "while", "for", "while"]
        if depth <= self.MAX_DEPTH and self.budget > 0:
            choices += ["if", "if"]
        if in_loop:
            choices += ["break", "continue"]
        choices += ["assign", "assign", "augassign", "return"]
        kind = self.pick(choices)

        if kind == "assign":
            target = self.pick(VARS + ("x",))
            return [f"{pad}{target} = {self.expr(scope)}"], False
        if kind == "augassign":
            op = self.pick(["+=", "-=", "//="])
            value = self.small(1, 5) if op != "//=" else 2
            return [f"{pad}{self.pick(VARS)} {op} {value}"], False
        if kind in ("break", "continue", "return"):
            stmt = kind if kind != "return" else f"return {self.expr(scope)}"
            if self.small(0, 3) == 0:
                return [f"{pad}{stmt}"], True
            return [f"{pad}if {self.condition(scope)}:", f"{pad}    {stmt}"], False
        if kind == "if":
            lines = [f"{pad}if {self.condition(scope)}:"]
            lines += self.block(indent + 1, depth + 1, scope, in_loop)
            for _ in range(self.small(0, 2)):
                lines.append(f"{pad}elif {self.condition(scope)}:")
                lines += self.block(indent + 1, depth + 1, scope, in_loop)
            if self.draw(st.booleans()):
                lines.append(f"{pad}else:")
                lines += self.block(indent + 1, depth + 1, scope, in_loop)
            return lines, False
        self.loops += 1
        k = self.loops
        if kind == "while":
            counter = f"i{k}"
            test = f"{counter} < {self.bound(scope)}"
            if self.small(0, 2) == 0:
                test += f" and {self.comparison(scope)}"
            lines = [f"{pad}{counter} = 0", f"{pad}while {test}:",
                     f"{pad}    {counter} += 1"]
            lines += self.block(indent + 1, depth + 1, scope + (counter,), True)
        else:
            var = f"j{k}"
            if self.draw(st.booleans()):
                header = f"for {var} in range({self.bound(scope)}):"
            else:
                header = f"for {var} in range({self.small(-2, 2)}, {self.bound(scope)}):"
            lines = [f"{pad}{header}"]
            lines += self.block(indent + 1, depth + 1, scope + (var,), True)
        if self.small(0, 3) == 0:
            lines.append(f"{pad}else:")
            lines += self.block(indent + 1, depth + 1, scope, in_loop)
        return lines, False


@st.composite
def programs(draw):
    gen = _Gen(draw)
    scope = ("x",) + VARS
    lines = ["def f(x):"]
    for v in VARS:     # a Python int, or a tensor derived from x
        if draw(st.booleans()):
            lines.append(f"    {v} = {draw(st.integers(0, 5))}")
        else:
            lines.append(f"    {v} = x % {draw(st.integers(2, 7))}")
    lines += gen.block(1, 0, scope, False)
    lines.append("    return a * 10000 + b * 100 + c")
    return "\n".join(lines) + "\n"


def _load(source, directory):
    name = f"kgraph_generated_{next(_counter)}"
    path = directory / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.f


# Shrinking re-traces hundreds of programs (minutes): off by default; the
# generated programs are small anyway. KGRAPH_SHRINK=1 turns it on.
_PHASES = tuple(Phase) if os.environ.get("KGRAPH_SHRINK") else tuple(
    p for p in Phase if p is not Phase.shrink)


@settings(max_examples=25, deadline=None, phases=_PHASES)
@given(source=programs(),
       xs=st.lists(st.integers(-10, 20), min_size=3, max_size=3, unique=True))
def test_generated_program_graph_equals_python(tmp_path_factory, source, xs):
    note(source)
    f = _load(source, tmp_path_factory.mktemp("programs"))
    graph = kgraph.function(f)
    converted = kgraph.to_graph(f)
    for x in xs:
        expected = f(x)
        assert converted(x) == expected, f"to_graph({x}) != Python"
        actual = graph(tf.constant(x))
        assert int(actual) == expected, f"graph({x}) = {int(actual)}, Python {expected}"
