"""Random valid Python programs, run as plain Python and as ``kgraph.function``.

The differential property test (``tests/test_property.py``) and the deep-run
command share this module::

    python3 -m tests.program_gen --n 2000 --seed 0            # all constructs, all dtypes
    python3 -m tests.program_gen --n 300 --features if,while  # only these constructs
    python3 -m tests.program_gen --n 200 --each-feature       # base + one construct at a time
    python3 -m tests.program_gen --show 17 --dtype int64      # print one program

Each program is ``def f(x, y, n, t)`` over arguments of one dtype (int32,
int64, float32 or float64): ``x``, ``y`` are scalars of that dtype, ``t`` a
short vector of it, ``n`` a small integer scalar (of the dtype for integer
programs; int32 or int64 of the same width for float programs) used for
``range`` bounds. Every construct is behind a feature flag (``FEATURES``), so
a test can enable exactly what kgraph gets right.

Programs are valid Python that terminates: every ``while`` has its own counter
incremented first thing in its body, bounds are at most a few iterations,
products are taken ``% 97``, divisors are positive literals, float values are
halves and only ever multiplied by integer-valued literals (so float32 and
Python's float64 compute the same exact values), every variable keeps its
kind (a float program never stores a Python ``int`` where a float was), and
returns all give the same structure. A name bound on some paths only is used
only where Python itself would find it bound.

Each program is written to a real file and imported (kgraph reads the source
of what it converts), then run on three argument sets: as plain Python (the
reference), as ``kgraph.to_graph(f)`` on the same plain values, and as
``kgraph.function(f)`` on tensors of the program's dtype (one trace for the
three calls). Results (tensors turned into Python values) and printed text
(captured at the file-descriptor level, where ``tf.print`` writes) must be
identical. A failing case shows the program source and its arguments.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import itertools
import os
import random
import re
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Every construct the generator can emit. The base (if, loops, exits, and/or/not)
# is what the original 25-program test covered.
FEATURES = (
    "if",            # if / elif / else on tensor conditions
    "while",         # while loops (own counter, bounded)
    "for_range",     # for over range(tensor), range(a, b), negative steps
    "for_tensor",    # for over the vector t
    "loop_else",     # else: blocks of while / for
    "break",
    "continue",
    "return",        # early returns (same structure as the final one)
    "boolops",       # and / or / not in conditions
    "boolvalue",     # and / or as values: x or 5, a and b
    "chained",       # chained comparisons with expression middles: 0 <= i * 2 < n
    "ternary",       # conditional expressions, nested
    "membership",    # x in (1, 2, 3), not in
    "weak",          # Python numbers (0, 0.0, literals) that become graph state next to tensors
    "print",         # print with several arguments (and sep=)
    "fstring",       # f-strings in print and assert messages
    "assert",        # asserts that hold
    "builtins",      # abs, min, max, round, divmod, len, sum, range with a negative step
    "enumerate",     # for j, v in enumerate(t) (j meets values of the program's dtype)
    "comprehension", # list comprehensions and generator expressions over t
    "lists",         # xs.append in loops, then index / len / sum / pop / xs[i] = v / iterate / return
    "subscript",     # pair[0] = v on a Python list, d['k'] += v
    "attribute",     # obj.count += 1 on an object the function creates
    "partial",       # names bound on some paths only (both branches, one branch, a loop that runs)
    "mutations",     # in-place changes the converter cannot see: d.update, a helper, a method
    "arith",         # % and // by negative divisors, **, pow, int()/float()/bool() of tensors
)
BASE = ("if", "while", "for_range", "loop_else", "break", "continue", "return", "boolops")
DTYPES = ("int32", "int64", "float32", "float64")
DEEP_SIZE = (4, 11)     # statements per program (deep run)
CI_SIZE = (2, 6)        # the CI test's programs: shorter, cheaper to trace

HEADER = '''\
class Box:
    def __init__(self, count):
        self.count = count

    def add(self, v):
        self.count = (self.count + v) % 97


def bump(d, v):
    d['k'] = (d['k'] + v) % 97


'''


# ------------------------------------------------------------------ generator

class _Scope:
    """Names usable at a point of the program, by kind."""

    def __init__(self, num, idx, counters):
        self.num = list(num)            # values of the program's dtype
        self.idx = list(idx)            # integer tensors / ints: n, range loop variables
        self.counters = list(counters)  # while counters: Python ints that become graph state

    def copy(self):
        return _Scope(self.num, self.idx, self.counters)


class Generator:
    """Draws one program (source text) from ``random.Random`` ``rng``."""

    MAX_DEPTH = 2

    def __init__(self, rng, dtype, features, size=None):
        self.r = rng
        self.dtype = dtype
        self.float = dtype.startswith("float")
        self.f = frozenset(features)
        self.budget = self.r.randint(*(size or DEEP_SIZE))
        self.fresh = itertools.count(1)
        self.length = self.r.randint(1, 4)      # len(t)
        self.extras = []                          # extra return values (lists, pair, d, obj)
        self.in_tensor_return_ok = True

    # -------------------------------------------------------------- helpers
    def on(self, name):
        return name in self.f

    def pick(self, seq):
        return self.r.choice(list(seq))

    def chance(self, p):
        return self.r.random() < p

    def lit(self, lo=-3, hi=9):
        if self.float:
            return repr(self.r.randint(lo * 2, hi * 2) / 2)
        return str(self.r.randint(lo, hi))

    def nonzero_lit(self):
        while True:
            v = self.lit(1, 9)
            if float(v) != 0:
                return v

    def nonzero_value(self):
        v = self.nonzero_lit()
        if self.on("weak") or self.dtype in ("int32", "float32"):
            return v
        return f"(x - x + {v})"

    def intlit(self, lo=2, hi=5):
        """A positive integer-valued literal of the program's kind (divisors, factors)."""
        v = self.r.randint(lo, hi)
        return f"{v}.0" if self.float else str(v)

    def value_lit(self, lo=-3, hi=9):
        """A literal that becomes a value (assigned, returned, chosen by a branch): a Python
        number (weak) in 32-bit programs or with "weak"; a tensor of the dtype otherwise."""
        v = self.lit(lo, hi)
        if self.on("weak") or self.dtype in ("int32", "float32"):
            return v
        return f"(x - x + {v})"

    def zero(self):
        """An initial zero: a Python literal (weak) or a tensor zero of the dtype."""
        if self.on("weak") or self.dtype in ("int32", "float32"):
            return "0.0" if self.float else "0"
        return "(x - x)"

    def counter_zero(self):
        if self.on("weak") or self.dtype in ("int32", "float32"):
            return "0"
        return "(n - n)"

    def mixable(self, scope):
        """Integer names that may appear in value expressions."""
        if not self.float:
            return scope.idx + scope.counters
        if self.on("weak"):
            return scope.counters
        return []

    # -------------------------------------------------------------- values
    def var(self, scope):
        return self.pick(scope.num)

    def operand(self, scope):
        return self.var(scope) if self.chance(0.6) else self.lit()

    def num(self, scope, depth=0):
        """An expression of the program's kind."""
        kinds = ["var", "var", "lit", "binop", "binop", "mul", "floordiv", "index"]
        mix = self.mixable(scope)
        if mix:
            kinds.append("mix")
        if depth < 2:
            if self.on("ternary"):
                kinds += ["ternary"]
            if self.on("boolvalue"):
                kinds += ["or", "and"]
            if self.on("builtins"):
                kinds += ["abs", "minmax", "sumt", "lent"]
            if self.on("comprehension"):
                kinds += ["comp"]
        if self.on("arith"):
            kinds += ["arith"]
        kind = self.pick(kinds)
        if kind == "arith":
            return self.arith(scope)
        if kind == "var":
            return self.var(scope)
        if kind == "lit":
            return self.value_lit()
        if kind == "binop":
            return f"({self.var(scope)} {self.pick('+-')} {self.operand(scope)}) % 97"
        if kind == "mul":
            return f"({self.var(scope)} * {self.intlit(-3, 4)}) % 97"
        if kind == "floordiv":
            return f"{self.var(scope)} // {self.intlit(2, 4)}"
        if kind == "index":
            return f"t[{self.r.randint(-self.length, self.length - 1)}]"
        if kind == "mix":
            return f"({self.var(scope)} + {self.pick(mix)}) % 97"
        if kind == "ternary":
            inner = self.num(scope, depth + 1)
            if self.chance(0.4):   # nested
                inner = f"({self.num(scope, depth + 1)} if {self.cond(scope, 1)} else {inner})"
            return f"({self.num(scope, depth + 1)} if {self.cond(scope, 1)} else {inner})"
        if kind == "or":
            if self.chance(0.3):
                return f"({self.var(scope)} or {self.var(scope)} or {self.nonzero_value()})"
            return f"({self.var(scope)} or {self.nonzero_value()})"
        if kind == "and":
            return f"({self.var(scope)} and {self.num(scope, depth + 1)})"
        if kind == "abs":
            return f"abs({self.num(scope, depth + 1)})"
        if kind == "minmax":
            fn = self.pick(["min", "max"])
            if self.chance(0.3):
                return f"{fn}(t)"
            args = [self.num(scope, depth + 1), self.operand(scope)]
            if self.chance(0.3):
                args.append(self.lit())
            return f"{fn}({', '.join(args)})"
        if kind == "sumt":
            return "sum(t)"
        if kind == "lent":
            return f"({self.var(scope)} + len(t))"
        # comprehension / generator expression over t (t is never empty)
        form = self.r.randint(0, 4)
        if form == 0:
            return f"sum(v * {self.intlit(1, 3)} for v in t)"
        if form == 1:
            return f"sum([v for v in t if v > {self.lit(-2, 4)}], {self.zero()})"
        if form == 2:
            return f"max(v + {self.var(scope)} for v in t)"
        if form == 3:
            return f"min([v % {self.intlit(2, 5)} for v in t])"
        return f"[v - {self.lit()} for v in t][{self.r.randint(0, self.length - 1)}]"

    def divisor(self):
        """A nonzero literal divisor of either sign (halves for floats: exact)."""
        if self.float:
            return self.pick(["2.0", "-2.0", "0.5", "-0.5", "1.5", "-1.5"])
        return self.pick(["2", "-2", "3", "-3", "5", "-1"])

    def arith(self, scope):
        """Python's %, //, ** and pow on the program's kind (exact in float32 too)."""
        v = self.var(scope)
        form = self.r.randint(0, 4)
        if form == 0:
            return f"{v} % {self.divisor()}"
        if form == 1:
            return f"{v} // {self.divisor()}"
        if form == 2:
            return f"({v} ** 2) % 97"
        if form == 3:
            return f"pow({v} % 7, 2)"
        return f"(-{v}) % {self.divisor()}"

    def conversion(self, scope):
        """int()/float()/bool() of a value, in a condition."""
        v = self.var(scope)
        return self.pick([f"int({v}) == {self.r.randint(-2, 4)}", f"float({v}) > {self.lit()}",
                          f"bool({v})", f"not bool({v} % {self.intlit(2, 3)})"])

    # -------------------------------------------------------------- conditions
    def comparison(self, scope):
        op = self.pick(["<", "<=", ">", ">=", "==", "!="])
        if scope.idx and self.chance(0.25):
            ints = scope.idx + scope.counters
            return f"{self.pick(ints)} {op} {self.pick(ints + [str(self.r.randint(0, 4))])}"
        if self.chance(0.2):
            return f"{self.var(scope)} % {self.intlit(2, 3)} == {self.lit(0, 1)}"
        if self.chance(0.3):
            left = f"({self.var(scope)} {self.pick('+-')} {self.operand(scope)})"
        else:
            left = self.var(scope)
        return f"{left} {op} {self.operand(scope)}"

    def cond(self, scope, depth=0):
        kinds = ["cmp", "cmp", "cmp"]
        if depth < 1:
            if self.on("boolops"):
                kinds += ["and", "or", "not", "notor"]
            if self.on("chained"):
                kinds += ["chained"]
            if self.on("membership"):
                kinds += ["in"]
            if self.on("builtins"):
                kinds += ["absround"]
            if self.on("comprehension"):
                kinds += ["anyall"]
            if self.on("arith"):
                kinds += ["conv"]
        kind = self.pick(kinds)
        if kind == "conv":
            return self.conversion(scope)
        if kind == "cmp":
            return self.comparison(scope)
        if kind == "and":
            return f"{self.cond(scope, depth + 1)} and {self.cond(scope, depth + 1)}"
        if kind == "or":
            return f"{self.cond(scope, depth + 1)} or {self.cond(scope, depth + 1)}"
        if kind == "not":
            return f"not {self.comparison(scope)}"
        if kind == "notor":
            return f"not ({self.comparison(scope)} or {self.comparison(scope)})"
        if kind == "chained":
            if scope.idx and self.chance(0.4):
                j = self.pick(scope.idx)
                return f"0 <= {j} * 2 < n + {self.r.randint(0, 3)}"
            lo = self.lit(-3, 2)
            middle = self.pick([f"{self.var(scope)} * 2",
                                f"{self.var(scope)} + {self.lit(0, 3)}",
                                f"{self.var(scope)} - {self.var(scope)}",
                                self.var(scope)])
            return f"{lo} <= {middle} < {self.operand(scope)}"
        if kind == "in":
            values = ", ".join(self.lit(-2, 6) for _ in range(self.r.randint(1, 3)))
            if values.count(",") == 0:
                values += ","
            return f"{self.var(scope)} {self.pick(['in', 'not in'])} ({values})"
        if kind == "absround":
            if self.chance(0.5):
                return f"abs({self.var(scope)}) > {self.lit(0, 4)}"
            return f"round({self.var(scope)}) == {self.r.randint(0, 4)}"
        # anyall
        return f"{self.pick(['any', 'all'])}(v > {self.lit(-2, 4)} for v in t)"

    # -------------------------------------------------------------- statements
    def block(self, indent, depth, scope, in_loop):
        lines = []
        for i in range(self.r.randint(1, 3)):
            if i and self.budget <= 0:
                break
            stmt, terminal = self.statement(indent, depth, scope, in_loop)
            lines.extend(stmt)
            if terminal:     # nothing after an unconditional break/continue/return
                break
        return lines

    def return_value(self, scope):
        values = [self.num(scope, 1) for _ in range(3)]
        return "return " + ", ".join(values + self.extras)

    def statement(self, indent, depth, scope, in_loop):
        pad = "    " * indent
        self.budget -= 1
        room = depth < self.MAX_DEPTH and self.budget > 0
        choices = ["assign", "assign", "augassign"]
        if room:
            for name in ("while", "for_range", "for_tensor"):
                if self.on(name):
                    choices += [name, name]
        if depth <= self.MAX_DEPTH and self.budget > 0 and self.on("if"):
            choices += ["if", "if"]
        if in_loop:
            choices += [n for n in ("break", "continue") if self.on(n)]
        if self.on("return"):
            choices.append("return")
        for name in ("print", "assert"):
            if self.on(name):
                choices.append(name)
        if self.on("builtins"):
            choices.append("divmod")
        if self.on("lists"):
            choices += ["append", "append"] if in_loop else ["append"]
        if self.on("subscript"):
            choices += ["pair", "dict"]
        if self.on("attribute"):
            choices.append("attr")
        if self.on("mutations"):
            choices.append("mutate")
        if self.on("partial") and depth <= self.MAX_DEPTH and self.budget > 0:
            choices += ["partial", "partial"]
        kind = self.pick(choices)

        if kind == "assign":
            return [f"{pad}{self.var_target(scope)} = {self.num(scope)}"], False
        if kind == "augassign":
            op = self.pick(["+=", "-=", "//="])
            value = self.intlit(2, 2) if op == "//=" else self.lit(1, 5)
            return [f"{pad}{self.var_target(scope)} {op} {value}"], False
        if kind in ("break", "continue", "return"):
            stmt = kind if kind != "return" else self.return_value(scope)
            if self.chance(0.25):
                return [f"{pad}{stmt}"], True
            return [f"{pad}if {self.cond(scope)}:", f"{pad}    {stmt}"], False
        if kind == "print":
            return [f"{pad}{self.print_stmt(scope)}"], False
        if kind == "assert":
            return [f"{pad}{self.assert_stmt(scope)}"], False
        if kind == "divmod":
            a, b = self.r.sample(["a", "b", "c"], 2)
            return [f"{pad}{a}, {b} = divmod({self.var(scope)}, {self.intlit(2, 4)})"], False
        if kind == "append":
            return [f"{pad}xs.append({self.num(scope)})"], False
        if kind == "pair":
            k = self.r.randint(0, 1)
            if self.chance(0.5):
                return [f"{pad}pair[{k}] = {self.num(scope)}"], False
            return [f"{pad}pair[{k}] += {self.lit(1, 4)}"], False
        if kind == "dict":
            if self.chance(0.5):
                return [f"{pad}d['k'] += {self.lit(1, 4)}"], False
            return [f"{pad}d['k'] = (d['k'] + {self.num(scope)}) % 97"], False
        if kind == "attr":
            if self.chance(0.5):
                return [f"{pad}obj.count += {'1.0' if self.float else '1'}"], False
            return [f"{pad}obj.count = (obj.count + {self.num(scope)}) % 97"], False
        if kind == "mutate":
            return [pad + self.pick([f"bump(d, {self.num(scope)})",
                                     f"d.update(k=(d['k'] + {self.num(scope)}) % 97)",
                                     f"obj.add({self.num(scope)})"])], False
        if kind == "partial":
            return self.partial(indent, depth, scope, in_loop), False
        if kind == "if":
            lines = [f"{pad}if {self.cond(scope)}:"]
            lines += self.block(indent + 1, depth + 1, scope.copy(), in_loop)
            for _ in range(self.r.randint(0, 2)):
                lines.append(f"{pad}elif {self.cond(scope)}:")
                lines += self.block(indent + 1, depth + 1, scope.copy(), in_loop)
            if self.chance(0.5):
                lines.append(f"{pad}else:")
                lines += self.block(indent + 1, depth + 1, scope.copy(), in_loop)
            return lines, False
        return self.loop(kind, indent, depth, scope, in_loop), False

    def var_target(self, scope):
        # assignments go to a, b, c (and sometimes x or y); loop variables stay read-only
        return self.pick(["a", "b", "c", "a", "b", "c", "x", "y"])

    def bound(self, scope):
        kinds = ["const", "n", "nmod"]
        if not self.float:
            kinds.append("varmod")
        kind = self.pick(kinds)
        if kind == "const":
            return str(self.r.randint(0, 4))
        if kind == "n":
            return "n"
        if kind == "nmod":
            return f"n % {self.r.randint(2, 4)} + {self.r.randint(0, 1)}"
        return f"{self.var(scope)} % {self.r.randint(2, 5)}"

    def loop(self, kind, indent, depth, scope, in_loop):
        pad = "    " * indent
        k = next(self.fresh)
        inner = scope.copy()
        if kind == "while":
            counter = f"i{k}"
            if self.on("weak") and self.float and self.chance(0.4):
                test = f"{counter} < {self.var(scope)} % 4"   # Python int against a float tensor
            else:
                test = f"{counter} < {self.bound(scope)}"
            if self.chance(0.35):
                test += f" and {self.cond(scope, 1)}"
            lines = [f"{pad}{counter} = {self.counter_zero()}", f"{pad}while {test}:",
                     f"{pad}    {counter} += 1"]
            inner.counters.append(counter)
        elif kind == "for_range":
            var = f"j{k}"
            form = self.r.randint(0, 4)
            if form <= 1:
                header = f"for {var} in range({self.bound(scope)}):"
            elif form == 2:
                header = f"for {var} in range({self.r.randint(-2, 1)}, {self.bound(scope)}):"
            elif form == 3 and self.on("builtins"):
                header = f"for {var} in range({self.bound(scope)}, {self.r.randint(-2, 0)}, -1):"
            else:
                header = f"for {var} in range(n):"
            lines = [f"{pad}{header}"]
            inner.idx.append(var)
        else:
            var = f"v{k}"
            if self.on("enumerate") and self.chance(0.3):
                j = f"j{k}"
                lines = [f"{pad}for {j}, {var} in enumerate(t):"]
                inner.idx.append(j)
            else:
                lines = [f"{pad}for {var} in t:"]
            inner.num.append(var)
        lines += self.block(indent + 1, depth + 1, inner, True)
        if self.on("loop_else") and self.chance(0.25):
            lines.append(f"{pad}else:")
            lines += self.block(indent + 1, depth + 1, scope.copy(), in_loop)
        return lines

    def print_stmt(self, scope):
        args = []
        for _ in range(self.r.randint(1, 3)):
            kind = self.r.randint(0, 3)
            if kind == 0:
                args.append(f"'p{self.r.randint(0, 9)}'")
            elif kind == 1 and self.on("fstring"):
                v = self.var(scope)
                args.append(self.pick([f"f'{v}={{{v}}}'", f"f'<{{{v}}} {{{self.var(scope)}}}>'"]))
            elif kind == 2 and (scope.idx or scope.counters):
                args.append(self.pick(scope.idx + scope.counters))
            elif kind == 3 and self.on("arith") and self.chance(0.5):
                v = self.var(scope)
                forms = [f"float({v})", f"int({v})", f"{v} % {self.divisor()}",
                         f"{v} // {self.divisor()}"]
                if not self.float:   # (a float64 in Python: exact for ints only)
                    forms.append(f"({v} * {v} + 1) ** -1")
                args.append(self.pick(forms))
            else:
                args.append(self.var(scope))
        sep = ", sep=','" if self.chance(0.15) else ""
        return f"print({', '.join(args)}{sep})"

    def assert_stmt(self, scope):
        v = self.var(scope)
        cond = self.pick([f"{v} == {v}", f"{v} < 1000", f"abs({v}) >= 0",
                          f"len(t) == {self.length}", f"{v} > -1000"])
        if self.chance(0.5):
            msg = f"f'bad {{{v}}}'" if self.on("fstring") else "'bad value'"
            return f"assert {cond}, {msg}"
        return f"assert {cond}"

    def partial(self, indent, depth, scope, in_loop):
        """A name bound on some paths only, used where Python finds it bound."""
        pad = "    " * indent
        k = next(self.fresh)
        forms = [0, 1, 4]
        if self.on("for_tensor"):
            forms.append(2)
        if self.on("for_range"):
            forms.append(3)
        form = self.pick(forms)
        use = self.pick(["a", "b", "c"])
        if form == 0:     # bound in both branches
            name = f"e{k}"
            lines = [f"{pad}if {self.cond(scope)}:", f"{pad}    {name} = {self.num(scope)}"]
            lines += [f"{pad}else:", f"{pad}    {name} = {self.num(scope)}",
                      f"{pad}{use} = ({use} + {name}) % 97"]
            scope.num.append(name)
            return lines
        if form == 1:     # bound in one branch, used only there
            name = f"e{k}"
            return [f"{pad}if {self.cond(scope)}:", f"{pad}    {name} = {self.num(scope)}",
                    f"{pad}    {use} = ({use} - {name}) % 97"]
        if form == 2:     # bound in a loop that runs at least once (t is never empty)
            name, var = f"last{k}", f"v{k}"
            inner = scope.copy()
            inner.num.append(var)
            lines = [f"{pad}for {var} in t:", f"{pad}    {name} = {self.num(inner)}"]
            if self.budget > 0 and self.chance(0.5):
                lines += self.block(indent + 1, depth + 1, inner, True)
            lines.append(f"{pad}{use} = ({use} + {name} + {var}) % 97")
            scope.num += [name, var]
            return lines
        if form == 3:     # loop index after a range loop that runs at least once
            var, name = f"j{k}", f"last{k}"
            inner = scope.copy()
            inner.idx.append(var)
            lines = [f"{pad}for {var} in range(n + 1):", f"{pad}    {name} = {self.num(inner)}"]
            lines += [f"{pad}if {var} > {self.r.randint(0, 3)}:",
                      f"{pad}    {use} = ({use} + {name}) % 97"]
            scope.num.append(name)
            scope.idx.append(var)
            return lines
        # defined on every path that does not return
        name = f"z{k}"
        if self.on("return"):
            lines = [f"{pad}if {self.cond(scope)}:", f"{pad}    if {self.cond(scope)}:",
                     f"{pad}        {self.return_value(scope)}", f"{pad}    else:",
                     f"{pad}        {name} = {self.num(scope)}", f"{pad}else:",
                     f"{pad}    {name} = {self.num(scope)}"]
        elif self.on("for_tensor") and self.on("break") and self.on("loop_else"):
            inner = scope.copy()
            inner.num.append(f"v{k}")
            lines = [f"{pad}for v{k} in t:", f"{pad}    if {self.cond(inner)}:",
                     f"{pad}        {name} = {self.num(inner)}", f"{pad}        break",
                     f"{pad}else:", f"{pad}    {name} = {self.num(scope)}"]
        else:
            lines = [f"{pad}{name} = {self.num(scope)}"]
        lines.append(f"{pad}{use} = ({use} + {name}) % 97")
        scope.num.append(name)
        return lines

    # -------------------------------------------------------------- program
    def program(self):
        lines = ["def f(x, y, n, t):"]
        for v in ("a", "b", "c"):
            if self.chance(0.5) and (self.on("weak") or self.dtype in ("int32", "float32")):
                lines.append(f"    {v} = {self.lit(0, 5)}")
            else:
                lines.append(f"    {v} = {self.pick(['x', 'y'])} % {self.intlit(2, 7)}")
        if self.on("lists"):
            lines.append("    xs = [x]")
            self.extras.append("xs")
        if self.on("subscript"):
            lines.append(f"    pair = [{self.zero()}, {self.zero()}]")
        if self.on("subscript") or self.on("mutations"):
            lines.append(f"    d = {{'k': {self.zero()}}}")
            self.extras += ["pair", "d['k']"] if self.on("subscript") else ["d['k']"]
        if self.on("attribute") or self.on("mutations"):
            lines.append(f"    obj = Box({self.zero()})")
            self.extras.append("obj.count")
        scope = _Scope(["x", "y", "a", "b", "c"], ["n"], [])
        lines += self.block(1, 0, scope, False)
        if self.on("lists"):
            lines += self.list_epilogue(scope)
        lines.append("    return " + ", ".join(["a", "b", "c"] + self.extras))
        return "\n".join(lines) + "\n"

    def list_epilogue(self, scope):
        lines = []
        if self.chance(0.4):
            lines.append(f"    xs[0] = {self.num(scope)}")
        if self.chance(0.4):
            lines.append("    a = (a + xs[-1]) % 97")
        if self.chance(0.4):
            lines += [f"    if len(xs) > {self.r.randint(1, 4)}:",
                      f"        b = b + {self.lit(1, 3)}"]
        if self.chance(0.4):
            lines.append("    c = (c + sum(xs)) % 97")
        if self.chance(0.3):
            lines += ["    for w in xs:", "        a = (a + w) % 97"]
        if self.chance(0.3):
            lines += ["    p = xs.pop()", "    b = (b + p) % 97"]
        return lines


