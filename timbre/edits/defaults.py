"""A bundle's edit defaults: per method, the settings its edits were tuned at, filled in where a request leaves a
setting out (a setting the request gives always wins; one neither gives keeps the engine's default)."""
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from timbre.edits import METHODS, EditSpec, SamplerConfig, get_method, param_names
from timbre.errors import ConfigError

SAMPLER_SETTINGS = tuple(f.name for f in fields(SamplerConfig))
SPACES = ("basis", "raw")


def setting_names(method: str) -> tuple[str, ...]:
    """What a request may set for `method`: its parameters, the sampler's settings, and mi-inpaint's channel space."""
    return (*param_names(method), *SAMPLER_SETTINGS, *(("space",) if method == "mi-inpaint" else ()))


def edit_from_settings(method: str, settings: Mapping[str, Any]) -> tuple[EditSpec, str | None]:
    """(spec, channel space) from one flat mapping of settings; ConfigError naming an unknown method first, then
    what the method does not take."""
    get_method(method)
    settings = dict(settings)
    space = settings.pop("space", None)
    if space is not None and space not in SPACES:
        raise ConfigError(f"space must be one of {', '.join(SPACES)}, got {space!r}")
    sampler = SamplerConfig(**{k: settings.pop(k) for k in SAMPLER_SETTINGS if k in settings})
    return EditSpec.build(method, sampler, **settings), space


def checked_edit_defaults(defaults: Any) -> dict[str, dict[str, Any]]:
    """A bundle's edit defaults (method -> {setting: value}) validated as a request would be; ConfigError naming the
    method and the setting at fault."""
    if not isinstance(defaults, Mapping):
        raise ConfigError(f"edit defaults must map method names to settings, got {type(defaults).__name__}")
    checked = {}
    for method, settings in defaults.items():
        if method not in METHODS:
            raise ConfigError(f"edit defaults name an unknown method {method!r}; known methods: {', '.join(METHODS)}")
        if not isinstance(settings, Mapping):
            raise ConfigError(f"edit defaults for {method} must map settings to values, got {type(settings).__name__}")
        unknown = sorted(set(settings) - set(setting_names(method)))
        if unknown:
            raise ConfigError(f"edit defaults for {method}: {method} does not take {', '.join(unknown)}")
        try:
            edit_from_settings(method, settings)
        except (ConfigError, TypeError, ValueError) as e:
            raise ConfigError(f"edit defaults for {method}: {e}") from None
        checked[method] = dict(settings)
    return checked


def with_edit_defaults(method: str, given: Mapping[str, Any], defaults: Mapping[str, Mapping[str, Any]]
                       ) -> dict[str, Any]:
    """The settings `given` for `method`, with the bundle's defaults for it where `given` leaves one out."""
    return {**defaults.get(method, {}), **given}
