"""A tiny Cucumber tag-expression evaluator: `@a and not (@b or @c)`."""

import re

from ..errors import InvalidScenario

_TOKEN_RE = re.compile(r"\s*(\(|\)|@[^\s()]+|and\b|or\b|not\b|\S+)")


def _tokens(expr):
    pos, out = 0, []
    expr = expr.rstrip()
    while pos < len(expr):
        m = _TOKEN_RE.match(expr, pos)
        out.append(m.group(1))
        pos = m.end()
    return out


class _Parser:
    # Grammar: or := and ("or" and)* ; and := unary ("and" unary)* ; unary := "not" unary | atom
    def __init__(self, expr):
        self.expr = expr
        self.toks = _tokens(expr)
        self.i = 0

    def fail(self, why):
        raise InvalidScenario(f"tag expression {self.expr!r}: {why}")

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def parse(self):
        node = self.or_()
        if self.peek() is not None:
            self.fail(f"unexpected {self.peek()!r}")
        return node

    def or_(self):
        node = self.and_()
        while self.peek() == "or":
            self.take()
            left, right = node, self.and_()
            node = lambda tags, a=left, b=right: a(tags) or b(tags)  # noqa: E731
        return node

    def and_(self):
        node = self.unary()
        while self.peek() == "and":
            self.take()
            left, right = node, self.unary()
            node = lambda tags, a=left, b=right: a(tags) and b(tags)  # noqa: E731
        return node

    def unary(self):
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


def compile_tags(expr):
    """A predicate over a set of tag names; None or "" selects everything."""
    if expr is None or not str(expr).strip():
        return lambda tags: True
    return _Parser(str(expr)).parse()