# ------------------------------------------------------------------ programs

@dataclass
class Program:
    index: int
    dtype: str
    source: str
    inputs: list          # [(x, y, n, t)] as Python values
    returns: tuple = ("a", "b", "c")   # what the return tuple holds

    def show(self):
        return (f"# program {self.index}, dtype {self.dtype}\n{self.source}"
                f"# inputs (x, y, n, t): {self.inputs}\n")


def _values(rng, dtype, length):
    def value():
        if dtype.startswith("float"):
            return rng.randint(-4, 12) / 2
        return rng.randint(-4, 9)
    x, y = value(), value()
    if rng.random() < 0.2:
        x = 0.0 if dtype.startswith("float") else 0     # exercises `x or 5`
    return (x, y, rng.randint(0, 4), [value() for _ in range(length)])


def make_program(seed, index, features=FEATURES, dtype=None, size=None):
    """Program number ``index`` of the stream ``seed`` (deterministic)."""
    rng = random.Random(f"{seed}:{index}:{','.join(sorted(features))}")
    dtype = dtype or DTYPES[index % len(DTYPES)]
    gen = Generator(rng, dtype, features, size)
    source = HEADER + gen.program()
    inputs = [_values(rng, dtype, gen.length) for _ in range(3)]
    return Program(index, dtype, source, inputs, ("a", "b", "c", *gen.extras))


