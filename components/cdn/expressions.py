"""Cloudflare Rules language: the small subset this project emits, built and checked offline.

Nothing here can ask Cloudflare whether an expression is valid before ``pulumi up``; a typo in a field
name would only surface as an API error mid-deploy, after other rulesets changed. So every expression
the CDN component emits goes through :func:`check`: a tokenizer and recursive-descent parser for the
subset below, with a whitelist of Cloudflare's documented field names (and their types), operators
and functions. It also reports which fields an expression uses, so plan-tier rules can be checked.

Grammar (a subset of https://developers.cloudflare.com/ruleset-engine/rules-language/)::

    expr     := and_expr (("or" | "||") and_expr)*
    and_expr := not_expr (("and" | "&&") not_expr)*
    not_expr := ("not" | "!") not_expr | compare
    compare  := operand [ cmp_op operand | "in" set | "contains" STRING ]
    operand  := "(" expr ")" | STRING | INT | "true" | "false"
              | FIELD | MAP_FIELD "[" STRING "]" | FUNCTION "(" operand ("," operand)* ")"
    set      := "{" (STRING | INT)+ "}"
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

STRING, INTEGER, BOOLEAN, STRING_ARRAY = "String", "Integer", "Boolean", "Array<String>"

#: Documented fields we may emit, with their Rules-language types.
FIELDS: dict[str, str] = {
    "http.host": STRING,
    "http.request.method": STRING,
    "http.request.uri": STRING,
    "http.request.uri.path": STRING,
    "http.request.uri.path.extension": STRING,
    "http.request.uri.query": STRING,
    "http.request.full_uri": STRING,
    "http.user_agent": STRING,
    "http.cookie": STRING,
    "ip.src.country": STRING,
    "ssl": BOOLEAN,
    "cf.bot_management.verified_bot": BOOLEAN,
    "http.response.code": INTEGER,
    "http.response.content_type.media_type": STRING,
}
#: Map fields: ``field["key"]`` gives every value of that header/cookie as an array.
MAP_FIELDS: dict[str, str] = {"http.request.headers": STRING_ARRAY, "http.request.cookies": STRING_ARRAY}
#: Functions: accepted argument types per position, and the result type.
FUNCTIONS: dict[str, tuple[tuple[frozenset[str], ...], str]] = {
    "starts_with": ((frozenset({STRING}), frozenset({STRING})), BOOLEAN),
    "ends_with": ((frozenset({STRING}), frozenset({STRING})), BOOLEAN),
    "len": ((frozenset({STRING, STRING_ARRAY}),), INTEGER),
    "lower": ((frozenset({STRING}),), STRING),
}
_EQUALITY = {"eq": "eq", "==": "eq", "ne": "ne", "!=": "ne"}
_ORDERING = {"lt": "lt", "<": "lt", "le": "le", "<=": "le", "gt": "gt", ">": "gt", "ge": "ge", ">=": "ge"}
#: Cloudflare's limit on a rule expression's length (characters).
MAX_EXPRESSION_LENGTH = 4096

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\["\\])*")
  | (?P<int>[0-9]+)
  | (?P<name>[a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*)
  | (?P<op>==|!=|>=|<=|&&|\|\||[<>!(){}\[\],])
    """,
    re.VERBOSE,
)


class ExpressionError(ValueError):
    """An expression outside the checked subset; the message names the position and the problem."""


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


@dataclass(frozen=True)
class Checked:
    """A valid expression and the fields it reads (map fields as ``http.request.headers["x"]``)."""

    expression: str
    fields: frozenset[str]


def tokenize(expression: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(expression):
        match = _TOKEN.match(expression, pos)
        if not match:
            snippet = expression[pos : pos + 12]
            if snippet.startswith('"'):
                raise ExpressionError(f"unterminated string at {pos}: {snippet!r}")
            raise ExpressionError(f"unexpected character at {pos}: {snippet!r}")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("end", "", len(expression)))
    return tokens


