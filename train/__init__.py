"""artclf: train, evaluate and ship topic and tone classifiers for news articles.

The public loading API is :func:`load_model`; it imports scikit-learn and joblib only, never
``datasets``/``pyarrow`` or the CLI, so apps that load a saved model stay light.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from train.model.model import ArticleModel

__all__ = ["load_model"]


def load_model(ref: str = "latest", models_dir: str = "models", **kwargs: Any) -> "ArticleModel":
    """Load a saved model version; see :func:`train.store.load.load_model`."""
    # Imported here so that `import train` itself costs nothing.
    from train.store.load import load_model as _load_model

    return _load_model(ref, models_dir=models_dir, **kwargs)
