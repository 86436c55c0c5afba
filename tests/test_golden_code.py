"""Golden generated code: each pass's output on a small sample, pinned.

A change here is a change to what users read in kgraph.to_code: review it as such.
"""

import pytest

import golden_samples as samples
from kgraph.convert.api_impl import partial_source

EXPECTED = {
    ("sample_asserts", "asserts"): """\
def sample_asserts(x):
    with kg__.assert_(x > 0, lambda: 'x must be positive'):
        with kg__.assert_(x < 10):
            return x
""",
    ("sample_lists", "lists"): """\
def sample_lists(n):
    xs = []
    xs = kg__.set_element_type(xs, tf.int32, [])
    for i in range(n):
        xs = kg__.list_append(xs, i)

    def comp_1(iter_1):
        elements_1 = []
        for v in iter_1:
            elements_1 = kg__.list_append(elements_1, v * 2)
        return elements_1
    ys = kg__.comprehension(xs, comp_1, lambda iter_1: [v * 2 for v in kg__.comp_iter(iter_1)])
    return (xs, ys)
""",
    ("sample_builtins", "builtins"): """\
def sample_builtins(xs):
    kg__.print_('n =', kg__.len_(xs))
    for i, x in kg__.enumerate_(kg__.zip_(xs, kg__.range_(3))):
        pass
    return xs
""",
    ("sample_calls", "calls"): """\
def sample_calls(x):
    y = kg__.call(helper, x)
    z = tf.reduce_sum(y)
    f = lambda v: v * 2
    return (kg__.call(f, z), abs(x))
""",
    ("sample_returns", "returns"): """\
def sample_returns(x):
    do_return_1 = False
    retval_1 = kg__.NO_RETURN
    if x > 0:
        do_return_1 = True
        retval_1 = x
    if not do_return_1:
        do_return_1 = True
        retval_1 = -x
    return retval_1
""",
    ("sample_return_in_loop", "breaks"): """\
def sample_return_in_loop(n):
    do_return_1 = False
    retval_1 = kg__.NO_RETURN
    break_1 = False
    for i in kg__.range_(n):
        if i * i > n:
            do_return_1 = True
            retval_1 = i
            break_1 = True
    if not do_return_1:
        do_return_1 = True
        retval_1 = -1
    return retval_1
""",
    ("sample_continues", "continues"): """\
def sample_continues(n):
    s = 0
    for i in kg__.range_(n):
        continue_1 = False
        if kg__.mod(i, 2) == 0:
            continue_1 = True
        if not continue_1:
            s += i
    return s
""",
    ("sample_breaks", "breaks"): """\
def sample_breaks(n):
    i = 0
    broke_1 = False
    break_1 = False
    while not break_1 and i < n:
        if i > 5:
            broke_1 = True
            break_1 = True
        if not break_1:
            i += 1
    if not broke_1:
        i = -1
    return i
""",
    ("sample_loop_else", "loop_else"): """\
def sample_loop_else(xs, n):
    found = 0
    while n > 0:
        n -= 1
        broke_1 = False
        for x in xs:
            if x == n:
                broke_1 = True
                break
        if not broke_1:
            continue
        found += 1
    return found
""",
    ("sample_named_exprs", "named_exprs"): """\
def sample_named_exprs(n):
    steps = 0
    while True:
        if not (n := kg__.floordiv(n, 2)) > 0:
            break
        steps += 1
    return steps
""",
    ("sample_ifexp", "ifexp"): """\
def sample_ifexp(x):
    return kg__.if_exp(x > 0, lambda: 1, lambda: 2)
""",
    ("sample_comprehensions", "comprehensions"): """\
def sample_comprehensions(t):

    def comp_1(iter_1):
        elements_1 = []
        for v in iter_1:
            if v > 0:
                elements_1.append(v * 2)
        return elements_1
    return sum(kg__.comprehension(t, comp_1, lambda iter_1: (v * 2 for v in iter_1 if v > 0)))
""",
    ("sample_strings", "strings"): """\
def sample_strings(x, n):
    kg__.print_(kg__.fstring('x=', kg__.fvalue(x, -1, '>5'), ' n=', kg__.fvalue(n, 'r')), kg__.str_format('{} of {}', x, n), kg__.percent_format('%d%%', n))
""",
    ("sample_comparisons", "comparisons"): """\
def sample_comparisons(i, n, x):
    return (kg__.compare(0, '<=', i * 2, '<', lambda: n), kg__.in_(x, (1, 2)), kg__.not_in(x, n), i < n)
""",
    ("sample_boolean_ops", "boolean_ops"): """\
def sample_boolean_ops(a, b):
    return kg__.or_(kg__.and_(a > 0, lambda: b > 0), lambda: kg__.not_(a))
""",
    ("sample_deletes", "deletes"): """\
def sample_deletes(x):
    scratch = x * 2
    if x > 0:
        scratch = kg__.Undefined('scratch')
    del x
""",
    ("sample_control_flow", "control_flow"): """\
def sample_control_flow(x, n):
    y = 0

    def if_body_1(y):
        y = x
        return (y,)

    def else_body_1(y):
        y = -x
        return (y,)
    y, = kg__.if_stmt(x > 0, if_body_1, else_body_1, (y,), ('y',))

    def loop_body_1(i, y):
        y += i
        return (y,)
    y, = kg__.for_stmt(kg__.range_(n), loop_body_1, (y,), ('y',))
    return y
""",
    ("sample_undefined", "control_flow"): """\
def sample_undefined(x):
    y = kg__.Undefined('y')

    def if_body_1(y):
        y = 1
        return (y,)

    def else_body_1(y):
        y = 2
        return (y,)
    y, = kg__.if_stmt(x > 0, if_body_1, else_body_1, (y,), ('y',))
    return y
""",
    ("sample_arithmetic", "arithmetic"): """\
def sample_arithmetic(x, n, box):
    n = kg__.floordiv_assign(n, 2)
    box.count = kg__.mod_assign(box.count, 3)
    return (kg__.mod(x, 2.0), kg__.floordiv(x, 0.1), kg__.pow_(n, -1), kg__.percent_format('%d', n), x / 2 + 1)
""",
}


@pytest.mark.parametrize("name,upto", list(EXPECTED))
def test_golden(name, upto):
    got = partial_source(getattr(samples, name), upto)
    assert got + "\n" == EXPECTED[(name, upto)]


def test_every_pass_has_a_golden_case():
    from kgraph.passes import PIPELINE
    covered = {upto for _, upto in EXPECTED}
    names = {p.__name__.rsplit(".", 1)[1] for p in PIPELINE} - {"gate"}
    assert names <= covered
