"""The portable format's name and version, in their own module so writers and readers share them
(as skops does) without importing anything else."""

FORMAT_NAME = "artclf-portable"
# Bump on any change a version-1 reader would misread; readers refuse versions they do not know.
# 2: calibration maps (topic labels, tone) and per-label probability thresholds.
FORMAT_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)
