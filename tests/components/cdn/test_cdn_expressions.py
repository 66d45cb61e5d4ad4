"""The Rules-language checker: accepts what the CDN emits, rejects malformed or unknown expressions."""

from __future__ import annotations

import re

import pytest

from components.cdn.expressions import (
    ExpressionError,
    check,
    check_characteristics,
    cookie_present,
    extension_in,
    header_present,
    path_under,
    quote,
    tokenize,
)

VALID = [
    "true",
    'http.request.uri.path.extension in {"js" "css"}',
    'http.request.method in {"GET" "HEAD"} and (http.request.uri.path eq "/api" or starts_with(http.request.uri.path, "/api/"))',
    'len(http.request.cookies["session"]) > 0 or len(http.request.headers["authorization"]) > 0',
    'http.response.content_type.media_type in {"text/html" "image/svg+xml"}',
    'not ssl and http.host == "example.com"',
    'http.response.code eq 200 && !(http.user_agent contains "bot")',
    'lower(http.host) ne "example.com"',
    "http.response.code in {200 206}",
]


@pytest.mark.parametrize("expression", VALID)
def test_valid_expressions_parse(expression: str) -> None:
    check(expression)


MALFORMED: list[tuple[str, str]] = [
    ('http.request.uri.path eq "/a" and', "expected a field"),
    ('(http.request.uri.path eq "/a"', "expected ')'"),
    ('http.request.uri.path eq "/a")', "trailing input"),
    ('http.request.uri.path eq "/a', "unterminated string"),
    ('http.request.uri.pth eq "/a"', "unknown field or function 'http.request.uri.pth'"),
    ('cf.colo.id eq "abc"', "unknown field"),  # documented: never use cf.colo.id in expressions
    ('regex_replace(http.host, "a", "b") eq "x"', "unknown field or function"),
    ('http.request.uri.path matches "^/a"', "unexpected trailing input"),  # regex: not in our subset
    ('http.request.uri.path in {"a" 1}', "expected '}'"),
    ("http.request.uri.path in {}", "literals in the set"),
    ("http.request.uri.path eq 200", "both sides need the same scalar type"),
    ('http.response.code > "200"', "orders Integers"),
    ("http.request.uri.path", "must be Boolean"),
    ("http.host and ssl", "must be Boolean"),
    ("starts_with(http.request.uri.path) ", "takes 2 argument(s)"),
    ('starts_with(http.response.code, "/")', "argument 1 must be String"),
    ('http.request.headers[authorization] eq "x"', "needs a quoted key"),
    ('http.request.headers["x"] eq "y"', "same scalar type"),
    ('http.host eq "a" ; drop', "unexpected character"),
    ("", "empty expression"),
    ("   ", "empty expression"),
]


@pytest.mark.parametrize(("expression", "message"), MALFORMED)
def test_malformed_expressions_are_rejected(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)):
        check(expression)


def test_expression_length_limit() -> None:
    long = " or ".join(f'http.host eq "{"a" * 60}{i}"' for i in range(80))
    with pytest.raises(ExpressionError, match="Cloudflare allows 4096"):
        check(long)


def test_checker_reports_the_fields_used() -> None:
    checked = check(f"{path_under('/api')} and {header_present('authorization')}")
    assert checked.fields == {"http.request.uri.path", 'http.request.headers["authorization"]'}


def test_quote_escapes_quotes_and_backslashes() -> None:
    literal = quote('a"b\\c')
    assert literal == '"a\\"b\\\\c"'
    assert [t.kind for t in tokenize(literal)] == ["string", "end"]
    check(f"http.host eq {literal}")


def test_path_under_does_not_match_sibling_prefixes() -> None:
    expression = path_under("/api/public")
    assert '"/api/public/"' in expression and 'eq "/api/public"' in expression
    assert path_under("/") == 'starts_with(http.request.uri.path, "/")'
    check(expression)


def test_builders_emit_checkable_expressions() -> None:
    for expression in (extension_in(["js", "css"]), cookie_present("session"), header_present("x-api-key")):
        check(expression)


@pytest.mark.parametrize(
    ("characteristics", "problem"),
    [
        (["ip.src"], "cf.colo.id is mandatory"),
        (["cf.colo.id", "ip.src", "cf.unique_visitor_id"], "cannot be combined"),
        (["cf.colo.id", 'http.request.headers["Authorization"]'], "not a documented"),  # must be lowercase
        (["cf.colo.id", "http.request.uri.pth"], "not a documented"),
        (["cf.colo.id", "ip.src", "ip.src"], "listed twice"),
    ],
)
def test_bad_characteristics_are_reported(characteristics: list[str], problem: str) -> None:
    assert any(problem in p for p in check_characteristics(characteristics))


def test_documented_characteristics_pass() -> None:
    assert check_characteristics(["cf.colo.id", "ip.src"]) == []
    assert check_characteristics(["cf.colo.id", 'http.request.headers["authorization"]']) == []
    assert check_characteristics(["cf.colo.id", "http.host"]) == []
