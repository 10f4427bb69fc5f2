"""Errors the library raises; each message names the parameter or file and the cause."""


class TimbreError(Exception):
    """Base class of every error timbre raises on purpose."""


class ConfigError(TimbreError, ValueError):
    """A parameter is out of range or of the wrong kind."""


class InputError(TimbreError, ValueError):
    """An input tensor or file is unusable (shape, NaN, corrupt, empty)."""


class AudioError(InputError):
    """An audio file cannot be decoded or is unusable; names the file and the cause."""

    def __init__(self, name: str, cause: str):
        super().__init__(f"{name}: {cause}")
        self.name = name
        self.cause = cause


def cause_of(error: Exception) -> str:
    """The first line of an exception's message, or its type's name when it has none: a library error, briefly."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class ModelError(TimbreError):
    """A model bundle is missing, unknown or inconsistent."""
