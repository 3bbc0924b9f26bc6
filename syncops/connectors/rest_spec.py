"""The `options:` of a `kind: rest` endpoint, read into a compiled spec.

One parser serves both the config loader (which turns each problem's dotted path into
FILE:LINE, see syncops/config/rest_spec.py) and the connector (which refuses to start on any
problem), so what validates is exactly what runs. Every JMESPath expression is compiled here.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

AUTH_TYPES = ("api_key", "bearer", "basic", "oauth_client_credentials")
PAGINATION_STYLES = ("page", "offset", "cursor", "link", "none")
METHODS = ("POST", "PUT", "PATCH")
TOP_KEYS = ("max_wait", "auth", "pagination", "rate_limit", "errors", "check", "entities", "timeout")
ENTITY_KEYS = ("pull", "push")
PULL_KEYS = ("path", "params", "items", "incremental", "fields", "idempotency", "pagination")
PUSH_KEYS = ("method", "path", "body", "idempotency_header", "id", "validation_statuses", "conflict_statuses")
_HEADER = re.compile(r"[A-Za-z0-9-]{1,64}\Z")
_PARAM = re.compile(r"[A-Za-z0-9_.\[\]-]{1,64}\Z")


class SpecProblems(ValueError):
    """Every problem found, as (dotted path under options, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"options.{p}: {m}" if p else f"options: {m}" for p, m in problems))


@dataclass(frozen=True)
class Expr:
    """A compiled JMESPath with its source text (messages name the expression)."""

    text: str
    compiled: Any

    def search(self, data: Any) -> Any:
        return self.compiled.search(data)


@dataclass(frozen=True)
class Auth:
    type: str
    header: str | None = None  # api_key: header name; None with query set
    query: str | None = None  # api_key: query parameter name
    username: str | None = None  # basic
    token_url: str | None = None  # oauth_client_credentials
    client_id: str | None = None
    scope: str | None = None


@dataclass(frozen=True)
class Pagination:
    style: str = "none"
    size: int = 100
    size_param: str | None = None
    page_param: str = "page"
    offset_param: str = "offset"
    cursor_param: str = "cursor"
    total_pages: Expr | None = None  # page: JMESPath over the body
    total_pages_header: str | None = None
    total: Expr | None = None  # offset: JMESPath over the body
    next: Expr | None = None  # cursor: JMESPath over the body
    next_header: str | None = None  # cursor: header carrying it


@dataclass(frozen=True)
class RateLimit:
    statuses: tuple[int, ...] = (429,)
    retry_after_header: str = "Retry-After"
    remaining_header: str | None = None
    reset_header: str | None = None  # seconds until the window resets


@dataclass(frozen=True)
class Errors:
    validation: tuple[int, ...] = (400, 404, 422)
    conflict: tuple[int, ...] = (409,)
    auth: tuple[int, ...] = (401, 403)
    message: Expr | None = None
    code: Expr | None = None


@dataclass(frozen=True)
class Pull:
    path: str
    params: dict[str, str]
    items: Expr
    fields: dict[str, Expr]
    idempotency: Expr
    incremental_param: str | None = None
    cursor_field: Expr | None = None
    start: str | None = None
    pagination: Pagination = field(default_factory=Pagination)


@dataclass(frozen=True)
class Push:
    method: str
    path: str  # template with {canonical_field}
    body: dict[str, Expr]
    idempotency_header: str | None
    id: Expr | None
    validation_statuses: tuple[int, ...]
    conflict_statuses: tuple[int, ...]


@dataclass(frozen=True)
class RestSpec:
    auth: Auth | None
    pagination: Pagination
    rate_limit: RateLimit
    errors: Errors
    check_path: str | None
    pulls: dict[str, Pull]
    pushes: dict[str, Push]
    timeout: float = 15.0


def canonical_fields(entity: str) -> tuple[str, ...]:
    from syncops.models.registry import model_for

    return tuple(model_for(entity).model_fields)


