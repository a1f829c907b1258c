"""destkit: deliver Segment-spec customer events to destination actions.

The public API; everything not named in ``__all__`` is private.
"""

from .auth import Authentication, Basic, Custom, MemoryTokenStore, OAuth2, OAuth2Tokens, TokenStore
from .config import Config, load_config
from .errors import (
    BadRequest,
    ConfigError,
    ConfigErrors,
    ConfigWarning,
    DeliveryError,
    DeliveryTimeout,
    DestkitError,
    ErrorResponse,
    InvalidAuthentication,
    InvalidEvent,
    MappingError,
    MappingFailed,
    MappingWarning,
    PayloadValidationError,
    PluginError,
    RateLimited,
    RetryableError,
    TriggerSyntaxError,
    TriggerWarning,
    error_for_response,
)
from .mappings import compile_mapping, compile_trigger
from .outcome import ErrorInfo, Outcome, Status
from .plugin import Action, BatchResult, Context, Destination, Preset, RequestDefaults, field
from .registry import Registry
from .retry import RetryPolicy
from .runtime import Runtime
from .sync_runtime import SyncRuntime

__version__ = "0.1.0"

__all__ = [
    "Runtime",
    "SyncRuntime",
    "Destination",
    "Action",
    "Context",
    "Preset",
    "RequestDefaults",
    "BatchResult",
    "field",
    "Authentication",
    "Custom",
    "Basic",
    "OAuth2",
    "OAuth2Tokens",
    "TokenStore",
    "MemoryTokenStore",
    "compile_mapping",
    "compile_trigger",
    "Config",
    "load_config",
    "Registry",
    "RetryPolicy",
    "Outcome",
    "Status",
    "ErrorInfo",
    "DestkitError",
    "ConfigError",
    "ConfigErrors",
    "MappingError",
    "TriggerSyntaxError",
    "ConfigWarning",
    "MappingWarning",
    "TriggerWarning",
    "PluginError",
    "DeliveryError",
    "InvalidEvent",
    "MappingFailed",
    "PayloadValidationError",
    "InvalidAuthentication",
    "RateLimited",
    "DeliveryTimeout",
    "RetryableError",
    "BadRequest",
    "ErrorResponse",
    "error_for_response",
]
