"""artclf training: build datasets, train, evaluate and save topic and tone classifiers.

Apps load saved versions with the runtime, ``from artclf import load_model`` (the ``artclf``
distribution, numpy only). ``train.load_model`` is kept for one release as a deprecated alias of
it; ``train.store.load.load_model`` loads the scikit-learn pipelines.
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from artclf.model import Model

__all__ = ["load_model"]


def load_model(ref: str = "latest", models_dir: str | os.PathLike[str] = "models", **kwargs: Any) -> "Model":
    """Deprecated alias of :func:`artclf.load_model` (removed in the next release)."""
    warnings.warn(
        "train.load_model is deprecated and will be removed in the next release; use `from artclf import load_model` "
        "(the numpy runtime), or train.store.load.load_model for the scikit-learn pipelines",
        DeprecationWarning, stacklevel=2)
    # Imported here so that `import train` itself costs nothing.
    from artclf.loading import load_model as _load_model

    return _load_model(ref, models_dir, **kwargs)
