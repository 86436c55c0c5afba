"""Run time of control-flow-heavy functions: eager vs tf.function vs kgraph.function.

    python3 -m benchmarks.control_flow            # full run (3-8 min, depending on load)
    python3 -m benchmarks.control_flow --quick    # smoke run (~1 min)
    python3 -m benchmarks.control_flow --markdown # tables as Markdown

Each function runs

* eager: the plain Python function called on eager tensors;
* tf.function: ``tf.function(f)``, i.e. TensorFlow's AutoGraph (the default);
* kgraph: ``kgraph.function(f)`` (kgraph's converter, then
  ``tf.function(autograph=False)``);
* and, with XLA, ``tf.function(f, jit_compile=True)`` and
  ``kgraph.function(f, jit_compile=True)``.

Before timing, every variant's result is checked against the eager result.
All the variants of a function are timed round-robin (see common.py).
"""

from __future__ import annotations

import argparse
import sys

try:
    from benchmarks import common
except ImportError:   # run as a script: python3 benchmarks/control_flow.py
    import common

common.quiet_tensorflow()

import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")   # the retracing warnings of the duplicate wrappers

import kgraph  # noqa: E402


# ---------------------------------------------------------------------------
# The benchmark functions: plain Python control flow over tensors.

def collatz(n):
    """Steps of the Collatz sequence from ``n`` down to 1 (a tensor while loop)."""
    steps = 0
    while n != 1:
        if n % 2 == 0:
            n = n // 2
        else:
            n = 3 * n + 1
        steps += 1
    return steps


def fizzbuzz(n):
    """A FizzBuzz-style counter over ``range(n)`` with if/elif/else."""
    fizz = 0
    buzz = 0
    both = 0
    other = 0
    for i in range(n):
        if i % 15 == 0:
            both += 1
        elif i % 3 == 0:
            fizz += 1
        elif i % 5 == 0:
            buzz += 1
        else:
            other += i
    return fizz, buzz, both, other


def nested_break(n, limit):
    """Nested loops (for over range, inner while) with break and continue in
    the inner loop and a break out of the outer one (at the top of its body)."""
    total = 0
    pairs = 0
    for i in range(n):
        if total > limit:
            break
        j = 0
        while j < n:
            if j > i:
                break
            if (i + j) % 3 == 0:
                j += 1
                continue
            total += (i * j) % 7
            pairs += 1
            j += 1
    return total, pairs


def nested_break_last(n, limit):
    """``nested_break`` with the outer ``if ...: break`` as the last statement of
    the ``for`` body. kgraph up to 530110d dropped that break (wrong result);
    fixed in 8024c70. Kept as a regression check (see docs/benchmarks.md)."""
    total = 0
    pairs = 0
    for i in range(n):
        j = 0
        while j < n:
            if j > i:
                break
            if (i + j) % 3 == 0:
                j += 1
                continue
            total += (i * j) % 7
            pairs += 1
            j += 1
        if total > limit:
            break
    return total, pairs


def running_means(x):
    """A loop that appends to a Python list, then stacks it (kgraph.stack)."""
    out = []
    acc = tf.constant(0.0)
    for i in range(tf.shape(x)[0]):
        acc = acc + x[i]
        out.append(acc / tf.cast(i + 1, tf.float32))
    return kgraph.stack(out)


def running_means_ta(x):
    """``running_means`` as a TensorFlow user writes it for AutoGraph, which does
    not turn a Python list appended in a tensor loop into a TensorArray."""
    out = tf.TensorArray(tf.float32, size=tf.shape(x)[0])
    acc = tf.constant(0.0)
    for i in range(tf.shape(x)[0]):
        acc = acc + x[i]
        out = out.write(i, acc / tf.cast(i + 1, tf.float32))
    return out.stack()


# (name, Python function, function given to tf.function (None: the same one),
#  arguments factory, size label). Sizes: a graph call takes ~2-25 ms.
CASES = [
    ("collatz", collatz, None,
     lambda: (tf.constant(77031),), "n=77031 (350 steps)"),
    ("fizzbuzz", fizzbuzz, None,
     lambda: (tf.constant(1500),), "n=1500"),
    ("nested loops + break", nested_break, None,
     lambda: (tf.constant(60), tf.constant(2500)), "n=60, limit=2500"),
    ("nested loops + break (break last)", nested_break_last, None,
     lambda: (tf.constant(60), tf.constant(2500)), "n=60, limit=2500"),
    ("append + stack", running_means, running_means_ta,
     lambda: (tf.random.stateless_normal([200], seed=(1, 2)),), "len(x)=200"),
    ("append + stack (TensorArray source)", running_means_ta, None,
     lambda: (tf.random.stateless_normal([200], seed=(1, 2)),), "len(x)=200"),
]

