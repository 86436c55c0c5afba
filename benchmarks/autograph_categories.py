"""Pass rates of kgraph.function and tf.function on the AutoGraph-category suite.

    python3 -m benchmarks.autograph_categories              # table
    python3 -m benchmarks.autograph_categories --markdown   # table as Markdown
    python3 -m benchmarks.autograph_categories --failures   # also why each fails
    python3 -m benchmarks.autograph_categories -k dataset   # programs whose id contains it

The programs are those of tests/test_autograph_categories.py (categories of
TensorFlow's AutoGraph reference tests, written anew, plus programs users
write). Each runs as plain Python on Python values (the reference), under
kgraph.function and under tf.function (AutoGraph) on tensors; a program
passes when every one of its inputs gives the same result and printed text
as Python (or an exception of the class Python raised). Known kgraph
failures (xfail in the test) count as failures here.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests"))

import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")

import test_autograph_categories  # noqa: E402,F401  (registers the programs)
from autograph_categories_harness import PROGRAMS, describe, matches  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--failures", action="store_true")
    parser.add_argument("-k", default="")
    args = parser.parse_args(argv)

    rows = collections.OrderedDict()
    failures = []
    for prog in PROGRAMS:
        if args.k not in prog.id:
            continue
        expected = prog.outcomes("python")
        row = rows.setdefault(prog.category, [0, 0, 0])
        row[0] += 1
        for col, which in ((1, "kgraph"), (2, "tf")):
            actual = prog.outcomes(which)
            if all(matches(e, a) for e, a in zip(expected, actual)):
                row[col] += 1
            else:
                failures.append((which, prog.id, describe(prog, which, expected, actual)))

    total = [sum(r[i] for r in rows.values()) for i in range(3)]
    header = ("category", "programs", "kgraph pass", "tf.function pass")
    lines = [(cat, str(n), str(k), str(t)) for cat, (n, k, t) in rows.items()]

    def pct(x):
        return f"{x} ({100 * x / total[0]:.0f}%)" if total[0] else str(x)
    lines.append(("total", str(total[0]), pct(total[1]), pct(total[2])))
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join(["---"] + ["---:"] * 3) + "|")
        for line in lines:
            print("| " + " | ".join(line) + " |")
    else:
        widths = [max(len(x[i]) for x in [header] + lines) for i in range(4)]
        for line in [header] + lines:
            print("  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i])
                            for i, c in enumerate(line)))
    if args.failures:
        for which, pid, why in failures:
            print(f"\n[{which}] {pid}\n{why}")


if __name__ == "__main__":
    main()
