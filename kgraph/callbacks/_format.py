"""Generated code as a person reads it: lines at most ~100 columns, and the
user's comments back in place.

``ast.unparse`` writes every statement on one line (a four-line call of the
user's becomes one 200-character line) and drops comments. ``readable(conv)``

* maps each line of the unparsed text to the user's line it came from (the
  converted tree keeps the user's line numbers; the text is parsed again and
  walked beside the tree, node for node);
* puts each comment of the user's source back: a comment at the end of line
  ``L`` at the end of the first generated line made from line ``L``, a comment
  on a line of its own before the first generated line made from a later line;
* breaks lines longer than ``width`` inside their outermost brackets, packing
  the items (split at the commas of that bracket level) onto indented
  continuation lines, recursively; strings are never split.

The result is still valid Python with the same meaning (continuation lines
sit inside brackets; comments are comments).
"""

from __future__ import annotations

import ast
import io
import tokenize

WIDTH = 100
_OPEN, _CLOSE = "([{", ")]}"


# ---------------------------------------------------------------------------
# Comments of the original source, by line.

def source_comments(source, first_line):
    """``{line: (text, own_line)}`` for the comments of ``source``, whose first
    line is line ``first_line`` of its file."""
    out = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return out
    lines = source.splitlines()
    for tok in tokens:
        if tok.type != tokenize.COMMENT:
            continue
        row, col = tok.start
        own_line = not lines[row - 1][:col].strip()
        out[first_line + row - 1] = (tok.string, own_line)
    return out


# ---------------------------------------------------------------------------
# Lines of the unparsed text -> the user's lines.

def line_origins(tree, text):
    """``{line of text: user's line}`` for the lines where a statement starts."""
    try:
        again = ast.parse(text)
    except SyntaxError:
        return {}
    if not isinstance(tree, ast.Module):
        tree = ast.Module(body=[tree], type_ignores=[])
    origins = {}
    for a, b in zip(ast.walk(tree), ast.walk(again)):
        if type(a).__name__ != type(b).__name__:
            break                      # the round trip changed the shape: stop here
        if isinstance(b, ast.stmt) and getattr(a, "lineno", None):
            origins.setdefault(b.lineno, a.lineno)
    return origins


# ---------------------------------------------------------------------------
# Line breaking.

def _brackets(code):
    """(open col, close col) of the top-level bracket pairs of one logical
    line, and the columns of each pair's own commas: ``[(o, c, [commas])]``."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []
    pairs, stack = [], []
    for tok in tokens:
        if tok.type != tokenize.OP or tok.start[0] != 1:
            continue
        col = tok.start[1]
        if tok.string in _OPEN:
            stack.append((col, []))
        elif tok.string in _CLOSE and stack:
            start, commas = stack.pop()
            if not stack:
                pairs.append((start, col, commas))
        elif tok.string == "," and stack:
            stack[-1][1].append(col)
    return pairs


def wrap(line, width=WIDTH):
    """``line`` (one statement, with its indentation) as lines of at most
    ``width`` columns where brackets allow."""
    if len(line) <= width:
        return [line]
    indent = line[: len(line) - len(line.lstrip())]
    code = line.lstrip()
    pairs = [p for p in _brackets(code) if p[1] - p[0] > 2]
    if not pairs:
        return [line]
    start, stop, commas = max(pairs, key=lambda p: p[1] - p[0])
    head, inner, tail = code[: start + 1], code[start + 1: stop], code[stop:]
    cuts = [c - start - 1 for c in commas]
    items, last = [], 0
    for cut in cuts:
        items.append(inner[last: cut + 1].strip())
        last = cut + 1
    rest = inner[last:].strip()
    if rest:
        items.append(rest)
    inner_indent = indent + "    "
    out = [indent + head]
    current = ""
    for item in items:
        candidate = f"{current} {item}" if current else item
        if current and len(inner_indent) + len(candidate) > width:
            out.extend(wrap(inner_indent + current, width))
            current = item
        else:
            current = candidate
    current += tail
    out.extend(wrap(inner_indent + current, width) if current.strip() else [])
    if len(out) > 1 and out[-1].strip() in _CLOSE and len(out[-2]) + len(tail) <= width:
        out[-2] += out.pop().strip()   # a lone ")" goes back up when it fits
    return out


# ---------------------------------------------------------------------------

def readable(text, tree=None, original_source=None, first_line=1, width=WIDTH):
    """The generated ``text`` with long lines broken and the user's comments
    (from ``original_source``, first line ``first_line``) put back."""
    origins = line_origins(tree, text) if tree is not None else {}
    comments = (source_comments(original_source, first_line)
                if original_source is not None else {})
    own = sorted(line for line, (_, own_line) in comments.items() if own_line)
    used = set()
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        origin = origins.get(number)
        indent = line[: len(line) - len(line.lstrip())]
        if origin is not None:
            for c in own:
                if c < origin and c not in used and c >= first_line:
                    used.add(c)
                    out.append(indent + comments[c][0])
        pieces = wrap(line, width)
        if origin is not None and origin in comments and origin not in used \
                and not comments[origin][1]:
            used.add(origin)
            comment = comments[origin][0]
            if len(pieces[-1]) + 2 + len(comment) <= width + 20:
                pieces[-1] += "  " + comment
            else:
                pieces.insert(0, indent + comment)
        out.extend(pieces)
    return "\n".join(out)
