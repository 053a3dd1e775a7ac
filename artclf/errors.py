"""The error types of artclf: one base the CLI turns into a one-line message, and typed subclasses
so apps (and the HTTP server) can tell the kinds apart without parsing messages.

Every message names the file (and line, key or field) and says what to do; the CLI prints it as
``error: <message>`` and exits with status 1.
"""

from __future__ import annotations

__all__ = [
    "ArtclfError",
    "ConfigError",
    "DataError",
    "LabelMismatchError",
    "ModelNotFoundError",
    "ModelIntegrityError",
    "UnsafeModelError",
]


class ArtclfError(Exception):
    """A problem with the user's input, files or environment."""


class ConfigError(ArtclfError):
    """An experiment config (file or ``--set``) is unreadable, unknown or out of range."""


class DataError(ArtclfError):
    """Input articles, labels or records cannot be read or do not fit the configured labels."""


class LabelMismatchError(DataError):
    """A model and the data it is asked to score carry different label names."""


class ModelNotFoundError(ArtclfError):
    """A model reference (``latest``, ``vN``, an alias or a path) names no saved version."""


class ModelIntegrityError(ArtclfError):
    """A saved version is damaged or was changed since saving (hashes, manifest, canaries)."""


class UnsafeModelError(ModelIntegrityError):
    """Loading would run code or do unbounded work that the caller did not opt into."""
