"""Tokens of a client command, as produced by the reader.

The reader does not know the grammar of each command; it splits the argument text into

* :class:`Atom` -- a bare word (``FLAGS``, ``1:*``, ``\\Seen``, ``BODY.PEEK[HEADER]<0.100>``,
  ``[Gmail]/Sent``). Bare words are liberal: every printable ASCII octet except SP, ``(``
  and ``)``. The parser checks each word against the grammar of its position (atom,
  astring, sequence set...).
  After ``BODY``, ``BODY.PEEK``, ``BINARY``, ``BINARY.PEEK`` and ``BINARY.SIZE`` (any
  case) a ``[`` opens a section, which may hold spaces, lists, strings and literals: its
  tokens are in ``section``, the text before ``[`` is :attr:`Atom.head` and the text after
  ``]`` is ``tail``. ``value`` is the whole word as sent (a literal inside the brackets
  shows as ``{N}``). Elsewhere brackets are ordinary characters (``[Gmail]/Sent``).
* :class:`Quoted` -- a quoted string, escapes resolved, as bytes.
* :class:`Literal` -- a literal's octets (``{N}``, ``{N+}``, and ``~{N}`` literal8 with
  ``binary=True``).
* :class:`ParenList` -- a parenthesised list of tokens.

``NIL`` is an :class:`Atom`; only the parser knows whether it means NIL or a mailbox
called "NIL" (it is the former wherever the grammar allows ``nil``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Atom:
    """A bare word. ``value`` is ASCII except inside a section (then Latin-1 of the octets)."""

    value: str
    section: tuple[Token, ...] | None = None
    tail: str = ""

    @property
    def head(self) -> str:
        """Text before ``[`` (the whole word when there is no section)."""
        if self.section is None:
            return self.value
        return self.value.partition("[")[0]


@dataclass(frozen=True, slots=True)
class Quoted:
    """A quoted string; ``value`` has escapes resolved."""

    value: bytes


@dataclass(frozen=True, slots=True)
class Literal:
    """A literal's octets. ``binary`` for literal8 (``~{N}``); ``synchronizing`` for ``{N}``."""

    value: bytes
    binary: bool = False
    synchronizing: bool = True


@dataclass(frozen=True, slots=True)
class ParenList:
    """A parenthesised list."""

    items: tuple[Token, ...]


Token = Atom | Quoted | Literal | ParenList
StringToken = Quoted | Literal


def render_token(token: Token) -> str:
    """Short textual form of a token, for error messages and reconstructing bracket words."""
    if isinstance(token, Atom):
        return token.value
    if isinstance(token, Quoted):
        text = token.value.decode("utf-8", "replace").replace("\\", "\\\\").replace('"', '\\"')
        return f'"{text}"'
    if isinstance(token, Literal):
        return f"{'~' if token.binary else ''}{{{len(token.value)}}}"
    return "(" + " ".join(render_token(t) for t in token.items) + ")"
