"""Conversion time against function length: does it stay linear?

    python3 -m benchmarks.conversion_scaling                 # 400 / 800 / 1600 lines
    python3 -m benchmarks.conversion_scaling --lines 200 400 --repeats 5

Generates "dense" functions (every block is control flow, with early
returns, breaks and continues: the lowering nests everything after an exit
in a guard, so nesting depth grows with length) with ``benchmarks/conversion``'s
generator, imports each from a fresh file, clears kgraph's caches and times
``api_impl.convert_code`` (source, parse, passes, codegen, compile). Prints the
median per length, the time per line, the ratio to the previous length (2.0
for linear when lengths double) and the slowest passes of the longest function.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

try:
    from benchmarks import common
    from benchmarks import conversion as gen
except ImportError:   # run as a script
    import common
    import conversion as gen

common.quiet_tensorflow()

from kgraph import passes  # noqa: E402
from kgraph.convert import api_impl  # noqa: E402


def _timed_passes(times):
    originals = []
    for p in passes.PIPELINE:
        run = p.run
        name = p.__name__.rsplit(".", 1)[1]

        def timed(node, ctx, _run=run, _name=name):
            t = time.perf_counter()
            try:
                return _run(node, ctx)
            finally:
                times[_name] = times.get(_name, 0.0) + time.perf_counter() - t

        originals.append((p, run))
        p.run = timed
    return originals


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[400, 800, 1600])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--family", default="dense", choices=("dense", "sparse"))
    args = parser.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="kgraph_scaling_")
    previous = None
    print(f"{'lines':>6} {'median':>10} {'per line':>10} {'x previous':>11}")
    per_pass = {}
    for lines in args.lines:
        source = gen.generate("f{suffix}", lines, seed=lines, family=args.family)
        samples = []
        for _ in range(args.repeats):
            fn = gen.fresh_function(tmp, source, "f")
            api_impl.clear_cache()
            per_pass = {}
            originals = _timed_passes(per_pass)
            try:
                t = time.perf_counter()
                api_impl.convert_code(fn)
                samples.append(time.perf_counter() - t)
            finally:
                for p, run in originals:
                    p.run = run
        med = statistics.median(samples)
        ratio = f"{med / previous:.2f}" if previous else "-"
        print(f"{gen.function_lines(fn):>6} {med * 1000:>8.0f} ms {med * 1e6 / lines:>7.0f} us "
              f"{ratio:>11}")
        previous = med
    slowest = sorted(per_pass.items(), key=lambda kv: -kv[1])[:5]
    print("slowest passes at the last length: " + ", ".join(
        f"{name} {t * 1000:.0f} ms" for name, t in slowest))


if __name__ == "__main__":
    main()