def make_variants(py_fn, tf_src):
    return {
        "eager": py_fn,
        "tf.function": tf.function(tf_src),
        "kgraph": kgraph.function(py_fn),
        "tf.function XLA": tf.function(tf_src, jit_compile=True),
        "kgraph XLA": kgraph.function(py_fn, jit_compile=True),
    }


def check(name, fns, args):
    """Run every variant once and compare it with eager.

    Returns ({variant: fn} that ran and agreed, {variant: problem} for those
    that raised or gave a wrong result). A variant that fails is not timed:
    it is shown as "n/a" / "WRONG" and listed under the table, and the script
    exits with status 1 (never a silent skip).
    """
    reference = fns["eager"](*args)
    ok, failed = {}, {}
    for v, fn in fns.items():
        try:
            result = fn(*args)
        except Exception as e:  # noqa: BLE001 - reported in the table notes
            failed[v] = f"raised {type(e).__name__}: {str(e).strip().splitlines()[0][:160]}"
            continue
        try:
            common.assert_same(reference, result, what=f"{name} / {v}")
        except AssertionError as e:
            failed[v] = f"WRONG RESULT ({e}; eager: {common.to_numpy(reference)})"
            continue
        ok[v] = fn
    return ok, failed


def main(argv=None):
    parser = common.add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    parser.add_argument("--only", default=None, help="run only cases whose name contains this")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 41)
    sample_seconds = 0.01 if args.quick else 0.02
    warmup = 1 if args.quick else 3

    common.print_machine_info()
    print(f"mode: {'quick' if args.quick else 'full'}; {repeats} interleaved rounds, "
          f"~{sample_seconds * 1e3:.0f} ms per sample, {warmup} warm-up calls")

    times = common.Table(
        ["function", "size", "eager", "tf.function", "kgraph", "kgraph/tf [paired q1-q3]",
         "eager/kgraph", "tf XLA", "kgraph XLA", "kgraph XLA/tf XLA", "max IQR"],
        title="Median time per call (and ratios of medians; paired = per-round ratios)")
    problems = []
    for name, py_fn, tf_src, make_args, size in CASES:
        if args.only and args.only not in name:
            continue
        call_args = make_args()
        fns = make_variants(py_fn, tf_src or py_fn)
        ok, failed = check(name, fns, call_args)
        for v, err in failed.items():
            problems.append(f"{name} / {v}: {err}")
        variants = [common.Variant(v, (lambda fn=fn: fn(*call_args))) for v, fn in ok.items()]
        stats = common.run_interleaved(variants, repeats=repeats, warmup=warmup,
                                       sample_seconds=sample_seconds,
                                       progress=common.progress_printer(name))

        def t(v):
            if v in stats:
                return common.fmt_time(stats[v].median)
            return "WRONG" if failed.get(v, "").startswith("WRONG") else "n/a"

        def r(a, b, paired=False, digits=2):
            if a not in stats or b not in stats:
                return "n/a"
            q = common.ratio(stats[a], stats[b])
            text = common.fmt_ratio(q.of_medians, digits)
            if paired:
                text += f" [{q.paired_q1:.2f}-{q.paired_q3:.2f}]"
            return text

        times.add(name + (" †" if tf_src is not None else ""), size, t("eager"),
                  t("tf.function"), t("kgraph"), r("kgraph", "tf.function", paired=True),
                  r("eager", "kgraph", digits=3), t("tf.function XLA"), t("kgraph XLA"),
                  r("kgraph XLA", "tf.function XLA"),
                  common.fmt_pct(max(s.rel_iqr for s in stats.values())))

    times.notes.append("† tf.function variants run running_means_ta (a TensorArray twin): "
                       "AutoGraph does not convert list appends in tensor loops.")
    times.notes.append("max IQR: the largest (q3-q1)/median among the variants of the row.")
    if problems:
        times.notes.append("Variants not timed (they raised, n/a, or disagreed with eager, "
                           "WRONG):")
        times.notes.extend("  - " + p for p in problems)
    common.show(times, args.markdown)
    if problems:
        print("\nERROR: some variants failed or gave wrong results (see above)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