def parse(options: Any) -> RestSpec:
    """The spec, or SpecProblems naming every problem."""
    p = _Parser()
    spec = p.spec(options)
    if p.problems:
        raise SpecProblems(p.problems)
    return spec


def entities_of(options: Any) -> tuple[frozenset[str], frozenset[str]]:
    """(pull entities, push entities) the options declare, valid or not (for flow checks)."""
    ents = options.get("entities") if isinstance(options, dict) else None
    if not isinstance(ents, dict):
        return frozenset(), frozenset()
    pulls = frozenset(k for k, v in ents.items() if isinstance(v, dict) and "pull" in v)
    pushes = frozenset(k for k, v in ents.items() if isinstance(v, dict) and "push" in v)
    return pulls, pushes


class _Parser:
    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def bad(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    # -- primitives ------------------------------------------------------------------------------

    def mapping(self, value: Any, path: str, known: tuple[str, ...] | None, required: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            self.bad(path, f"expected a mapping, got {_show(value)}")
            return {}
        if known is not None:
            for key in value:
                if key not in known:
                    self.bad(f"{path}.{key}", f"unknown key {key!r}{_suggest(key, known)}; expected one of: "
                                              f"{', '.join(known)}")
        for key in required:
            if key not in value:
                self.bad(f"{path}.{key}", f"expected required key {key!r}, got it missing")
        return value

    def text(self, value: Any, path: str, pattern: re.Pattern | None = None, what: str = "text") -> str | None:
        if not isinstance(value, str) or not value:
            self.bad(path, f"expected {what}, got {_show(value)}")
            return None
        if pattern is not None and not pattern.match(value):
            self.bad(path, f"expected {what}, got {value!r}")
            return None
        return value

    def expr(self, value: Any, path: str) -> Expr | None:
        if not isinstance(value, str) or not value.strip():
            self.bad(path, f"expected a JMESPath expression, got {_show(value)}")
            return None
        try:
            return Expr(value, jmespath.compile(value))
        except JMESPathError as exc:
            detail = str(exc).splitlines()[0]
            self.bad(path, f"expected a valid JMESPath expression, got {value!r} ({detail})")
            return None

    def statuses(self, value: Any, path: str, default: tuple[int, ...]) -> tuple[int, ...]:
        if value is None:
            return default
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(s, int) and not isinstance(s, bool) and 400 <= s <= 599 for s in items):
            self.bad(path, f"expected a list of HTTP status codes 400..599, got {_show(value)}")
            return default
        return tuple(items)

    def size(self, value: Any, path: str) -> int:
        if value is None:
            return 100
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1000:
            self.bad(path, f"expected a whole number 1..1000, got {_show(value)}")
            return 100
        return value

    def api_path(self, value: Any, path: str) -> str | None:
        text = self.text(value, path, what="a path starting with /")
        if text is not None and (not text.startswith("/") or "://" in text):
            self.bad(path, f"expected a path starting with / (relative to base_url), got {text!r}")
            return None
        return text

    # -- sections --------------------------------------------------------------------------------

    def spec(self, options: Any) -> RestSpec:
        o = options if isinstance(options, dict) else {}
        if options is not None and not isinstance(options, dict):
            self.bad("", f"expected a mapping of options, got {_show(options)}")
        if "entities" not in o:
            self.bad("entities", "expected required key 'entities' (what this endpoint reads and writes), "
                                 "got it missing")
        for key in o:
            if key not in TOP_KEYS:
                self.bad(f"{key}", f"unknown key {key!r}{_suggest(key, TOP_KEYS)}; expected one of: "
                                   f"{', '.join(TOP_KEYS)}")
        auth = self.auth(o["auth"], "auth") if "auth" in o else None
        pagination = self.pagination(o["pagination"], "pagination") if "pagination" in o else Pagination()
        rate = self.rate_limit(o["rate_limit"], "rate_limit") if "rate_limit" in o else RateLimit()
        errors = self.errors(o["errors"], "errors") if "errors" in o else Errors()
        check = None
        if "check" in o:
            c = self.mapping(o["check"], "check", ("path",), ("path",))
            check = self.api_path(c.get("path"), "check.path") if "path" in c else None
        timeout = 15.0
        if "timeout" in o:
            t = o["timeout"]
            if isinstance(t, bool) or not isinstance(t, (int, float)) or not 1 <= t <= 300:
                self.bad("timeout", f"expected seconds 1..300, got {_show(t)}")
            else:
                timeout = float(t)
        pulls: dict[str, Pull] = {}
        pushes: dict[str, Push] = {}
        ents = self.mapping(o.get("entities"), "entities", None) if "entities" in o else {}
        if "entities" in o and isinstance(ents, dict) and not ents:
            self.bad("entities", "expected at least one entity (inventory, order, ...), got none")
        from syncops.config.schema import FLOW_ENTITIES

        for entity, body in ents.items():
            path = f"entities.{entity}"
            if entity not in FLOW_ENTITIES:
                self.bad(path, f"expected a canonical entity: one of {', '.join(FLOW_ENTITIES)}, got {entity!r}"
                               f"{_suggest(entity, FLOW_ENTITIES)}")
                continue
            e = self.mapping(body, path, ENTITY_KEYS)
            if isinstance(body, dict) and not ("pull" in e or "push" in e):
                self.bad(path, "expected 'pull:' and/or 'push:', got neither")
            if "pull" in e:
                pull = self.pull(entity, e["pull"], f"{path}.pull", pagination)
                if pull is not None:
                    pulls[entity] = pull
            if "push" in e:
                push = self.push(entity, e["push"], f"{path}.push", errors)
                if push is not None:
                    pushes[entity] = push
        return RestSpec(auth=auth, pagination=pagination, rate_limit=rate, errors=errors, check_path=check,
                        pulls=pulls, pushes=pushes, timeout=timeout)

    def auth(self, value: Any, path: str) -> Auth | None:
        a = self.mapping(value, path, ("type", "header", "query", "username", "token_url", "client_id", "scope"),
                         ("type",))
        kind = a.get("type")
        if "type" in a and kind not in AUTH_TYPES:
            self.bad(f"{path}.type", f"expected an auth type: one of {', '.join(AUTH_TYPES)}, got {_show(kind)}"
                                     f"{_suggest(str(kind), AUTH_TYPES)}")
            return None
        if kind is None:
            return None
        allowed = {"api_key": ("header", "query"), "bearer": (), "basic": ("username",),
                   "oauth_client_credentials": ("token_url", "client_id", "scope")}[kind]
        for key in a:
            if key != "type" and key not in allowed:
                self.bad(f"{path}.{key}", f"expected no {key!r} for auth type {kind}"
                                          + (f" (it takes {', '.join(allowed)})" if allowed else ""))
        header = query = None
        if kind == "api_key":
            if "header" in a and "query" in a:
                self.bad(f"{path}.query", "expected either header or query for an api_key, got both")
            if "query" in a:
                query = self.text(a["query"], f"{path}.query", _PARAM, "a query parameter name")
            else:
                header = self.text(a.get("header", "X-Api-Key"), f"{path}.header", _HEADER, "a header name")
        if kind == "basic" and "username" not in a:
            self.bad(f"{path}.username", "expected required key 'username' (the password is the credential), "
                                         "got it missing")
        token_url = client_id = scope = None
        if kind == "oauth_client_credentials":
            for key in ("token_url", "client_id"):
                if key not in a:
                    self.bad(f"{path}.{key}", f"expected required key {key!r} (the client secret is the "
                                              "credential), got it missing")
            if "token_url" in a:
                token_url = self.text(a["token_url"], f"{path}.token_url", what="an http(s) URL")
                if token_url and not re.match(r"https?://[^/\s]+", token_url):
                    self.bad(f"{path}.token_url", f"expected an http(s) URL, got {token_url!r}")
            client_id = self.text(a["client_id"], f"{path}.client_id", what="a client id") if "client_id" in a else None
            scope = self.text(a["scope"], f"{path}.scope", what="a scope") if "scope" in a else None
        username = self.text(a["username"], f"{path}.username", what="a user name") if "username" in a else None
        return Auth(type=kind, header=header, query=query, username=username, token_url=token_url,
                    client_id=client_id, scope=scope)

    def pagination(self, value: Any, path: str) -> Pagination:
        keys = ("style", "size", "size_param", "page_param", "offset_param", "cursor_param", "total_pages",
                "total_pages_header", "total", "next", "next_header")
        g = self.mapping(value, path, keys, ("style",))
        style = g.get("style", "none")
        if style not in PAGINATION_STYLES:
            self.bad(f"{path}.style", f"expected a pagination style: one of {', '.join(PAGINATION_STYLES)}, got "
                                      f"{_show(style)}{_suggest(str(style), PAGINATION_STYLES)}")
            return Pagination()
        allowed = {"none": (), "page": ("page_param", "total_pages", "total_pages_header"),
                   "offset": ("offset_param", "total"), "cursor": ("cursor_param", "next", "next_header"),
                   "link": ()}[style]
        for key in g:
            if key not in ("style", "size", "size_param") + allowed:
                self.bad(f"{path}.{key}", f"expected no {key!r} with style {style}")
        if style == "cursor" and ("next" in g) == ("next_header" in g):
            self.bad(f"{path}.next", "expected exactly one of next (JMESPath over the body) or next_header, got "
                                     + ("both" if "next" in g else "neither"))

        def name(key: str, default: str) -> str:
            return self.text(g[key], f"{path}.{key}", _PARAM, "a query parameter name") or default if key in g \
                else default

        def header(key: str) -> str | None:
            return self.text(g[key], f"{path}.{key}", _HEADER, "a header name") if key in g else None

        return Pagination(
            style=style, size=self.size(g.get("size"), f"{path}.size"),
            size_param=name("size_param", "") or None if "size_param" in g else None,
            page_param=name("page_param", "page"), offset_param=name("offset_param", "offset"),
            cursor_param=name("cursor_param", "cursor"),
            total_pages=self.expr(g["total_pages"], f"{path}.total_pages") if "total_pages" in g else None,
            total_pages_header=header("total_pages_header"),
            total=self.expr(g["total"], f"{path}.total") if "total" in g else None,
            next=self.expr(g["next"], f"{path}.next") if "next" in g else None,
            next_header=header("next_header"))

    def rate_limit(self, value: Any, path: str) -> RateLimit:
        r = self.mapping(value, path, ("statuses", "retry_after_header", "remaining_header", "reset_header"))

        def header(key: str, default: str | None) -> str | None:
            return self.text(r[key], f"{path}.{key}", _HEADER, "a header name") if key in r else default

        return RateLimit(statuses=self.statuses(r.get("statuses"), f"{path}.statuses", (429,)),
                         retry_after_header=header("retry_after_header", "Retry-After") or "Retry-After",
                         remaining_header=header("remaining_header", None),
                         reset_header=header("reset_header", None))

    def errors(self, value: Any, path: str) -> Errors:
        e = self.mapping(value, path, ("validation", "conflict", "auth", "message", "code"))
        d = Errors()
        return Errors(validation=self.statuses(e.get("validation"), f"{path}.validation", d.validation),
                      conflict=self.statuses(e.get("conflict"), f"{path}.conflict", d.conflict),
                      auth=self.statuses(e.get("auth"), f"{path}.auth", d.auth),
                      message=self.expr(e["message"], f"{path}.message") if "message" in e else None,
                      code=self.expr(e["code"], f"{path}.code") if "code" in e else None)

    def pull(self, entity: str, value: Any, path: str, default: Pagination) -> Pull | None:
        p = self.mapping(value, path, PULL_KEYS, ("path", "fields", "idempotency"))
        known = canonical_fields(entity)
        fields: dict[str, Expr] = {}
        for name, text in self.mapping(p.get("fields"), f"{path}.fields", None).items() if "fields" in p else ():
            if name not in known:
                self.bad(f"{path}.fields.{name}", f"expected a field of the canonical {entity}: one of "
                                                  f"{', '.join(known)}, got {name!r}{_suggest(name, known)}")
                continue
            compiled = self.expr(text, f"{path}.fields.{name}")
            if compiled is not None:
                fields[name] = compiled
        params = {}
        for key, v in self.mapping(p.get("params", {}), f"{path}.params", None).items():
            if isinstance(v, (dict, list)) or v is None:
                self.bad(f"{path}.params.{key}", f"expected a single value, got {_show(v)}")
            else:
                params[str(key)] = str(v).lower() if isinstance(v, bool) else str(v)
        inc_param = cursor_field = start = None
        if "incremental" in p:
            i = self.mapping(p["incremental"], f"{path}.incremental", ("param", "cursor_field", "start"),
                             ("param", "cursor_field"))
            inc_param = self.text(i["param"], f"{path}.incremental.param", _PARAM, "a query parameter name") \
                if "param" in i else None
            cursor_field = self.expr(i["cursor_field"], f"{path}.incremental.cursor_field") \
                if "cursor_field" in i else None
            if "start" in i:
                start = str(i["start"])
        pagination = self.pagination(p["pagination"], f"{path}.pagination") if "pagination" in p else default
        items = self.expr(p.get("items", "@"), f"{path}.items")
        idem = self.expr(p["idempotency"], f"{path}.idempotency") if "idempotency" in p else None
        api = self.api_path(p["path"], f"{path}.path") if "path" in p else None
        if api is None or items is None or idem is None:
            return None
        return Pull(path=api, params=params, items=items, fields=fields, idempotency=idem,
                    incremental_param=inc_param, cursor_field=cursor_field, start=start, pagination=pagination)

    def push(self, entity: str, value: Any, path: str, errors: Errors) -> Push | None:
        p = self.mapping(value, path, PUSH_KEYS, ("method", "path", "body"))
        method = str(p.get("method", "")).upper()
        if "method" in p and method not in METHODS:
            self.bad(f"{path}.method", f"expected one of {', '.join(METHODS)}, got {_show(p['method'])}")
        api = self.api_path(p["path"], f"{path}.path") if "path" in p else None
        known = canonical_fields(entity)
        if api is not None:
            try:
                names = [n for _, n, _, _ in string.Formatter().parse(api) if n is not None]
            except ValueError as exc:
                self.bad(f"{path}.path", f"expected a path template like /items/{{sku}}, got {api!r} ({exc})")
                names, api = [], None
            for n in names:
                if n not in known:
                    self.bad(f"{path}.path", f"expected {{...}} to name a field of the canonical {entity} "
                                             f"({', '.join(known)}), got {{{n}}}{_suggest(n, known)}")
                    api = None
        body: dict[str, Expr] = {}
        for name, text in self.mapping(p.get("body"), f"{path}.body", None).items() if "body" in p else ():
            compiled = self.expr(text, f"{path}.body.{name}")
            if compiled is not None:
                body[str(name)] = compiled
        header = self.text(p["idempotency_header"], f"{path}.idempotency_header", _HEADER, "a header name") \
            if "idempotency_header" in p else None
        ident = self.expr(p["id"], f"{path}.id") if "id" in p else None
        if api is None or method not in METHODS:
            return None
        return Push(method=method, path=api, body=body, idempotency_header=header, id=ident,
                    validation_statuses=self.statuses(p.get("validation_statuses"), f"{path}.validation_statuses",
                                                      errors.validation),
                    conflict_statuses=self.statuses(p.get("conflict_statuses"), f"{path}.conflict_statuses",
                                                    errors.conflict))


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _suggest(word: str, choices: tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
