"""Which runtime answers: the numpy runtime (``artclf``) whenever the version carries portable
files, which every version trained by this artclf does after its parity gate; scikit-learn
(``train.store.load``) only for older versions or configs the portable format cannot express.
Both give identical labels and scores within 1e-6 (checked at save time), and both refuse a
version that fails its checks: there is no fallback from one version to another."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["load_serving_model"]


def load_serving_model(ref: str = "latest", models_dir: str | Path = "models", version_policy: str = "warn",
                       trust_pickle: bool = False, public_key: Any = None) -> Any:
    """The loaded version ``ref`` resolves to, through the lightest runtime that can score it.

    ``trust_pickle`` matters only on the scikit-learn path (the numpy runtime never unpickles);
    ``public_key`` is checked on either."""
    from artclf.loading import load_model, portable_file_names
    from artclf.manifest import pickle_only_files, read_manifest
    from artclf.refs import resolve_ref

    path = resolve_ref(ref, models_dir)
    manifest = read_manifest(path)
    # A pickle-only task goes to the scikit-learn loader, which refuses it unless pickle is trusted.
    if portable_file_names(manifest) and not (trust_pickle and pickle_only_files(manifest)):
        # Pass the resolved folder: `latest` must not move between the check and the load.
        return load_model(str(path), models_dir, version_policy=version_policy, public_key=public_key)
    from train.store.load import load_model as load_sklearn

    return load_sklearn(str(path), models_dir, version_policy=version_policy, trust_pickle=trust_pickle,
                        public_key=public_key)