def int_dtype_for(dtype):
    return {"int32": "int32", "int64": "int64", "float32": "int32", "float64": "int64"}[dtype]


# ------------------------------------------------------------------ running

_counter = itertools.count()
_DIR = None


def _load(source):
    global _DIR
    if _DIR is None:
        _DIR = Path(tempfile.mkdtemp(prefix="kgraph_programs_"))
    name = f"kgraph_generated_{os.getpid()}_{next(_counter)}"
    path = _DIR / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.f


class Timeout(Exception):
    pass


class _alarm:
    def __init__(self, seconds):
        self.seconds = seconds

    def _fire(self, *_):
        raise Timeout(f"no result after {self.seconds} s")

    def __enter__(self):
        self.old = signal.signal(signal.SIGALRM, self._fire)
        signal.alarm(self.seconds)

    def __exit__(self, *exc):
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self.old)
        return False


@dataclass
class Outcome:
    program: Program
    status: str                 # "ok", "invalid" (generator bug), "fail"
    path: str = ""              # which path failed
    message: str = ""
    cause: str = ""
    detail: str = ""


def _exact(expected, actual):
    from tests.reference_helpers import same
    return same(expected, actual, rel=0.0, abs_=0.0)


def run_program(program, timeout=30):
    """Run ``program`` as Python, as to_graph on Python values, as kgraph.function."""
    import tensorflow as tf

    import kgraph
    from tests.reference_helpers import run, to_python

    f = _load(program.source)
    expected = []
    try:
        with _alarm(5):
            for args in program.inputs:
                expected.append(run(f, [args[0], args[1], args[2], list(args[3])], {}))
    except Exception as e:   # the generator made an invalid program
        return Outcome(program, "invalid", "python", f"{type(e).__name__}: {e}")

    dtype = tf.as_dtype(program.dtype)
    idtype = tf.as_dtype(int_dtype_for(program.dtype))
    paths = [("to_graph on Python values", lambda a: kgraph.to_graph(f), lambda a: list(a))]
    graph = []

    def graph_fn(_):
        if not graph:
            graph.append(kgraph.function(f))
        return graph[0]

    def tensors(a):
        return [tf.constant(a[0], dtype), tf.constant(a[1], dtype), tf.constant(a[2], idtype),
                tf.constant(a[3], dtype)]
    paths.append(("kgraph.function on tensors", graph_fn, tensors))

    for label, runner, convert in paths:
        for args, (want, want_out) in zip(program.inputs, expected):
            try:
                with _alarm(timeout):
                    got, got_out = run(runner(args), convert(args), {})
            except Exception as e:
                text = f"{type(e).__name__}: {e}"
                return Outcome(program, "fail", label, text, detail=traceback.format_exc())
            if not _exact(want, got):
                wrong = [name for name, w, g in zip(program.returns, want, got)
                         if not _exact(w, g)] if isinstance(want, tuple) else []
                return Outcome(program, "fail", label,
                               f"wrong result on {args}: got {to_python(got)!r}, Python {want!r}"
                               f" (differs: {', '.join(wrong)})")
            if got_out != want_out:
                return Outcome(program, "fail", label,
                               f"wrong output on {args}: printed {got_out!r}, "
                               f"Python printed {want_out!r}")
    return Outcome(program, "ok")


