"""Getting the source of a function, method, nested function or lambda.

Functions are parsed from ``inspect.getsourcelines`` (dedented); lambdas from
the whole file (or notebook cell) so that several lambdas on one line can be
told apart by the columns Python records for their code. Line numbers of the
returned tree are absolute: they are the user's own.
"""

from __future__ import annotations

import __future__
import ast
import dataclasses
import dis
import inspect
import linecache
import textwrap
import types

import gast

from kgraph.errors import ConversionError


@dataclasses.dataclass
class Source:
    filename: str
    node: object          # gast.FunctionDef or gast.Lambda, absolute line numbers
    text: str             # the function's own source text (for display)


def _no_source_error(fn, why):
    name = getattr(fn, "__qualname__", repr(fn))
    return ConversionError(
        f"cannot convert {name}: its source code is not available ({why})",
        location=f"{fn.__code__.co_filename}:{fn.__code__.co_firstlineno}",
        hints=("define the function in a .py file or a notebook cell (IPython keeps "
               "cell sources); code typed into the plain Python REPL or built with "
               "exec() has no source to convert",
               "or mark it with @kgraph.do_not_convert to run it as is"))


def get_source(fn):
    code = fn.__code__
    filename = code.co_filename
    if code.co_name == "<lambda>":
        return _lambda_source(fn, filename)
    # The source of the code object itself: inspect.getsourcelines(fn) would
    # follow ``__wrapped__`` and give a decorator's wrapper the wrapped
    # function's source.
    try:
        lines, start = _source_lines(code, fn.__globals__)
    except (OSError, TypeError, IndexError) as e:
        raise _no_source_error(fn, str(e)) from None
    raw = "".join(lines)
    text = textwrap.dedent(raw)
    # An indented definition (a method, a nested function) is parsed where it
    # stands, under an "if 1:", not dedented: dedenting would also change the
    # text of its multi-line string literals.
    indented = raw[:1] in (" ", "\t")
    # Blank lines before the definition give the parsed tree the user's own
    # line numbers (no walk to shift them). Parsed once by Python's own
    # parser: the Python tree is checked against the running code (verify)
    # and converted to gast for the passes (which does not change it).
    head = "if 1:\n" if indented else ""
    pad = "\n" * max(start - 1 - head.count("\n"), 0)
    try:
        module = ast.parse(pad + head + raw)
    except SyntaxError as e:
        raise ConversionError(f"cannot parse the source of {code.co_qualname}: {e.msg}",
                              location=f"{filename}:{start}") from None
    py_node = module.body[0].body[0] if indented else module.body[0]
    if not isinstance(py_node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        raise _no_source_error(fn, "the source found is not a function definition")
    node = gast.ast_to_gast(py_node)
    verify(fn, py_node, filename)
    return Source(filename, node, text)


def _source_lines(code, module_globals):
    """``inspect.getsourcelines(code)`` without ``inspect.getmodule``, whose
    first call scans every module in ``sys.modules`` (about a second with
    TensorFlow loaded, paid at a model's first fit): the function's own
    globals are its module's namespace, which is all linecache needs."""
    filename = code.co_filename
    linecache.checkcache(filename)
    lines = linecache.getlines(filename, module_globals)
    if not lines:
        raise OSError("could not get source code")
    first = code.co_firstlineno - 1
    if not 0 <= first < len(lines):
        raise OSError("source code does not match the running code")
    return inspect.getblock(lines[first:]), first + 1


_module_cache = {}


def _parse_file(filename):
    lines = linecache.getlines(filename)
    if not lines:
        linecache.checkcache(filename)
        lines = linecache.getlines(filename)
    text = "".join(lines)
    key = (filename, hash(text))
    tree = _module_cache.get(key)
    if tree is None and text:
        try:
            tree = gast.parse(text)
        except SyntaxError:
            tree = None
        _module_cache[key] = tree
    return tree, lines


def _lambda_source(fn, filename):
    code = fn.__code__
    tree, lines = _parse_file(filename)
    if tree is None:
        raise _no_source_error(fn, "the file holding the lambda could not be read or parsed")
    line = code.co_firstlineno
    candidates = [n for n in gast.walk(tree) if isinstance(n, gast.Lambda) and n.lineno == line]
    params = list(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
    candidates = [n for n in candidates if _lambda_params(n) == params] or candidates
    if len(candidates) > 1:
        positions = [p for p in code.co_positions() if p[0] is not None and p[2] is not None]
        if positions:
            def contains(n):
                return all((n.lineno, n.col_offset) <= (p[0], p[2]) and
                           (p[1], p[3]) <= (n.end_lineno, n.end_col_offset)
                           for p in positions)
            inside = [n for n in candidates if contains(n)]
            if inside:
                # The innermost lambda containing every instruction is ours.
                candidates = sorted(inside, key=lambda n: (n.end_lineno - n.lineno,
                                                           n.end_col_offset - n.col_offset))
    if not candidates:
        raise _no_source_error(fn, "no lambda found at its line")
    node = candidates[0]
    verify(fn, node, filename)
    text = "".join(lines[node.lineno - 1:node.end_lineno])
    return Source(filename, node, textwrap.dedent(text))


def _lambda_params(node):
    a = node.args
    return [x.id for x in a.posonlyargs + a.args + a.kwonlyargs]


# -- Is the source found the code that runs? ---------------------------------
# ``inspect`` reads whatever the file holds now: a module edited after import,
# a ``co_filename`` naming another file or a stale notebook cell give source
# that is not the function's code, and converting it would silently run other
# code. The parsed definition is compiled again (as a nested function whose
# free variables are the original's, inside a class of the same name for
# methods, so that closures, ``super()`` and private-name mangling compile
# alike) and its code objects are compared with the function's own, nested
# code included.

_FUTURE_FLAGS = 0
for _name in __future__.all_feature_names:
    _FUTURE_FLAGS |= getattr(__future__, _name).compiler_flag
_KIND_FLAGS = (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS | inspect.CO_GENERATOR
               | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR
               | inspect.CO_ITERABLE_COROUTINE)


# Instructions that carry no meaning of their own, or whose choice depends
# on how the module was compiled rather than on the function's source (3.11
# loads a method with LOAD_METHOD, or with LOAD_ATTR when its object is a
# module-level import).
_SKIPPED_OPS = frozenset({"CACHE", "NOP", "RESUME", "PRECALL", "PUSH_NULL", "EXTENDED_ARG",
                          "COPY_FREE_VARS", "MAKE_CELL"})
_SAME_OP = {"LOAD_METHOD": "LOAD_ATTR"}


def _const(value, rename):
    if rename is not None and isinstance(value, str) and value.startswith(rename[0]):
        value = rename[1] + value[len(rename[0]):]   # a nested class's __qualname__
    return repr(value)


def _instructions(code, rename):
    out = []
    for ins in dis.get_instructions(code):
        if ins.opname in _SKIPPED_OPS:
            continue
        op = _SAME_OP.get(ins.opname, ins.opname)
        if ins.opcode in dis.hasjrel or ins.opcode in dis.hasjabs:
            out.append(op)            # targets are offsets: they move with the ops
        elif isinstance(ins.argval, types.CodeType):
            out.append((op, ins.argval.co_name))
        else:
            out.append((op, _const(ins.argval, rename)))
    return tuple(out)


def fingerprint(code, structural=False, rename=None, raw=False):
    """What makes two code objects run the same: instructions, names,
    constants, argument layout and lines, recursively through nested code.

    ``structural``: only the layout and lines (for modules whose code pytest
    rewrote: its assertion rewriting compiles asserts to other code than
    their source). ``rename``: (prefix, replacement) for qualified names in
    string constants."""
    nested = tuple(fingerprint(c, structural, rename, raw) for c in code.co_consts
                   if isinstance(c, types.CodeType))
    lines = tuple(sorted({line for _, _, line in code.co_lines() if line is not None}))
    layout = (code.co_name, code.co_argcount, code.co_posonlyargcount,
              code.co_kwonlyargcount, code.co_varnames[:code.co_argcount
                                                      + code.co_kwonlyargcount],
              code.co_flags & _KIND_FLAGS, code.co_firstlineno, lines,
              tuple(sorted(code.co_freevars)), nested)
    if structural:
        return layout
    consts = tuple((type(c), _const(c, rename)) for c in code.co_consts
                   if not isinstance(c, types.CodeType))
    # raw: the bytecode itself (fast; equal when both were compiled alike)
    ops = code.co_code if raw else _instructions(code, rename)
    return layout + (ops, consts, tuple(sorted(code.co_cellvars)))


_CHECKED = "__kgraph_checked__"


def mangling_class_name(cls):
    """A class name that mangles private names as ``cls`` does, without
    binding ``cls`` itself (which would turn a method's reads of it into
    closure reads): names mangle by the class name stripped of leading
    underscores, so "_Foo" mangles as "Foo"."""
    return "_" + cls if cls.strip("_") else cls


def enclosing_class(qualname):
    """The name of the class whose body (directly or through nested
    functions) holds the function ``qualname``, or None."""
    parts = qualname.split(".")
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] != "<locals>" and parts[i + 1] != "<locals>":
            return parts[i]
    return None


def _recompiled(fn, node, filename):
    """``node`` is a Python tree (which this changes) or a gast tree."""
    code = fn.__code__
    tree = node if type(node).__module__ == "ast" else gast.gast_to_ast(node)
    line = tree.lineno
    if isinstance(tree, ast.Lambda):
        stmt = ast.Expr(value=tree)
    else:
        # Under a private name: binding the function's own name in the
        # factory would turn its recursive calls into closure reads.
        tree.name = _CHECKED
        stmt = tree
    body = [stmt]
    cls = enclosing_class(code.co_qualname)
    if cls is not None:
        body = [ast.ClassDef(name=mangling_class_name(cls), bases=[], keywords=[], body=body,
                             decorator_list=[], type_params=[])]
    pre = [ast.Assign(targets=[ast.Name(id=v, ctx=ast.Store())], value=ast.Constant(None))
           for v in code.co_freevars if v != "__class__"]
    factory = ast.FunctionDef(
        name="__kgraph_check__",
        args=ast.arguments(args=[], posonlyargs=[], vararg=None, kwonlyargs=[],
                           kw_defaults=[], kwarg=None, defaults=[]),
        body=pre + body + [ast.Return(value=ast.Constant(None))], decorator_list=[],
        returns=None, type_comment=None, type_params=[])
    # Only the nodes made here lack locations: the parsed tree has them all.
    made = [factory, body[0]] + [n for stmt in pre + factory.body[-1:] for n in ast.walk(stmt)]
    for n in made:
        if getattr(n, "lineno", None) is None:
            n.lineno, n.col_offset, n.end_lineno, n.end_col_offset = line, 0, line, 0
    module = ast.Module(body=[factory], type_ignores=[])
    flags = code.co_flags & _FUTURE_FLAGS
    compiled = compile(module, filename, "exec", flags=flags, dont_inherit=True)
    found = []
    todo = [compiled]
    while todo:
        c = todo.pop()
        for k in c.co_consts:
            if isinstance(k, types.CodeType):
                if k.co_name in (code.co_name, _CHECKED) \
                        and k.co_firstlineno == code.co_firstlineno:
                    found.append(k)
                todo.append(k)
    return found


def verify(fn, node, filename):
    """Raise ConversionError unless ``node`` (the parsed source of ``fn``)
    compiles to ``fn``'s own code."""
    code = fn.__code__
    try:
        candidates = _recompiled(fn, node, filename)
    except (SyntaxError, ValueError, TypeError):
        candidates = []
    structural = "@pytest_ar" in fn.__globals__
    for raw in ((False,) if structural else (True, False)):
        want = fingerprint(code, structural, raw=raw)
        for c in candidates:
            rename = (c.co_qualname, code.co_qualname)
            if fingerprint(c.replace(co_name=code.co_name), structural, rename, raw) == want:
                return
    name = code.co_qualname
    raise ConversionError(
        f"cannot convert {name}: the source found in {filename} is not the code that "
        f"runs (the file changed since the function was defined, or the function's code "
        f"names another file)",
        location=f"{code.co_filename}:{code.co_firstlineno}",
        hints=("reload the module (importlib.reload) or restart the interpreter so that "
               "the function is defined from the file as it is now",
               "or mark the function with @kgraph.do_not_convert to run it as is"),
        kind="stale-source")
