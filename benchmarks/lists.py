"""Run time of graph lists: kgraph's list operations vs a hand-written TensorArray twin.

    python3 -m benchmarks.lists            # full run (~2-4 min, depending on load)
    python3 -m benchmarks.lists --quick    # smoke run (~30 s)
    python3 -m benchmarks.lists --markdown # table as Markdown

Each case is plain Python list code (appending in a tensor loop, then
indexing, popping or iterating the list) run by ``kgraph.function``, against
the same algorithm written by hand on a ``tf.TensorArray`` under
``tf.function`` (AutoGraph cannot convert the list version: ``xs[i]``,
``xs.pop()`` and ``for v in xs`` on a list built in a tensor loop). The ratio
is what Python's list semantics cost in the graph: kgraph checks indices
(Python's IndexError) and shrinks the list on ``pop``.
Results are checked against the twin before timing.
"""

from __future__ import annotations

import argparse
import sys

try:
    from benchmarks import common
except ImportError:   # run as a script: python3 benchmarks/lists.py
    import common

common.quiet_tensorflow()

import tensorflow as tf  # noqa: E402

import kgraph  # noqa: E402


def index_reads(x):
    xs = []
    for v in x:
        xs.append(v * 2.0)
    total = 0.0
    for i in range(len(xs)):
        total += xs[i] * xs[-1 - i]
    return total


def index_reads_ta(x):
    n = tf.shape(x)[0]
    ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
    for i in tf.range(n):
        ta = ta.write(i, x[i] * 2.0)
    total = 0.0
    for i in tf.range(n):
        total += ta.read(i) * ta.read(n - 1 - i)
    return total


def pops(x):
    xs = []
    for v in x:
        xs.append(v + 1.0)
    total = 0.0
    while len(xs) > 0:
        total = total * 0.5 + xs.pop()
    return total


def pops_ta(x):
    n = tf.shape(x)[0]
    ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
    for i in tf.range(n):
        ta = ta.write(i, x[i] + 1.0)
    total = 0.0
    k = n
    while k > 0:
        k -= 1
        total = total * 0.5 + ta.read(k)
    return total


def iterate(x):
    xs = []
    for v in x:
        xs.append(v * v)
    best = xs[0]
    for v in xs:
        if v > best:
            best = v
    return best, len(xs)


def iterate_ta(x):
    n = tf.shape(x)[0]
    ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
    for i in tf.range(n):
        ta = ta.write(i, x[i] * x[i])
    best = ta.read(0)
    for i in tf.range(n):
        v = ta.read(i)
        if v > best:
            best = v
    return best, n


CASES = [
    ("append, then index reads xs[i], xs[-1-i]", index_reads, index_reads_ta),
    ("append, then pop until empty", pops, pops_ta),
    ("append, then for v in xs", iterate, iterate_ta),
]


def main(argv=None):
    parser = common.add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 31)
    sample_seconds = 0.01 if args.quick else 0.02
    warmup = 1 if args.quick else 3
    common.print_machine_info()
    print(f"mode: {'quick' if args.quick else 'full'}; {repeats} interleaved rounds")
    x = tf.random.stateless_normal([500], seed=(1, 2))
    table = common.Table(["case", "size", "TensorArray twin (tf.function)", "kgraph",
                          "kgraph/twin [paired q1-q3]", "max IQR"],
                         title="Median time per call")
    failed = []
    for name, py_fn, twin in CASES:
        fns = {"twin": tf.function(twin), "kgraph": kgraph.function(py_fn)}
        reference = fns["twin"](x)
        try:
            common.assert_same(reference, fns["kgraph"](x), what=name)
        except AssertionError as e:
            failed.append(f"{name}: {e}")
            continue
        stats = common.run_interleaved(
            [common.Variant(v, (lambda fn=fn: fn(x))) for v, fn in fns.items()],
            repeats=repeats, warmup=warmup, sample_seconds=sample_seconds,
            progress=common.progress_printer(name))
        q = common.ratio(stats["kgraph"], stats["twin"])
        table.add(name, "len(x)=500", common.fmt_time(stats["twin"].median),
                  common.fmt_time(stats["kgraph"].median),
                  f"{common.fmt_ratio(q.of_medians)} [{q.paired_q1:.2f}-{q.paired_q3:.2f}]",
                  common.fmt_pct(max(s.rel_iqr for s in stats.values())))
    common.show(table, args.markdown)
    if failed:
        print("\nERROR: wrong results:\n  " + "\n  ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
