"""destkit's two small languages: field mappings and triggers, each compiled once."""

from .directives import compile_mapping
from .jsvalues import MISSING, js_string
from .trigger import compile_trigger

__all__ = ["compile_mapping", "compile_trigger", "MISSING", "js_string"]