# ------------------------------------------------------------------ classification

# (cause, owner, pattern on "path: message"); first match wins.
CAUSES = (
    ("trace-time hang (no result in 30 s)", "lists/values", r"Timeout"),
    ("recursion while tracing", "values", r"RecursionError|maximum recursion"),
    ("and/or value is a bool, not the deciding operand", "exprs",
     r"bool tensor|bool before|bool after|type bool that does not match|match type bool|"
     r"Expected bool"),
    ("graph list: item assignment / returned / crosses a boundary", "lists",
     r"GraphList|must return zero or more Tensors|structure inside the .*\[\]"),
    ("dtype mismatch int32/int64 (weak Python int staged as int32)", "values",
     r"(int32.*int64|int64.*int32)"),
    ("dtype mismatch float32/float64 or int/float", "values",
     r"(float32.*float64|float64.*float32|int\d\d.*float\d\d|float\d\d.*int\d\d|"
     r"int and a float|float and an int|of type 'float'|of type 'int')"),
    ("a tensor iterated in Python (comprehension, min/max/sum over t, enumerate)", "exprs",
     r"Iterating over a symbolic"),
    ("tensor used as a Python bool (chained comparison, in, any/all, comprehension if)",
     "exprs", r"OperatorNotAllowedInGraph"),
    ("builtin not supported on tensors (divmod, round, ...)", "exprs",
     r"for divmod\(\)|has no attribute 'astype'"),
    ("subscript/attribute target changed in a graph branch or loop leaks a tensor", "state",
     r"InaccessibleTensorError|is accessed from|out of scope"),
    ("name bound in a loop, used after it (loop runs at least once)", "state",
     r"defined inside the .* loop but not before it"),
    ("name bound on every path that does not return: OneBranchError", "state",
     r"OneBranchError|only one branch"),
    ("early return: 'return value is None' on a path that falls through", "state",
     r"return value is None in one branch"),
    ("return values of different structure on two paths (Python list vs graph list?)",
     "lists/state", r"the return value is a Python \w+ .* in the other"),
    ("name undefined", "state", r"undefined|not defined|Undefined|before assignment|Unbound"),
    ("tf.cond branches of different structure (raw TensorFlow error)", "values",
     r"true_fn and false_fn"),
    ("f-string / str() of a tensor prints Tensor(...)", "exprs",
     r"wrong output.*printed '[^']*Tensor\("),
    ("wrong printed output", "?", r"wrong output"),
    ("wrong result: a subscript/attribute target (both branches' writes applied?)", "state",
     r"wrong result.*differs: (pair|d\['k'\]|obj.count)(, (pair|d\['k'\]|obj.count))*\)"),
    ("wrong result: a list built in a graph loop", "lists", r"wrong result.*differs: xs\)"),
    ("wrong result: and/or gave a bool", "exprs", r"wrong result.*got .*\b(True|False)\b"),
    ("wrong result", "?", r"wrong result"),
)


