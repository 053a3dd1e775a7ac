"""artclf: load saved topic and tone models and classify news articles.

The runtime apps import. It needs numpy and the standard library only: it never imports
scikit-learn, scipy, skops, joblib, datasets or the training code (``train``, ``features``)::

    from artclf import load_model
    model = load_model("latest", models_dir="models")
    model.classify(["Oil talks resumed in Vienna."])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from artclf.errors import (
    ArtclfError,
    ConfigError,
    DataError,
    LabelMismatchError,
    ModelIntegrityError,
    ModelNotFoundError,
    UnsafeModelError,
)

if TYPE_CHECKING:
    from artclf.loading import load_model
    from artclf.model import Model

__all__ = [
    "ArtclfError",
    "ConfigError",
    "DataError",
    "LabelMismatchError",
    "Model",
    "ModelIntegrityError",
    "ModelNotFoundError",
    "UnsafeModelError",
    "load_model",
]


def __getattr__(name: str) -> Any:
    # Lazy: `import artclf` (which the training side's error handling does) must not import numpy.
    if name == "load_model":
        from artclf.loading import load_model

        return load_model
    if name == "Model":
        from artclf.model import Model

        return Model
    raise AttributeError(f"module 'artclf' has no attribute {name!r}")
