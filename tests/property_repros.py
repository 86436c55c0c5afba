"""Minimal programs the property generator found failing, by area (and owner).

Each repro is a valid Python function ``f(x, y, n, t)`` run exactly as the
generated programs are (``tests/program_gen.py``: plain Python vs
``kgraph.function`` on tensors of ``dtype``). ``python3 -m tests.program_gen
--repros`` re-checks them all and prints which still fail; a repro that now
passes is fixed (keep it: it is also a regression check for the deep run).
"""

REPROS = (
    # ------------------------------------------------------------ values
    ("values", "a Python int counter compared with an int64 tensor (issue 8's example)", "int64", """
def f(x, y, n, t):
    k = 0
    while k < x % 4:
        k += 1
    return k
""", [(7, 0, 0, [1])]),
    ("values", "a Python float that a tensor loop's branch changes, next to float64", "float64", """
def f(x, y, n, t):
    a = 2.0
    i = 0
    while i < n:
        i += 1
        if x > 1.0:
            a += 2.5
        else:
            a = x
    return a
""", [(4.5, 0.0, 2, [1.0]), (0.5, 0.0, 2, [1.0])]),
    ("values", "an early return of a Python int next to an int64 return", "int64", """
def f(x, y, n, t):
    for j in range(n):
        if x > j:
            return x, 9
    return x, y
""", [(3, 1, 2, [1]), (-3, 1, 2, [1])]),
    ("values", "a Python int counter compared with a float tensor (float programs)", "float32", """
def f(x, y, n, t):
    k = 0
    while k < x % 4.0:
        k += 1
    return x + k
""", [(2.5, 0.0, 0, [1.0])]),
    # ------------------------------------------------------------ exprs
    ("exprs", "chained comparison with an expression middle", "int32", """
def f(x, y, n, t):
    if 0 <= x * 2 < y:
        x = y
    return x
""", [(1, 5, 0, [1]), (3, 5, 0, [1])]),
    ("exprs", "membership on a tensor", "int32", """
def f(x, y, n, t):
    if x in (1, 2, 3):
        y = x
    return y
""", [(2, 0, 0, [1]), (5, 0, 0, [1])]),
    ("exprs", "`x or 5` returns the deciding operand, not a bool", "int32", """
def f(x, y, n, t):
    a = x or 5
    return a
""", [(0, 0, 0, [1]), (3, 0, 0, [1])]),
    ("exprs", "`a and b` returns the deciding operand, not a bool", "float32", """
def f(x, y, n, t):
    a = x and y
    return a
""", [(0.0, 2.5, 0, [1.0]), (1.5, 2.5, 0, [1.0])]),
    ("exprs", "any() over a generator expression on a tensor", "int32", """
def f(x, y, n, t):
    if any(v > 2 for v in t):
        x = y
    return x
""", [(1, 5, 0, [1, 3]), (1, 5, 0, [1, 2])]),
    ("exprs", "list comprehension with a tensor condition", "int32", """
def f(x, y, n, t):
    return sum([v for v in t if v > 0], 0)
""", [(0, 0, 0, [1, -2, 3])]),
    ("exprs", "min() of a tensor (iterates it)", "int32", """
def f(x, y, n, t):
    return min(t)
""", [(0, 0, 0, [4, -2, 3])]),
    ("exprs", "divmod on tensors", "int32", """
def f(x, y, n, t):
    a, b = divmod(x, 3)
    return a, b
""", [(7, 0, 0, [1]), (-7, 0, 0, [1])]),
    ("exprs", "round() of a tensor in a comparison", "float32", """
def f(x, y, n, t):
    if round(x) == 2:
        y = x
    return y
""", [(2.5, 0.0, 0, [1.0]), (1.5, 0.0, 0, [1.0])]),
    ("exprs", "f-string of a tensor in print", "int32", """
def f(x, y, n, t):
    print(f'x={x}', f'<{x} {y}>')
    return x
""", [(6, 1, 0, [1])]),
    # ------------------------------------------------------------ lists
    ("lists", "xs[i] = v on a list appended in a graph loop", "int32", """
def f(x, y, n, t):
    xs = [x]
    for v in t:
        xs.append(v)
    xs[0] = y
    return len(xs)
""", [(1, 2, 0, [3, 4])]),
    ("lists", "a list appended in a graph loop, returned", "int32", """
def f(x, y, n, t):
    xs = [x]
    for j in range(n):
        xs.append(y)
    return xs
""", [(1, 2, 3, [3])]),
    ("lists", "sum() of a list appended in a graph loop (trace-time hang)", "int32", """
def f(x, y, n, t):
    xs = [x]
    for j in range(n):
        xs.append(y)
    return sum(xs)
""", [(1, 2, 3, [3])]),
    ("lists", "an early return in a graph loop with a graph list in the return value", "int32", """
def f(x, y, n, t):
    xs = [x]
    for v in t:
        if v > 2:
            return x, len(xs)
        xs.append(v)
    return y, len(xs)
""", [(1, 2, 0, [1, 3]), (1, 2, 0, [1, 2])]),
    # ------------------------------------------------------------ state
    ("state", "loop variable used after a range loop that runs at least once", "int32", """
def f(x, y, n, t):
    for j in range(n + 1):
        x = x + 1
    return j
""", [(0, 0, 2, [1])]),
    ("state", "name first bound in a tensor loop that runs at least once, used after it",
     "int32", """
def f(x, y, n, t):
    for v in t:
        last = v * 2
    return last
""", [(0, 0, 0, [1, 2])]),
    ("state", "defined on every path that does not return (issue 9's example)", "int32", """
def f(x, y, n, t):
    if x > 0:
        if y > 0:
            return x + y
        else:
            z = x - y
    else:
        z = -x
    return z * 2
""", [(1, 2, 0, [1]), (1, -2, 0, [1]), (-1, 0, 0, [1])]),
    ("state", "pair[i] = v in both branches of a tensor if (issue 9: silently wrong)", "int32", """
def f(x, y, n, t):
    pair = [0, 0]
    if x > 0:
        pair[0] = x
    else:
        pair[1] = x
    return pair
""", [(5, 0, 0, [1]), (-5, 0, 0, [1])]),
    ("state", "pair[1] += 4 in a tensor while loop: applied once, not per iteration", "int32", """
def f(x, y, n, t):
    pair = [0, 0]
    i = 0
    while i < x % 5:
        i += 1
        pair[1] += 4
    return pair
""", [(3, 0, 0, [1])]),
    ("state", "obj.count += 1 in a tensor for loop: applied once, not per iteration", "int32", """
class Box:
    def __init__(self, count):
        self.count = count


def f(x, y, n, t):
    obj = Box(0)
    for j in range(n):
        obj.count += 1
    return obj.count
""", [(0, 0, 3, [1])]),
    ("state", "an assert before an early return: 'the return value is None in one branch' "
     "(passes/asserts.py wraps the rest of the block in `with assert_(...)`, and "
     "passes/returns.py then adds a fall-through path; owner unclear: returns)", "int32", """
def f(x, y, n, t):
    assert x > -1000
    if x > 0:
        return x, y
    return y, x
""", [(1, 2, 0, [1]), (-1, 2, 0, [1])]),
    ("state", "d['k'] += v in a tensor branch", "int32", """
def f(x, y, n, t):
    d = {'k': 0}
    if x > 0:
        d['k'] += x
    return d['k']
""", [(2, 0, 0, [1]), (-2, 0, 0, [1])]),
)
