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
    ("values", "a Python int returned on one path, int64 tensors on the other: raw tf.cond error",
     "int64", """
def f(x, y, n, t):
    a = 2
    if y > 0:
        return x, n
    return a, a
""", [(5, 6, 3, [4]), (0, -3, 3, [1])]),
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
    ("values", "a Python int counter reported as 'a Python float in the while loop' "
     "(float32 program; generated, not shrunk)", "float32", """
def f(x, y, n, t):
    a = 5.0
    b = 0.5
    c = 4.5
    i1 = 0
    while i1 < n % 2 + 0:
        i1 += 1
        i2 = 0
        while i2 < c % 4:
            i2 += 1
            if not (i1 < n or (a - a) < a):
                x += 2.0
            if x % 2.0 == 0.5:
                continue
            elif a % 3.0 == 0.0:
                if i2 >= i1:
                    break
        else:
            a -= 4.0
    return a, b, c
""", [(5.5, -1.0, 2, [1.0]), (1.0, 4.0, 2, [-2.0]), (2.5, 3.5, 0, [0.5])]),
    ("values", "float `%` giving zero: Python's -2.0 % 2.0 is 0.0, the graph's is -0.0 "
     "(shows in print and f-strings)", "float64", """
def f(x, y, n, t):
    c = y % 2.0
    print(c, f'<{c}>')
    return c
""", [(0.0, -2.0, 0, [1.0])]),
    ("exprs", "enumerate over an int64 tensor: the index is int32, so v + j fails", "int64", """
def f(x, y, n, t):
    for j, v in enumerate(t):
        x = v + j
    return x
""", [(0, 0, 0, [7, 1])]),
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
    ("lists", "a Python int appended in a tensor branch to a list of int64 tensors", "int64", """
def f(x, y, n, t):
    xs = [x]
    if y > 4:
        xs.append(4 + len(t))
    return xs
""", [(2, 7, 0, [9, 7]), (2, 1, 0, [9, 7])]),
    ("lists", "an early return of a Python list that a later pop shortens (return paths "
     "disagree on the list's length)", "int32", """
def f(x, y, n, t):
    xs = [x]
    for v in t:
        i = 0
        while i < n:
            i += 1
            if y > 2:
                return v, xs
    p = xs.pop()
    return y, xs
""", [(5, 8, 4, [3]), (8, 1, 4, [-4])]),
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
    ("state", "defined on every path that does not return, when the inner condition is a "
     "Python value (a Python-level return inside a tensor if)", "float32", """
def f(x, y, n, t):
    c = 0.5
    if x > 0.0:
        if c > 1.0:
            return x
        else:
            z = x + 1.0
    else:
        z = y
    return z
""", [(2.0, 1.5, 0, [1.0]), (-1.0, 1.5, 0, [1.0])]),
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
    ("state", "a parameter reassigned in a loop with an early return: UnboundLocalError on "
     "the Python path (to_graph on plain values; generated, not shrunk)", "int64", """
def f(x, y, n, t):
    a = y % 6
    b = y % 3
    c = x % 2
    assert a == a
    for j1 in range(-1, n % 2 + 0):
        i2 = (n - n)
        while i2 < 1:
            i2 += 1
            if j1 <= i2 and c < b:
                x = c
                if (y - y) == c:
                    return y // 4, c // 4, (x - 1) % 97
            else:
                if (a - b) != 4 and (y + -1) <= c:
                    break
    return a, b, c
""", [(5, 6, 3, [4]), (0, 3, 3, [1]), (0, -2, 2, [4])]),
    ("state", "d['k'] += v in a tensor branch", "int32", """
def f(x, y, n, t):
    d = {'k': 0}
    if x > 0:
        d['k'] += x
    return d['k']
""", [(2, 0, 0, [1]), (-2, 0, 0, [1])]),
)
