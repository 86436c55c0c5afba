"""A short tour of the converter: run with `python3 -m examples.demo`."""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

import kgraph  # noqa: E402


def collatz(n):
    steps = 0
    while n != 1:
        if n % 2 == 0:
            n = n // 2
        else:
            n = 3 * n + 1
        steps += 1
    return steps


def main():
    graph = kgraph.function(collatz)
    print("Python  collatz(27) =", collatz(27))
    print("kgraph  collatz(27) =", int(graph(tf.constant(27))), "(one graph call)")
    print("\nGenerated code:\n" + kgraph.to_code(collatz))
    print("\n" + str(kgraph.explain(collatz, tf.constant(27))))
    n = tf.constant(77031)
    graph(n)
    start = time.perf_counter()
    for _ in range(20):
        graph(n)
    per_call = (time.perf_counter() - start) / 20
    print(f"\ncollatz(77031): {int(graph(n))} steps, {per_call * 1e3:.2f} ms per graph call")


if __name__ == "__main__":
    main()
