"""Conversion time: kgraph vs TensorFlow AutoGraph (``tf.autograph.to_code``).

    python3 -m benchmarks.conversion             # full run (5-10 min, depending on load)
    python3 -m benchmarks.conversion --quick     # smoke run (~1-2 min)
    python3 -m benchmarks.conversion --markdown  # tables as Markdown
    python3 -m benchmarks.conversion --show dense:50   # print a generated function

Functions of ~10, ~50 and ~200 lines of realistic control flow (if/elif/else,
while and for loops, break, continue, early returns, list appends, nested
loops) are generated deterministically, in two families: "dense" (every
block is control flow) and "sparse" (3 blocks in 4 are straight-line
arithmetic). Each is written to a .py file and imported, so both converters
read real source.

Caches are defeated on both sides: every sample (untimed setup) writes the
module to a new file, with new function names, and imports it. New names
matter: code objects compare and hash by value (name, bytecode, constants,
line numbers; not the file name), and AutoGraph caches conversions in a
WeakKeyDictionary keyed by code object, so re-importing the same text can
hit its cache. kgraph's caches are also cleared (``api_impl.clear_cache()``).
The timed call is ``api_impl.convert_code(fn)`` for kgraph (read source,
parse, passes, generate code, compile; ``kgraph.to_code`` is this plus an
attribute read) and ``tf.autograph.to_code(fn)`` for AutoGraph (read source,
parse, transform, generate, load its module, return the source). linecache
is cold for both (new file).

Before timing, each generated function is run as plain Python on ints and as
``kgraph.function`` on int32 tensors, and the results are compared.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import os
import random
import shutil
import sys
import tempfile

try:
    from benchmarks import common
except ImportError:   # run as a script: python3 benchmarks/conversion.py
    import common

common.quiet_tensorflow()

import tensorflow as tf  # noqa: E402

import kgraph  # noqa: E402
from kgraph.convert import api_impl  # noqa: E402

tf.get_logger().setLevel("ERROR")
tf.autograph.set_verbosity(0)

TARGETS = (10, 50, 200)


# ---------------------------------------------------------------------------
# Generated functions

# Blocks of realistic control flow over the locals a, b, c (ints or int
# tensors), xs (a list) and the arguments n (loop bound) and x. Values stay
# small (everything is reduced modulo a prime now and then) so int32 tensors
# and Python ints agree. {u} is a unique suffix, {k} a small constant.
BLOCKS = {
    "if_elif_else": """\
if a % {k} == 0:
    b = b + a // {k}
elif a > c:
    c = c + 1
else:
    a = a + {k}
    b = b - 1
""",
    "while_break": """\
i{u} = 0
while i{u} < n:
    a = (a + i{u} * {k}) % 10007
    if a > 9000:
        a = a - 9000
        break
    i{u} += 1
""",
    "for_continue_append": """\
for j{u} in range(n):
    if j{u} % {k} == 0:
        continue
    xs.append(a + j{u})
    b = (b + j{u}) % 10007
""",
    "nested_break": """\
for p{u} in range(n):
    q{u} = 0
    while q{u} < p{u}:
        if (p{u} + q{u}) % {k} == 0:
            break
        c = (c + q{u}) % 10007
        q{u} += 1
    b = b + p{u}
""",
    "early_return": """\
if a + b == {big}:
    return a - b
""",
    "arith": """\
a = (a * {k} + b) % 10007
c = (c + a % {k}) % 10007
""",
    "return_in_loop": """\
for r{u} in range(n):
    if (a + r{u}) % 97 == {k}:
        return a + c
    c = (c + 2 * r{u}) % 10007
""",
    "while_continue": """\
w{u} = 0
while w{u} < n:
    w{u} += 1
    if (b + w{u}) % {k} == 1:
        continue
    a = (a + w{u}) % 10007
    if a % 5 == 0 and b % 2 == 0:
        b = b + 1
    elif not a % 7 == 0:
        c = c - 1
""",
    "break_last": """\
for t{u} in range(n):
    a = (a + t{u} * {k}) % 10007
    if a > 5000:
        break
""",
    # straight-line code, for the "sparse" family
    "straight": """\