def classify(outcome):
    text = f"{outcome.message}"
    for cause, owner, pattern in CAUSES:
        if re.search(pattern, text, re.S):
            return cause, owner
    first = outcome.message.split("\n")[0][:90]
    return f"other: {first}", "?"


# ------------------------------------------------------------------ shrinking

def _chunks(lines):
    """(start, end) of each statement with its nested block (lines after the def)."""
    out = []
    for i, line in enumerate(lines):
        if i == 0 or not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        j = i + 1
        while j < len(lines) and (len(lines[j]) - len(lines[j].lstrip()) > indent):
            j += 1
        out.append((i, j))
    return out


def _names_bound(source):
    """Every name ``f`` reads is bound somewhere in it (or is global): a deletion
    that leaves a read of a name on a path Python did not take would make an
    invalid program that only the graph (which traces every path) notices."""
    import ast
    import builtins

    fn = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)][-1]
    stored = {a.arg for a in fn.args.args} | set(dir(builtins)) | {"Box"}
    loaded = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else stored).add(node.id)
    return loaded <= stored


def shrink(program, cause, budget=60):
    """A smaller program that still fails with the same cause (greedy chunk deletion)."""
    head, body = program.source.split("def f(", 1)
    lines = ("def f(" + body).rstrip("\n").split("\n")
    prologue = 1      # the initial bindings stay: every path's return reads them
    while prologue < len(lines) and re.match(r"    (a|b|c|xs|pair|d|obj) = ", lines[prologue]):
        prologue += 1
    tries = 0
    changed = True
    while changed and tries < budget:
        changed = False
        for start, end in sorted(_chunks(lines), key=lambda c: c[0] - c[1]):
            if tries >= budget:
                break
            if (re.match(r"\s*i\d+ \+= 1$", lines[start]) or start == len(lines) - 1
                    or start < prologue):
                continue          # a while counter's increment keeps the loop bounded;
                                  # the final return keeps every path's structure
            candidate = lines[:start] + lines[end:]
            source = head + "\n".join(candidate) + "\n"
            try:
                compile(source, "<shrink>", "exec")
            except SyntaxError:
                continue
            if not _names_bound(source):
                continue
            tries += 1
            trial = Program(program.index, program.dtype, source, program.inputs, program.returns)
            outcome = run_program(trial, timeout=10)
            if outcome.status == "fail" and classify(outcome)[0] == cause:
                lines = candidate
                program = trial
                changed = True
                break
    return program


