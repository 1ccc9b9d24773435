"""How deeply a JSON body nests, counted on the raw bytes as they arrive.

A decoder recurses once per `[` or `{`: a small body of 5,000 brackets is enough to exhaust
the interpreter's stack and turn a bad request into a 500 with a traceback. Counting the
brackets before decoding is cheap and needs no parse: only `[ ] { } " \\` matter, found by
one regular expression (C speed), and brackets inside strings are skipped. The count
carries over between chunks, so a streamed body is refused as soon as it goes too deep.
"""

from __future__ import annotations

import re

__all__ = ["MAX_JSON_DEPTH", "NestingCounter"]

# Nothing gymgate accepts nests more than a few levels; a provider's webhook event about ten.
MAX_JSON_DEPTH = 64
_STRUCTURE = re.compile(rb'[\[\]{}"\\]')


class NestingCounter:
    """Feed a body chunk by chunk; `feed` answers False once it nests deeper than allowed."""

    def __init__(self, max_depth: int = MAX_JSON_DEPTH) -> None:
        self.max_depth = max_depth
        self._depth = 0
        self._in_string = False
        self._escaped_at = -1  # offset in the current chunk of the byte a backslash escapes

    def feed(self, chunk: bytes) -> bool:
        """Count `chunk`'s brackets; False when the body is now nested too deeply."""
        for match in _STRUCTURE.finditer(chunk):
            at = match.start()
            byte = chunk[at]
            if self._in_string:
                if at == self._escaped_at:
                    continue
                if byte == 0x5C:  # backslash: the next byte is escaped, maybe in the next chunk
                    self._escaped_at = at + 1
                elif byte == 0x22:
                    self._in_string = False
            elif byte == 0x22:
                self._in_string = True
            elif byte in b"[{":
                self._depth += 1
                if self._depth > self.max_depth:
                    return False
            elif byte in b"]}":
                self._depth -= 1
        self._escaped_at -= len(chunk)  # 0 if the chunk ended on a backslash, else negative
        return True
