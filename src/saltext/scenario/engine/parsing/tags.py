"""A tiny Cucumber tag-expression evaluator: `@a and not (@b or @c)`."""

from __future__ import annotations

import re
from collections.abc import Callable, Set
from typing import NoReturn, cast

from ..errors import InvalidScenario

# A compiled expression: true when a scenario with these tag names is selected.
Predicate = Callable[[Set[str]], bool]

_TOKEN_RE = re.compile(r"\s*(\(|\)|@[^\s()]+|and\b|or\b|not\b|\S+)")


def _tokens(expr: str) -> list[str]:
    pos, out = 0, []
    expr = expr.rstrip()
    while pos < len(expr):
        # Never None: the last alternative takes any non-space run, and the string has one
        # at `pos` (trailing space is stripped above).
        m = cast(re.Match[str], _TOKEN_RE.match(expr, pos))
        out.append(m.group(1))
        pos = m.end()
    return out


def _or(a: Predicate, b: Predicate) -> Predicate:
    return lambda tags: a(tags) or b(tags)


def _and(a: Predicate, b: Predicate) -> Predicate:
    return lambda tags: a(tags) and b(tags)


class _Parser:
    # Grammar: or := and ("or" and)* ; and := unary ("and" unary)* ; unary := "not" unary | atom
    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.toks = _tokens(expr)
        self.i = 0

    def fail(self, why: str) -> NoReturn:
        raise InvalidScenario(f"tag expression {self.expr!r}: {why}")

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> str | None:
        tok = self.peek()
        self.i += 1
        return tok

    def parse(self) -> Predicate:
        node = self.or_()
        if self.peek() is not None:
            self.fail(f"unexpected {self.peek()!r}")
        return node

    def or_(self) -> Predicate:
        node: Predicate = self.and_()
        while self.peek() == "or":
            self.take()
            node = _or(node, self.and_())
        return node

    def and_(self) -> Predicate:
        node: Predicate = self.unary()
        while self.peek() == "and":
            self.take()
            node = _and(node, self.unary())
        return node

    def unary(self) -> Predicate:
        tok = self.take()
        if tok == "not":
            inner = self.unary()
            return lambda tags: not inner(tags)
        if tok == "(":
            node = self.or_()
            if self.take() != ")":
                self.fail("missing ')'")
            return node
        if tok and tok.startswith("@") and len(tok) > 1:
            return lambda tags: tok in tags
        self.fail("expected a @tag, 'not' or '('" if tok is None else f"unexpected {tok!r}")
        return None


def compile_tags(expr: object) -> Predicate:
    """A predicate over a set of tag names; None or "" selects everything."""
    if expr is None or not str(expr).strip():
        return lambda tags: True
    return _Parser(str(expr)).parse()