d{u} = (a * {k} + c) % 10007
e{u} = (d{u} + b * {k}) % 10007
a = (a + d{u} - e{u}) % 10007
b = (b + e{u} // {k}) % 10007
c = (c + d{u} % 97) % 10007
""",
}

# "dense": every block is control flow (bar a 2-line arithmetic one), the
# worst case for a converter. "sparse": 3 blocks of 4 are 5 lines of
# straight-line arithmetic, closer to model code.
FAMILIES = ("dense", "sparse")

HEADER = """\
def {name}(n, x):
    a = x
    b = 0
    c = 1
    xs = []
"""
FOOTER = "    return a + b + c + len(xs)\n"


def _indent(text, prefix="    "):
    return "".join(prefix + line if line.strip() else line
                   for line in text.splitlines(keepends=True))


def generate(name, target_lines, seed, family="dense"):
    """Source of a function of about ``target_lines`` lines (def to return)."""
    rng = random.Random(seed)
    control = [b for b in BLOCKS if b != "straight"]
    body, lines = [], HEADER.count("\n") + FOOTER.count("\n")
    order = []

    def block(kind):
        return BLOCKS[kind].format(u=len(body), k=rng.randint(2, 9), big=rng.randint(40, 90))

    while True:
        if family == "sparse" and len(body) % 4 != 3:
            kind = "straight"
        else:
            # Every control-flow kind once before any repeats, in a seeded order.
            if not order:
                order = control[:]
                rng.shuffle(order)
            kind = order.pop()
        text = block(kind)
        if lines + text.count("\n") > target_lines:
            # Top up with the largest control-flow block that still fits, else stop.
            room = target_lines - lines
            fits = [k for k in control if BLOCKS[k].count("\n") <= room]
            if not fits or room < 2:
                break
            most = max(BLOCKS[k].count("\n") for k in fits)
            text = block(rng.choice([k for k in fits if BLOCKS[k].count("\n") == most]))
        body.append(_indent(text))
        lines += text.count("\n")
    return HEADER.format(name=name) + "".join(body) + FOOTER


def module_source(family="dense"):
    """Source of a module holding the generated functions of ``family``, with
    ``{suffix}`` in their names; returns (source, {target: name without suffix})."""
    names = {t: f"{family}_{t}" for t in TARGETS}
    src = "\n\n".join(generate(names[t] + "{suffix}", t, seed=t, family=family)
                       for t in TARGETS)
    return '"""Generated by benchmarks/conversion.py."""\n\n\n' + src, names


_counter = itertools.count()
_loaded = []


def fresh_import(directory, source):
    """Write ``source`` to a new file and import it as a brand-new module;
    return (module, suffix of its function names).

    Both the file and the function names are new each time. The names
    matter: code objects compare (and hash) by value -- name, code, constants
    and line numbers, *not* the file name -- so a fresh import of the same
    text gives code objects equal to the previous ones, and AutoGraph's
    per-code-object cache (a WeakKeyDictionary) hits whenever an equal code
    object is still alive somewhere. The new file means a cold linecache,
    for both converters.
    """
    while _loaded:                       # keep sys.modules and the directory small
        name, path = _loaded.pop()
        sys.modules.pop(name, None)
        try:
            os.remove(path)
        except OSError:
            pass
    k = next(_counter)
    name = f"kgraph_bench_generated_{k}"
    path = os.path.join(directory, name + ".py")
    with open(path, "w") as f:
        f.write(source.replace("{suffix}", f"_{k}"))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    _loaded.append((name, path))
    spec.loader.exec_module(module)
    return module, f"_{k}"


def fresh_function(directory, source, name):
    module, suffix = fresh_import(directory, source)
    return getattr(module, name + suffix)


def function_lines(fn):
    import inspect
    return len(inspect.getsourcelines(fn)[0])


# ---------------------------------------------------------------------------
# Correctness preflight

INPUTS = [(n, x) for n in (0, 1, 4, 7) for x in (0, 3, 58, 4999, 9001)]


def check(fn):
    """Compare plain Python (ints) with kgraph.function (int32 tensors) on
    INPUTS. Returns a list of problem descriptions (empty: all agree).

    (tf.function is not checked: AutoGraph runs ``xs.append`` inside a tensor
    loop once, at trace time, so ``len(xs)`` differs -- a documented AutoGraph
    limitation, irrelevant to conversion time.)
    """
    problems = []
    kg = kgraph.function(fn)
    for n, x in INPUTS:
        expected = fn(n, x)
        try:
            got = int(kg(tf.constant(n), tf.constant(x)))
        except Exception as e:  # noqa: BLE001 - reported
            problems.append(f"{fn.__name__}{(n, x)}: kgraph.function raised "
                            f"{type(e).__name__}: {str(e).strip().splitlines()[0][:200]}")
            continue
        if got != expected:
            problems.append(f"{fn.__name__}{(n, x)}: kgraph.function = {got}, "
                            f"Python = {expected}")
    return problems


# ---------------------------------------------------------------------------

def main(argv=None):
    tmp = tempfile.mkdtemp(prefix="kgraph_bench_")
    try:
        return _main(argv, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _main(argv, tmp):
    parser = common.add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    parser.add_argument("--show", metavar="FAMILY:LINES", default=None,
                        help="print a generated function (e.g. dense:50) and exit")
    parser.add_argument("--family", choices=FAMILIES, action="append", default=None,
                        help="only this family of generated functions (repeatable)")
    parser.add_argument("--no-check", action="store_true",
                        help="skip the correctness preflight")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 15)
    warmup = 1 if args.quick else 2
    families = args.family or list(FAMILIES)

    if args.show:
        family, _, size = args.show.partition(":")
        print(generate(f"{family}_{size}", int(size), seed=int(size), family=family), end="")
        return 0

    common.print_machine_info()
    print(f"mode: {'quick' if args.quick else 'full'}; {repeats} interleaved rounds, "
          f"{warmup} warm-up conversions; generated files in {tmp}")

    table = common.Table(
        ["function", "lines", "kgraph", "kgraph IQR", "AutoGraph", "AutoGraph IQR",
         "AutoGraph/kgraph [paired q1-q3]"],
        title="Median conversion time (caches defeated; interleaved)")
    problems = []
    for family in families:
        source, names = module_source(family)
        if not args.no_check:
            for t in TARGETS:
                problems += check(fresh_function(tmp, source, names[t]))
        for t in TARGETS:
            name = names[t]
            lines = function_lines(fresh_function(tmp, source, name))

            def setup(name=name, source=source):
                return fresh_function(tmp, source, name)

            stats = common.run_interleaved(
                [common.Variant("kgraph", kgraph_convert, setup),
                 common.Variant("AutoGraph", autograph_convert, setup)],
                repeats=repeats, warmup=warmup, progress=common.progress_printer(name))
            kg, ag = stats["kgraph"], stats["AutoGraph"]
            q = common.ratio(ag, kg)
            table.add(f"{family}, ~{t} lines", lines, common.fmt_time(kg.median),
                      common.fmt_pct(kg.rel_iqr), common.fmt_time(ag.median),
                      common.fmt_pct(ag.rel_iqr),
                      f"{q.of_medians:.1f} [{q.paired_q1:.1f}-{q.paired_q3:.1f}]")

    table.notes.append("lines: def to return, as inspect.getsourcelines counts them. "
                       "IQR: (q3-q1)/median. dense: every block is control flow; "
                       "sparse: 3 blocks in 4 are straight-line arithmetic.")
    if problems:
        table.notes.append("Correctness preflight (Python on ints vs kgraph.function on "
                           "tensors) found mismatches:")
        table.notes.extend("  - " + p for p in problems[:12])
        if len(problems) > 12:
            table.notes.append(f"  - ... and {len(problems) - 12} more")
    elif not args.no_check:
        table.notes.append(f"Correctness preflight: Python and kgraph.function agree on "
                           f"{len(INPUTS)} inputs for each function.")
    common.show(table, args.markdown)
    if problems:
        print("\nERROR: the correctness preflight found mismatches (see above)", file=sys.stderr)
        return 1
    return 0


def kgraph_convert(fn):
    api_impl.clear_cache()
    api_impl.convert_code(fn)


def autograph_convert(fn):
    tf.autograph.to_code(fn)


if __name__ == "__main__":
    sys.exit(main())