# ------------------------------------------------------------------ known repros

def run_repros():
    """[(area, title, dtype, source, inputs, outcome)] for tests/property_repros.py."""
    from tests.property_repros import REPROS

    out = []
    for i, (area, title, dtype, source, inputs) in enumerate(REPROS):
        program = Program(i, dtype, source.lstrip("\n"), inputs, ())
        outcome = run_program(program, timeout=20)
        if outcome.status == "fail":
            outcome.cause = classify(outcome)[0]
        out.append((area, title, dtype, program.source, inputs, outcome))
    return out


def repros_markdown(results):
    lines = []
    for area in ("values", "exprs", "lists", "state"):
        rows = [r for r in results if r[0] == area]
        failing = [r for r in rows if r[5].status != "ok"]
        lines.append(f"\n## {area}: {len(failing)} of {len(rows)} repros still fail\n")
        for _, title, dtype, source, inputs, outcome in rows:
            if outcome.status == "ok":
                lines.append(f"- FIXED: {title}")
                continue
            message = outcome.message.split("\n")[0]
            message = re.sub(r"/tmp/\S+?\.py", "<file>", message)[:300]
            lines += [f"### {title} ({dtype})", "", "```python", source.rstrip(),
                      f"# f{inputs[0]}", "```", f"-> {outcome.path}: `{message}`", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------ command line

def run_many(n, seed, features, dtypes=DTYPES, verbose=False, shrink_budget=0, log=None):
    results = []
    started = time.perf_counter()
    for i in range(n):
        program = make_program(seed, i, features, dtypes[i % len(dtypes)])
        outcome = run_program(program)
        if outcome.status == "fail":
            outcome.cause, owner = classify(outcome)
            outcome.cause = f"[{owner}] {outcome.cause}"
        results.append(outcome)
        if verbose and outcome.status != "ok":
            print(f"--- {outcome.status}: {outcome.cause or ''}\n{outcome.path}: "
                  f"{outcome.message[:600]}\n{program.show()}", file=log or sys.stdout, flush=True)
    return results, time.perf_counter() - started


def summarize(results, seconds, title=""):
    n = len(results)
    fails = [r for r in results if r.status == "fail"]
    invalid = [r for r in results if r.status == "invalid"]
    by_cause = collections.Counter(r.cause for r in fails)
    by_dtype = collections.Counter(r.program.dtype for r in fails)
    lines = [f"{title}{len(fails)} of {n} programs fail ({len(invalid)} invalid, "
             f"{seconds:.0f} s, {seconds / max(n, 1):.2f} s/program)"]
    for cause, count in by_cause.most_common():
        lines.append(f"  {count:4d}  {cause}")
    if fails:
        lines.append("  by dtype: " + ", ".join(f"{d} {by_dtype[d]}" for d in DTYPES))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--features", default="all",
                        help="comma-separated constructs, 'all' or 'base' (+name to add)")
    parser.add_argument("--dtype", default=None, help="only this dtype")
    parser.add_argument("--each-feature", action="store_true",
                        help="base constructs plus one construct at a time")
    parser.add_argument("--show", type=int, default=None, help="print program N and exit")
    parser.add_argument("--verbose", action="store_true", help="print every failing program")
    parser.add_argument("--repros", action="store_true",
                        help="re-check tests/property_repros.py; print Markdown")
    parser.add_argument("--shrink", action="store_true",
                        help="print a shrunk repro of the first failure of each cause")
    args = parser.parse_args(argv)

    features = parse_features(args.features)
    dtypes = (args.dtype,) if args.dtype else DTYPES
    if args.show is not None:
        print(make_program(args.seed, args.show, features, dtypes[args.show % len(dtypes)]).show())
        return 0
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    if args.repros:
        print(repros_markdown(run_repros()))
        return 0
    if args.each_feature:
        for name in FEATURES:
            if name in BASE:
                continue
            results, seconds = run_many(args.n, args.seed, BASE + (name,), dtypes, args.verbose)
            print(summarize(results, seconds, f"base+{name}: "), flush=True)
        results, seconds = run_many(args.n, args.seed, BASE, dtypes, args.verbose)
        print(summarize(results, seconds, "base: "), flush=True)
        return 0
    results, seconds = run_many(args.n, args.seed, features, dtypes, args.verbose)
    print(f"features: {','.join(features)}")
    print(summarize(results, seconds))
    if args.shrink:
        seen = set()
        for r in results:
            if r.status == "fail" and r.cause not in seen:
                seen.add(r.cause)
                small = shrink(r.program, r.cause.split("] ", 1)[1])
                print(f"\n### {r.cause}\n{r.path}: {r.message[:300]}\n{small.show()}")
    return 1 if any(r.status != "ok" for r in results) else 0


def parse_features(text):
    if text == "all":
        return FEATURES
    features = []
    for part in text.split(","):
        part = part.strip().lstrip("+")
        if part == "base":
            features += BASE
        elif part:
            if part not in FEATURES:
                raise SystemExit(f"unknown feature {part!r}; known: {', '.join(FEATURES)}")
            features.append(part)
    return tuple(dict.fromkeys(features))


if __name__ == "__main__":
    sys.exit(main())
