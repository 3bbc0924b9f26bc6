"""Pure value-map application: rewrite SKUs, locations, tax codes... between systems."""

from .apply import apply_mappings, unmapped_values
from .results import AppliedMapping, UnmappedValue
from .roles import ROLE_FIELDS, ROLES, fields_for, roles_for

__all__ = [
    "ROLES",
    "ROLE_FIELDS",
    "AppliedMapping",
    "UnmappedValue",
    "apply_mappings",
    "fields_for",
    "roles_for",
    "unmapped_values",
]
