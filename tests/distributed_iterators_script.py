"""Run by tests/test_xla_checks.py in a subprocess (it needs two logical CPU
devices before TensorFlow starts, and a hang must not stop the suite):
distributed datasets iterated in graph loops, Python vs kgraph.function."""

import json, sys
import tensorflow as tf
cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
import kgraph

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])


def per_replica(x):
    return tf.reduce_sum(x)


def total_of(dist):
    total = 0.0
    count = 0
    for batch in dist:
        total += strategy.reduce("SUM", strategy.run(per_replica, args=(batch,)), axis=None)
        count += 1
    return total, count


def next_in_while(it, n):
    total = 0.0
    i = 0
    while i < n:
        batch = next(it)
        total += strategy.reduce("SUM", strategy.run(per_replica, args=(batch,)), axis=None)
        i += 1
    return total


def iter_inside(dist):
    it = iter(dist)
    return strategy.reduce("SUM", strategy.run(per_replica, args=(next(it),)), axis=None)


def dataset(dtype):
    return tf.data.Dataset.range(10).map(lambda x: tf.cast(x, dtype)).batch(4)


def outcome(thunk):
    try:
        out = thunk()
        return ["ok", tf.nest.map_structure(lambda t: float(t), out)]
    except BaseException as e:   # noqa: BLE001 - reported to the test
        return ["error", [c.__name__ for c in type(e).__mro__], str(e)]


results = {}
for dtype in (tf.float32, tf.float64):
    dist = strategy.experimental_distribute_dataset(dataset(dtype))
    results[f"total_of/{dtype.name}/python"] = outcome(lambda: total_of(dist))
    results[f"total_of/{dtype.name}/kgraph"] = outcome(lambda: kgraph.function(total_of)(dist))
    f = kgraph.function(next_in_while)
    for n in (2, 3, 5):
        # A fresh iterator each: Python's eagerly, kgraph's across two calls (n then 1).
        it = iter(dist)
        results[f"next/{n}/{dtype.name}/python"] = outcome(lambda: next_in_while(it, n))
        it = iter(dist)
        results[f"next/{n}/{dtype.name}/kgraph"] = outcome(lambda: f(it, tf.constant(n)))
    it = iter(dist)
    first = outcome(lambda: f(it, tf.constant(1)))
    second = outcome(lambda: f(it, tf.constant(1)))
    results[f"next/across-calls/{dtype.name}"] = [first, second]
dist = strategy.experimental_distribute_dataset(dataset(tf.float32))
results["iter_inside"] = outcome(lambda: kgraph.function(iter_inside)(dist))
print("RESULTS " + json.dumps(results), flush=True)
