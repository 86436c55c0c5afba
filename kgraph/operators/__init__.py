"""The runtime ABI of generated code: it imports this module as ``kg__``.

Nothing else belongs here: every public name is called by generated code.
"""

from kgraph.operators.builtins import assert_, print_
from kgraph.operators.calls import call, comp_iter
from kgraph.operators.composites import read_attr, read_item, write_attr, write_item
from kgraph.operators.control_flow import for_stmt, if_exp, if_stmt, while_stmt
from kgraph.operators.iterables import enumerate_, len_, range_, zip_
from kgraph.operators.lists import list_append, set_element_type
from kgraph.operators.logical import and_, compare, in_, not_, not_in, or_
from kgraph.operators.undefined import NO_RETURN, Undefined

__all__ = [
    "assert_", "print_", "call", "comp_iter", "for_stmt", "if_exp", "if_stmt",
    "while_stmt", "enumerate_", "len_", "range_", "zip_", "list_append",
    "set_element_type", "and_", "compare", "in_", "not_", "not_in", "or_", "NO_RETURN",
    "Undefined", "read_attr", "read_item", "write_attr", "write_item",
]
