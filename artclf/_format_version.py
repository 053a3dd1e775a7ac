"""The portable format's name and version, in their own module so writers and readers share them
(as skops does) without importing anything else."""

FORMAT_NAME = "artclf-portable"
# Bump on any change a version-1 reader would misread; readers refuse versions they do not know.
# Version 2 adds the multiclass topic head and calibration (topic per-label maps with probability
# thresholds, a tone temperature, maps for texts with too little evidence). Writers write the lowest
# version that expresses a model: 1 when it uses none of these, so version-1 readers keep reading it.
FORMAT_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)