class _Parser:
    def __init__(self, expression: str) -> None:
        self.tokens = tokenize(expression)
        self.index = 0
        self.fields: set[str] = set()

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.token
        self.index += 1
        return token

    def expect(self, text: str) -> Token:
        if self.token.text != text:
            self.fail(f"expected {text!r}")
        return self.advance()

    def fail(self, message: str) -> None:
        shown = self.token.text or "end of expression"
        raise ExpressionError(f"{message} at {self.token.pos} (found {shown!r})")

    def parse(self) -> None:
        result = self.expr()
        if self.token.kind != "end":
            self.fail("unexpected trailing input")
        if result != BOOLEAN:
            raise ExpressionError(f"an expression must be Boolean, this one is {result}")

    def boolean(self, kind: str, what: str) -> None:
        if kind != BOOLEAN:
            raise ExpressionError(f"operand of {what!r} must be Boolean, got {kind} before {self.token.pos}")

    def expr(self) -> str:
        kind = self.and_expr()
        while self.token.text in ("or", "||"):
            op = self.advance().text
            self.boolean(kind, op)
            self.boolean(self.and_expr(), op)
        return kind

    def and_expr(self) -> str:
        kind = self.not_expr()
        while self.token.text in ("and", "&&"):
            op = self.advance().text
            self.boolean(kind, op)
            self.boolean(self.not_expr(), op)
        return kind

    def not_expr(self) -> str:
        if self.token.text in ("not", "!"):
            op = self.advance().text
            self.boolean(self.not_expr(), op)
            return BOOLEAN
        return self.compare()

    def compare(self) -> str:
        left = self.operand()
        text = self.token.text
        if text in _EQUALITY:
            self.advance()
            right = self.operand()
            if left != right or left == STRING_ARRAY:
                raise ExpressionError(f"{text!r} compares {left} with {right}; both sides need the same scalar type")
            return BOOLEAN
        if text in _ORDERING:
            self.advance()
            right = self.operand()
            if left != INTEGER or right != INTEGER:
                raise ExpressionError(f"{text!r} orders Integers, got {left} and {right}")
            return BOOLEAN
        if text == "in":
            self.advance()
            self.literal_set(left)
            return BOOLEAN
        if text == "contains":
            self.advance()
            if left != STRING or self.token.kind != "string":
                self.fail("'contains' needs a String field and a string literal")
            self.advance()
            return BOOLEAN
        return left

    def literal_set(self, element: str) -> None:
        if element not in (STRING, INTEGER):
            raise ExpressionError(f"'in' needs a String or Integer on the left, got {element}")
        self.expect("{")
        wanted = "string" if element == STRING else "int"
        count = 0
        while self.token.kind == wanted:
            self.advance()
            count += 1
        if count == 0:
            self.fail(f"expected {element} literals in the set")
        self.expect("}")

    def operand(self) -> str:
        """A parenthesised expression, a string or integer literal, or a name (see :meth:`named`)."""
        token = self.token
        if token.text == "(":
            self.advance()
            kind = self.expr()
            self.expect(")")
            return kind
        if token.kind == "string":
            self.advance()
            return STRING
        if token.kind == "int":
            self.advance()
            return INTEGER
        if token.kind != "name":
            self.fail("expected a field, function or literal")
        return self.named(token)

    def named(self, token: Token) -> str:
        """A boolean literal, function call, map field (``name["key"]``) or plain field; records fields read."""
        name = self.advance().text
        if name in ("true", "false"):
            return BOOLEAN
        if name in FUNCTIONS:
            return self.call(name)
        if name in MAP_FIELDS:
            self.expect("[")
            key = self.token
            if key.kind != "string":
                self.fail(f"{name} needs a quoted key")
            self.advance()
            self.expect("]")
            self.fields.add(f"{name}[{key.text}]")
            return MAP_FIELDS[name]
        if name in FIELDS:
            self.fields.add(name)
            return FIELDS[name]
        raise ExpressionError(f"unknown field or function {name!r} at {token.pos}")

    def call(self, name: str) -> str:
        params, result = FUNCTIONS[name]
        self.expect("(")
        kinds = [self.operand()]
        while self.token.text == ",":
            self.advance()
            kinds.append(self.operand())
        self.expect(")")
        if len(kinds) != len(params):
            raise ExpressionError(f"{name}() takes {len(params)} argument(s), got {len(kinds)}")
        for i, (kind, allowed) in enumerate(zip(kinds, params, strict=True)):
            if kind not in allowed:
                raise ExpressionError(f"{name}() argument {i + 1} must be {' or '.join(sorted(allowed))}, got {kind}")
        return result


def check(expression: str) -> Checked:
    """Parse ``expression``; raise :class:`ExpressionError` unless it is in the checked subset."""
    if not expression.strip():
        raise ExpressionError("empty expression")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"expression is {len(expression)} characters; Cloudflare allows {MAX_EXPRESSION_LENGTH}")
    parser = _Parser(expression)
    parser.parse()
    return Checked(expression, frozenset(parser.fields))


# --- builders: every emitted expression is made from these and then checked --------------------------


def quote(value: str) -> str:
    """A Rules-language string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def string_set(values: Iterable[str]) -> str:
    return "{" + " ".join(quote(v) for v in values) + "}"


def path_under(prefix: str) -> str:
    """Requests for ``prefix`` itself or anything below it (``/api/public`` does not match ``/api/publicity``)."""
    path = "http.request.uri.path"
    if prefix.endswith("/"):
        return f"starts_with({path}, {quote(prefix)})"
    return f"({path} eq {quote(prefix)} or starts_with({path}, {quote(prefix + '/')}))"


def extension_in(extensions: Iterable[str]) -> str:
    return f"http.request.uri.path.extension in {string_set(extensions)}"


def header_present(name: str) -> str:
    return f"len(http.request.headers[{quote(name)}]) > 0"


def cookie_present(name: str) -> str:
    return f"len(http.request.cookies[{quote(name)}]) > 0"


# --- rate-limit characteristics ------------------------------------------------------------------------

_CHARACTERISTIC = re.compile(
    r"^(cf\.colo\.id|ip\.src|cf\.unique_visitor_id|http\.host|http\.request\.uri\.path|ip\.src\.asnum|ip\.src\.country"
    r'|http\.request\.headers\["[a-z0-9-]+"\]|http\.request\.cookies\["[A-Za-z0-9!#$%&\'*+.^_`|~-]+"\])$'
)


def check_characteristics(characteristics: Iterable[str]) -> list[str]:
    """Problems with a rate-limit rule's characteristics (documented API values only; cf.colo.id required)."""
    values = list(characteristics)
    problems = [f"{c!r} is not a documented rate-limit characteristic" for c in values if not _CHARACTERISTIC.match(c)]
    if "cf.colo.id" not in values:
        problems.append("cf.colo.id is mandatory in every rate-limit rule")
    if "ip.src" in values and "cf.unique_visitor_id" in values:
        problems.append("ip.src and cf.unique_visitor_id cannot be combined")
    if len(set(values)) != len(values):
        problems.append("a characteristic is listed twice")
    return problems
