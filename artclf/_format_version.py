"""The portable format's name and version, in their own module so writers and readers share them
(as skops does) without importing anything else."""

FORMAT_NAME = "artclf-portable"
# Bump on any change a version-1 reader would misread; readers refuse versions they do not know.
# Version 2 adds the multiclass topic head; writers write the lowest version that expresses a
# model (1 unless the topic head is multiclass), so version-1 readers keep reading everything else.
FORMAT_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)
