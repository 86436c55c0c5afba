"""The runtime ABI of generated code: it imports this module as ``kg__``.

Nothing else belongs here: every public name is called by generated code.
"""

from kgraph.operators.builtins import assert_, assert_block, print_
from kgraph.operators.calls import call, comp_iter, comprehension
from kgraph.operators.composites import read_attr, read_item, write_attr, write_item
from kgraph.operators.control_flow import (for_stmt, if_exp, if_stmt, set_loop_options,
                                           while_stmt)
from kgraph.operators.iterables import (enumerate_, iter_, len_, next_, range_, reversed_,
                                        zip_)
from kgraph.operators.lists import (list_append, list_delitem, list_extend, list_insert,
                                    list_, list_mutate, list_pop, list_setitem, set_element_type,
                                    sorted_, tuple_)
from kgraph.operators.logical import and_, compare, in_, not_, not_in, or_
from kgraph.operators.numeric import (all_, any_, bool_, divmod_, float_, floordiv,
                                      floordiv_assign, int_, math_call, max_, min_, mod,
                                      mod_assign,
                                      pow_, pow_assign, round_, sum_)
from kgraph.operators.strings import (format_, fstring, fvalue, percent_format, repr_,
                                      str_, str_format)
from kgraph.operators.undefined import NO_RETURN, Undefined, bound

__all__ = [
    "assert_", "assert_block", "print_", "call", "comp_iter", "for_stmt", "if_exp", "if_stmt",
    "while_stmt", "enumerate_", "len_", "range_", "zip_", "list_append", "list_delitem",
    "list_extend", "list_insert", "list_mutate", "list_pop", "list_setitem", "list_",
    "sorted_", "tuple_",
    "set_element_type", "and_", "compare", "in_", "not_", "not_in", "or_", "NO_RETURN",
    "Undefined", "read_attr", "read_item", "write_attr", "write_item",
    "reversed_", "all_", "any_", "divmod_", "max_", "min_", "round_", "sum_",
    "format_", "fstring", "fvalue", "percent_format", "repr_", "str_", "str_format",
    "set_loop_options", "bool_", "float_", "int_", "floordiv", "floordiv_assign", "mod",
    "mod_assign", "pow_", "pow_assign", "math_call", "bound", "iter_", "next_",
]
