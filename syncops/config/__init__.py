"""Config loading and validation. Secrets never live in config; endpoints carry references only."""

from .durations import DurationError, format_duration, parse_duration
from .errors import ConfigError
from .loader import load_config
from .locate import default_config_path, default_store_url, resolve_config_path, resolve_store_url
from .samples import available_samples, sample_path
from .schema import (
    COALESCE_BY_DEFAULT,
    ENDPOINT_KINDS,
    FLOW_ENTITIES,
    KEYRING_SERVICE,
    MAPPING_ROLES,
    SIMULATOR,
    Config,
    Endpoint,
    Flow,
    RetryPolicy,
    Schedule,
    Tenant,
)

__all__ = [
    "COALESCE_BY_DEFAULT", "ENDPOINT_KINDS", "FLOW_ENTITIES", "KEYRING_SERVICE", "MAPPING_ROLES", "SIMULATOR",
    "Config", "ConfigError", "DurationError", "Endpoint", "Flow", "RetryPolicy", "Schedule", "Tenant",
    "available_samples", "default_config_path", "default_store_url", "format_duration", "load_config",
    "parse_duration", "resolve_config_path", "resolve_store_url", "sample_path",
]
