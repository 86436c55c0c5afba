"""From a Python function to its converted twin: source, parse, passes, codegen."""
