"""The version of the model folder layout (``manifest.json`` and the files it lists).

Bump it when a reader of the previous version would misread a new folder; keep a reader for
every older version that is still safe to load, with a test that an old folder loads.

- 1: ``topic.joblib``, ``tone.joblib``, ``manifest.json``. Readable only with ``trust_pickle``
  (joblib runs code on load).
- 2: adds ``topic.skops`` / ``tone.skops`` (pickle-free), canaries and ``MODEL_CARD.md``.
- 3: adds the manifest's own integrity record (a sha256 per top-level field), so an edited
  threshold, metric or canary is named on load instead of trusted.
"""

FORMAT_VERSION = 3
READABLE_FORMATS = (1, 2, 3)
# The first format whose manifest carries "integrity"; older manifests are read without it.
INTEGRITY_SINCE = 3
