"""kgraph: plain Python control flow, converted into TensorFlow graphs.

    import kgraph, tensorflow as tf

    @kgraph.function
    def collatz(n):
        steps = 0
        while n != 1:
            n = n // 2 if n % 2 == 0 else 3 * n + 1
            steps += 1
        return steps

    collatz(tf.constant(27))   # one graph call -> 111
"""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kgraph.api import (Function, convert, do_not_convert, explain, function,  # noqa: E402
                        to_code, to_graph)
from kgraph.errors import (ConversionError, GraphZeroDivisionError,  # noqa: E402
                           KGraphError, NotConvertibleError, RecursiveStagingError,
                           StagingError, StagingTypeError, StagingValueError, UndefinedVariableError,
                           UnsupportedStagingError, UnsupportedSyntaxError)
from kgraph.layers import GraphLayer, GraphModel  # noqa: E402
from kgraph.operators.lists import set_element_type, stack  # noqa: E402
from kgraph import callbacks  # noqa: E402,F401

__version__ = "0.1.0"

__all__ = [
    "function", "to_graph", "convert", "to_code", "explain", "do_not_convert",
    "set_element_type", "stack", "Function", "KGraphError", "ConversionError",
    "StagingError", "UnsupportedSyntaxError", "NotConvertibleError", "StagingTypeError",
    "StagingValueError", "UndefinedVariableError", "UnsupportedStagingError",
    "RecursiveStagingError", "GraphZeroDivisionError", "GraphLayer", "GraphModel",
]
