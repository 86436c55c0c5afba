"""Small functions whose converted code the golden tests pin down, one per pass."""

import tensorflow as tf

import kgraph


def helper(x):
    return x + 1


def sample_asserts(x):
    assert x > 0, "x must be positive"
    assert x < 10
    return x


def sample_lists(n):
    xs = []
    kgraph.set_element_type(xs, tf.int32, [])
    for i in range(n):
        xs.append(i)
    ys = [v * 2 for v in xs]
    return xs, ys


def sample_builtins(xs):
    print("n =", len(xs))
    for i, x in enumerate(zip(xs, range(3))):
        pass
    return xs


def sample_calls(x):
    y = helper(x)
    z = tf.reduce_sum(y)
    f = lambda v: v * 2  # noqa: E731
    return f(z), abs(x)


def sample_returns(x):
    if x > 0:
        return x
    return -x


def sample_return_in_loop(n):
    for i in range(n):
        if i * i > n:
            return i
    return -1


def sample_continues(n):
    s = 0
    for i in range(n):
        if i % 2 == 0:
            continue
        s += i
    return s


def sample_breaks(n):
    i = 0
    while i < n:
        if i > 5:
            break
        i += 1
    else:
        i = -1
    return i


def sample_loop_else(xs, n):
    found = 0
    while n > 0:
        n -= 1
        for x in xs:
            if x == n:
                break
        else:
            continue
        found += 1
    return found


def sample_named_exprs(n):
    steps = 0
    while (n := n // 2) > 0:
        steps += 1
    return steps


def sample_ifexp(x):
    return 1 if x > 0 else 2


def sample_comprehensions(t):
    return sum(v * 2 for v in t if v > 0)


def sample_strings(x, n):
    print(f"x={x:>5} n={n!r}", "{} of {}".format(x, n), "%d%%" % n)


def sample_comparisons(i, n, x):
    return (0 <= i * 2 < n, x in (1, 2), x not in n, i < n)


def sample_boolean_ops(a, b):
    return a > 0 and b > 0 or not a


def sample_deletes(x):
    scratch = x * 2
    if x > 0:
        del scratch
    del x


def sample_control_flow(x, n):
    y = 0
    if x > 0:
        y = x
    else:
        y = -x
    for i in range(n):
        y += i
    return y


def sample_undefined(x):
    if x > 0:
        y = 1
    else:
        y = 2
    return y


CASES = [
    ("sample_asserts", "asserts"),
    ("sample_lists", "lists"),
    ("sample_builtins", "builtins"),
    ("sample_calls", "calls"),
    ("sample_returns", "returns"),
    ("sample_return_in_loop", "breaks"),
    ("sample_continues", "continues"),
    ("sample_breaks", "breaks"),
    ("sample_loop_else", "loop_else"),
    ("sample_named_exprs", "named_exprs"),
    ("sample_ifexp", "ifexp"),
    ("sample_comparisons", "comparisons"),
    ("sample_strings", "strings"),
    ("sample_comprehensions", "comprehensions"),
    ("sample_boolean_ops", "boolean_ops"),
    ("sample_deletes", "deletes"),
    ("sample_control_flow", "control_flow"),
    ("sample_undefined", "undefined"),
]


def sample_arithmetic(x, n, box):
    n //= 2
    box.count %= 3
    return x % 2.0, x // 0.1, n ** -1, "%d" % n, x / 2 + 1
