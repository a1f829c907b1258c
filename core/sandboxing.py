"""``--sandbox``: run every destination of a config against its local stand-in.

Each destination's plugin starts its sandbox (with the config's ``sandbox:`` options for it)
and names the settings to replace (its base URL, typically). A destination without a
sandbox is an error, so that a sandboxed run can never reach a real API.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

from .compiling import check_sandbox_options, plugin_for
from .config import Config, interpolate_env
from .errors import ConfigError
from .registry import Registry, default_registry

__all__ = ["sandboxed"]


@contextmanager
def sandboxed(config: Config, registry: Registry | None = None, environ: Mapping[str, str] | None = None) -> Iterator[Config]:
    registry = registry or default_registry()
    source = Path(config.source)
    base_dir = source.parent if source.is_file() else Path.cwd()
    with ExitStack() as stack:
        entries = []
        for index, entry in enumerate(config.destinations):
            if not entry.enabled:
                entries.append(entry)
                continue
            where, plugin = plugin_for(config, index, registry)
            if plugin.sandbox is None:
                raise ConfigError(f"{where}: {plugin.slug!r} has no sandbox; leave it out with --only to replay the others")
            check_sandbox_options(entry, plugin, where)
            settings = interpolate_env(entry.settings, f"{where}: settings", environ)
            try:
                overrides = stack.enter_context(plugin.sandbox(settings, dict(entry.sandbox), base_dir))
            except (ValueError, OSError) as exc:
                raise ConfigError(f"{where}: sandbox: {exc}") from None
            entries.append(entry.model_copy(update={"settings": {**entry.settings, **overrides}}))
        copy = config.model_copy(update={"destinations": entries})
        copy.source = config.source
        yield copy
