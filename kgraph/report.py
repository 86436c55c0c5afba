"""What kgraph decided, statement by statement: the data behind explain()."""

from __future__ import annotations

import dataclasses
import linecache


@dataclasses.dataclass(frozen=True)
class Decision:
    filename: str
    lineno: int
    construct: str      # "if", "while", "for", "and", "print", "call", ...
    path: str           # "graph" or "python" (or "note")
    reason: str

    @property
    def location(self):
        return f"{self.filename}:{self.lineno}"

    def source_line(self):
        return linecache.getline(self.filename, self.lineno).strip()


class Recorder:
    """Collects decisions; a statement traced several times is kept once."""

    def __init__(self):
        self.decisions = []
        self._seen = set()
        self.converted = []
        self.parent = None

    def note_converted(self, qualname):
        if qualname not in self.converted:
            self.converted.append(qualname)
        if self.parent is not None:
            self.parent.note_converted(qualname)

    def add(self, decision):
        if decision not in self._seen:
            self._seen.add(decision)
            self.decisions.append(decision)
        if self.parent is not None:
            self.parent.add(decision)


class Report:
    """The result of ``kgraph.explain``: printable, and inspectable in tests.

    ``report.decisions`` is a list of ``Decision``; ``report.converted`` names
    the functions kgraph converted; ``str(report)`` is a table.
    """

    def __init__(self, function_name, decisions, converted, code):
        self.function_name = function_name
        self.decisions = list(decisions)
        self.converted = list(converted)
        self.code = code

    def graph(self):
        return [d for d in self.decisions if d.path == "graph"]

    def python(self):
        return [d for d in self.decisions if d.path == "python"]

    def notes(self):
        return [d for d in self.decisions if d.path == "note"]

    def __str__(self):
        lines = [f"kgraph.explain({self.function_name})"]
        if self.converted:
            lines.append("converted functions: " + ", ".join(self.converted))
        if not self.decisions:
            lines.append("  (no control flow statements were run)")
        for d in sorted(self.decisions, key=lambda d: (d.filename, d.lineno)):
            src = d.source_line()
            lines.append(f"  {d.location}  {d.construct:<6} -> {d.path:<6} {d.reason}")
            if src:
                lines.append(f"      | {src}")
        return "\n".join(lines)

    def to_markdown(self):
        rows = ["| line | statement | construct | became | why |",
                "|---|---|---|---|---|"]
        for d in sorted(self.decisions, key=lambda d: (d.filename, d.lineno)):
            src = d.source_line().replace("|", "\\|")
            rows.append(f"| {d.lineno} | `{src}` | {d.construct} | {d.path} | {d.reason} |")
        return "\n".join(rows)

    __repr__ = __str__
