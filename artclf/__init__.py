"""artclf: load saved topic and tone models and classify news articles.

The runtime apps import. It needs numpy and the standard library only: it never imports
scikit-learn, scipy, skops, joblib, datasets or the training code (``train``, ``features``).
"""

from artclf.errors import ArtclfError

__all__ = ["ArtclfError"]
