"""Fresh names for generated code that cannot clash with the user's."""

from __future__ import annotations


class Namer:
    def __init__(self, taken):
        self._taken = set(taken)
        self._counts = {}

    def new(self, base):
        n = self._counts.get(base, 0)
        while True:
            n += 1
            candidate = f"{base}_{n}"
            if candidate not in self._taken:
                break
        self._counts[base] = n
        self._taken.add(candidate)
        return candidate

    def new_group(self, *bases):
        """Fresh names sharing one number, e.g. if_body_3 and else_body_3."""
        key = bases
        n = self._counts.get(key, 0)
        while True:
            n += 1
            candidates = [f"{b}_{n}" for b in bases]
            if not any(c in self._taken for c in candidates):
                break
        self._counts[key] = n
        self._taken.update(candidates)
        return candidates
