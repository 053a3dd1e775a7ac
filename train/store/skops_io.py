"""skops files: a pickle-free copy of each saved pipeline, loaded only with types we pinned here.

``skops.io.loads`` builds objects from a JSON schema instead of running pickle bytecode, but it
trusts whatever list of types the caller passes. Reading that list from the artifact itself (as in
MLflow advisory GHSA-w582-9x45-8mpx) hands the attacker the key, so the list is a constant in this
module: every type our pipelines are made of. A file containing anything else is refused, naming
the offending types. ``skops`` is imported lazily: its import walks every scikit-learn estimator.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from artclf._safe_io import parse_json_bounded, read_version_files
from artclf._zipcheck import MAX_ZIP_ENTRY_UNCOMPRESSED, check_zip_bounds
from artclf.errors import ArtclfError, UnsafeModelError

# Every type that features/__init__.py and train/fit/fit.py can put in a saved pipeline. Adding a
# classifier or vectorizer there means adding its type here, and tests/test_registry.py
# trains each configured variant to check that this list still covers it.
TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "builtins.dict",
        "builtins.list",
        "builtins.tuple",
        "builtins.str",
        "builtins.int",
        "builtins.float",
        "builtins.bool",
        "builtins.NoneType",
        "numpy.ndarray",
        "numpy.dtype",
        "numpy.float32",
        "numpy.float64",
        "numpy.int32",
        "numpy.int64",
        "numpy.str_",
        "scipy.sparse._csr.csr_matrix",
        "scipy.sparse._csc.csc_matrix",
        "sklearn.pipeline.Pipeline",
        "sklearn.pipeline.FeatureUnion",
        "sklearn.feature_extraction.text.TfidfVectorizer",
        "sklearn.feature_extraction.text.TfidfTransformer",
        "sklearn.feature_extraction.text.HashingVectorizer",
        "sklearn.multiclass.OneVsRestClassifier",
        "sklearn.multiclass._ConstantPredictor",
        "sklearn.preprocessing._label.LabelBinarizer",
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.linear_model._stochastic_gradient.SGDClassifier",
        "sklearn.svm._classes.LinearSVC",
        "sklearn.naive_bayes.ComplementNB",
    }
)


def read_file(path: str | Path) -> bytes:
    """A single .skops file's bytes, read once and bounded (regular file, no symlink, capped)."""
    path = Path(path)
    return read_version_files(path.parent, [path.name])[path.name]


def _schema(data: bytes, where: object, bounds_checked: bool = False) -> Any:
    """The archive's schema.json, after the zip bounds check, parsed with bounded JSON."""
    if not bounds_checked:
        check_zip_bounds(data, where=where)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            raw = archive.read("schema.json")
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ArtclfError(f"{where}: not a readable skops file ({exc}); pass a .skops file written by `artclf train`") from None
    return parse_json_bounded(raw, where=f"{where}: schema.json", max_bytes=MAX_ZIP_ENTRY_UNCOMPRESSED)


def _walk(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        if "__module__" in node and "__class__" in node:
            found.add(f"{node['__module__']}.{node['__class__']}")
        for value in node.values():
            _walk(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk(value, found)


def types_of(data: bytes, where: object, bounds_checked: bool = False) -> list[str]:
    """Every type (module.Class, or module.function) the skops bytes would create when loaded.
    ``bounds_checked``: the caller already ran ``check_zip_bounds`` on these bytes."""
    found: set[str] = set()
    _walk(_schema(data, where, bounds_checked), found)
    return sorted(found)


def file_types(path: str | Path) -> list[str]:
    """Every type (module.Class, or module.function) the file would create when loaded."""
    return types_of(read_file(path), path)


def audit(path: str | Path) -> dict[str, Any]:
    """What loading ``path`` would create: all types, those skops does not trust by default, and
    those outside our pinned list (which make ``load`` refuse the file)."""
    import skops.io as sio

    path = Path(path)
    data = read_file(path)
    types = types_of(data, path)
    return {
        "path": str(path),
        "types": types,
        "skops_untrusted": sorted(sio.get_untrusted_types(data=data)),
        "refused": sorted(set(types) - TRUSTED_TYPES),
    }


def dump(estimator: Any, path: Path) -> None:
    import skops.io as sio

    sio.dump(estimator, path, compression=zipfile.ZIP_DEFLATED, compresslevel=6)


def covered(estimator: Any) -> list[str]:
    """Types of ``estimator`` outside TRUSTED_TYPES (empty when our loader will accept its file)."""
    import skops.io as sio

    buffer = io.BytesIO(sio.dumps(estimator))
    found: set[str] = set()
    with zipfile.ZipFile(buffer) as archive:
        _walk(json.loads(archive.read("schema.json")), found)
    return sorted(found - TRUSTED_TYPES)


def loads(data: bytes, where: object, bounds_checked: bool = False) -> Any:
    """Rebuild a pipeline from skops bytes already read (and hashed) by the caller.

    The zip bounds are checked (unless ``bounds_checked``: the caller did it on these bytes) and
    the type list is computed from these same bytes with bounded JSON; any type outside
    TRUSTED_TYPES is refused before anything is built."""
    import skops.io as sio

    offending = sorted(set(types_of(data, where, bounds_checked)) - TRUSTED_TYPES)
    if offending:
        raise UnsafeModelError(
            f"{where}: refusing to load: it contains types outside the trusted list: {', '.join(offending)[:300]}; "
            "inspect it with `artclf models audit` and only load files you trust"
        )
    # Only names from our constant are ever passed as trusted, never names read from the file.
    return sio.loads(data, trusted=sorted(TRUSTED_TYPES))


def load(path: Path) -> Any:
    """Load a skops file by path: read once, bounded, then :func:`loads`."""
    return loads(read_file(path), path)
