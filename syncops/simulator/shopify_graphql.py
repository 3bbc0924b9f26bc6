"""GraphQL for the Shopify simulator: parse, validate, read arguments, prune answers.

Every document is parsed with graphql-core and validated against ``shopify_schema.graphql`` (the
slice of the Admin API the simulator serves). An invalid document is answered the way Shopify
(graphql-ruby) answers it: HTTP 200, no ``data``, ``errors`` with ``message``, ``locations`` and
``extensions.code`` (``undefinedField``, ``argumentNotAccepted``, ``missingRequiredArguments``,
``variableNotDefined``, ``variableNotUsed``, ...; graphql-ruby's wording where we know it).

The resolvers in shopify.py keep building full result dicts; ``prune`` then keeps only what the
document selected, under each field's response key (aliases honoured), following fragments,
``@skip``/``@include`` and ``__typename``. A selected field the resolver did not build is null.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from graphql import (
    DocumentNode, FieldNode, FragmentDefinitionNode, GraphQLError, GraphQLList, GraphQLNonNull,
    GraphQLObjectType, GraphQLSchema, GraphQLSyntaxError, OperationDefinitionNode, OperationType, build_schema,
    get_named_type, parse, validate,
)
from graphql.execution.collect_fields import collect_fields, collect_sub_fields
from graphql.execution.values import get_argument_values, get_directive_values

SCHEMA_FILE = "shopify_schema.graphql"


@lru_cache(maxsize=1)
def schema() -> GraphQLSchema:
    return build_schema(resources.files("syncops.simulator").joinpath(SCHEMA_FILE).read_text())


# graphql-core message -> (graphql-ruby message, code, extra extensions); groups feed the format.
_RUBY: list[tuple[re.Pattern[str], str, str, tuple[str, ...]]] = [
    (re.compile(r"^Cannot query field '(?P<fieldName>[^']+)' on type '(?P<typeName>[^']+)'"),
     "Field '{fieldName}' doesn't exist on type '{typeName}'", "undefinedField", ("typeName", "fieldName")),
    (re.compile(r"^Unknown argument '(?P<argumentName>[^']+)' on field '(?P<typeName>[^'.]+)\.(?P<name>[^']+)'"),
     "Field '{name}' doesn't accept argument '{argumentName}'", "argumentNotAccepted", ("name", "argumentName")),
    (re.compile(r"^Field '(?P<name>[^']+)' argument '(?P<arguments>[^']+)' of type .* is required"),
     "Field '{name}' is missing required arguments: {arguments}", "missingRequiredArguments",
     ("name", "arguments")),
    (re.compile(r"^Variable '\$(?P<variableName>[^']+)' is not defined(?: by operation '(?P<op>[^']+)')?"),
     "Variable ${variableName} is used by {op} but not declared", "variableNotDefined", ("variableName",)),
    (re.compile(r"^Variable '\$(?P<variableName>[^']+)' is never used(?: in operation '(?P<op>[^']+)')?"),
     "Variable ${variableName} is declared by {op} but not used", "variableNotUsed", ("variableName",)),
    (re.compile(r"^Unknown directive '@(?P<directiveName>[^']+)'"),
     "Directive @{directiveName} is not defined", "undefinedDirective", ("directiveName",)),
    (re.compile(r"^Unknown type '(?P<typeName>[^']+)'"),
     "{typeName} isn't a defined input type", "undefinedType", ("typeName",)),
    (re.compile(r"^Field '(?P<fieldName>[^']+)' of type '(?P<typeName>[^']+)' must have a selection"),
     "Field must have selections ({fieldName} returns {typeName} but has no selections.)", "selectionMismatch",
     ("fieldName",)),
    (re.compile(r"^Field '(?P<fieldName>[^']+)' must not have a selection since type '(?P<typeName>[^']+)'"),
     "Selections can't be made on scalars (field '{fieldName}' returns {typeName} but has selections "
     "[...])", "selectionMismatch", ("fieldName",)),
]


def error_entry(error: GraphQLError, code: str | None = None) -> dict[str, Any]:
    """One entry of Shopify's top-level `errors` list for a graphql-core error."""
    message, extensions = error.message, {"code": code or "validationError"}
    if code is None:
        for pattern, ruby, ruby_code, keys in _RUBY:
            match = pattern.match(error.message)
            if match:
                groups = {k: v or "anonymous" for k, v in match.groupdict().items()}
                message = ruby.format(**groups)
                extensions = {"code": ruby_code, **{k: groups[k] for k in keys}}
                break
    entry: dict[str, Any] = {"message": message}
    if error.locations:
        entry["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    entry["extensions"] = extensions
    return entry


class DocumentError(Exception):
    """The document cannot be served; `errors` is Shopify's top-level errors list."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else "invalid document")
        self.errors = errors


@dataclass
class Document:
    document: DocumentNode
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]

    @property
    def root_type(self) -> GraphQLObjectType:
        s = schema()
        root = s.mutation_type if self.operation.operation == OperationType.MUTATION else s.query_type
        if root is None:
            raise DocumentError([{"message": f"Schema is not configured for {self.operation.operation.value}s",
                                  "extensions": {"code": "missingRootType"}}])
        return root

    def root_fields(self) -> dict[str, list[FieldNode]]:
        """Response key -> field nodes of the operation's root selection."""
        return collect_fields(schema(), self.fragments, self.variables, self.root_type,
                              self.operation.selection_set)

    def subfields(self, parent: GraphQLObjectType, nodes: list[FieldNode]) -> dict[str, list[FieldNode]]:
        field_type = parent.fields[nodes[0].name.value].type
        named = get_named_type(field_type)
        return collect_sub_fields(schema(), self.fragments, self.variables, named, nodes)  # type: ignore[arg-type]

    def arguments(self, parent: GraphQLObjectType, node: FieldNode) -> dict[str, Any]:
        """The field's arguments: literals coerced, variables as sent (the resolvers check them)."""
        try:
            return get_argument_values(parent.fields[node.name.value], node, self.variables)
        except GraphQLError as exc:
            raise DocumentError([error_entry(exc, "INVALID_VARIABLE")]) from None

    def directive(self, node: FieldNode, name: str) -> dict[str, Any] | None:
        directive = schema().get_directive(name)
        if directive is None:
            return None
        try:
            return get_directive_values(directive, node, self.variables)
        except GraphQLError as exc:
            raise DocumentError([error_entry(exc, "INVALID_VARIABLE")]) from None

    def argument_anywhere(self, parent: GraphQLObjectType, nodes: list[FieldNode], field: str,
                          argument: str) -> list[Any] | None:
        """Values of `argument` on every `field` selected below `nodes` (None when never selected)."""
        found: list[Any] | None = None
        stack = [(parent, nodes)]
        while stack:
            ptype, fnodes = stack.pop()
            fdef = ptype.fields.get(fnodes[0].name.value)
            if fdef is None:
                continue
            if fnodes[0].name.value == field:
                for n in fnodes:
                    value = get_argument_values(fdef, n, self.variables).get(argument)
                    found = (found or []) + (value if isinstance(value, list) else [value])
            named = get_named_type(fdef.type)
            if isinstance(named, GraphQLObjectType):
                for sub in self.subfields(ptype, fnodes).values():
                    stack.append((named, sub))
        return found

    def prune(self, value: Any, parent: GraphQLObjectType, nodes: list[FieldNode]) -> Any:
        """`value` (the resolver's answer for this field) cut down to the selection of `nodes`."""
        return self._prune(value, parent.fields[nodes[0].name.value].type, parent, nodes)

    def _prune(self, value: Any, gtype: Any, parent: GraphQLObjectType, nodes: list[FieldNode]) -> Any:
        if value is None:
            return None
        if isinstance(gtype, GraphQLNonNull):
            gtype = gtype.of_type
        if isinstance(gtype, GraphQLList):
            return [self._prune(v, gtype.of_type, parent, nodes) for v in value] if isinstance(value, list) \
                else None
        if not isinstance(gtype, GraphQLObjectType):
            return value  # a leaf: scalars and enums as the resolver produced them
        if not isinstance(value, dict):
            return None
        out: dict[str, Any] = {}
        subs = collect_sub_fields(schema(), self.fragments, self.variables, gtype, nodes)
        for key, sub_nodes in subs.items():
            name = sub_nodes[0].name.value
            if name == "__typename":
                out[key] = gtype.name
                continue
            out[key] = self._prune(value.get(name), gtype.fields[name].type, gtype, sub_nodes)
        return out


def load(query: str, variables: dict[str, Any], operation_name: str | None = None) -> Document:
    """Parse and validate; raises DocumentError with Shopify's errors list when invalid."""
    try:
        document = parse(query)
    except GraphQLSyntaxError as exc:
        raise DocumentError([error_entry(exc, "parseError")]) from None
    errors = validate(schema(), document)
    if errors:
        raise DocumentError([error_entry(e) for e in errors])
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        chosen = [op for op in operations if op.name and op.name.value == operation_name]
        if not chosen:
            raise DocumentError([{"message": f'No operation named "{operation_name}"',
                                  "extensions": {"code": "operationNotFound"}}])
        operation = chosen[0]
    elif len(operations) == 1:
        operation = operations[0]
    else:
        raise DocumentError([{"message": "An operation name is required",
                              "extensions": {"code": "operationNameRequired"}}])
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return Document(document, operation, fragments, dict(variables))
