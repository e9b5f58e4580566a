"""Static files storage."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    """Hashed, compressed file names once collectstatic has run; plain names before.

    Without the manifest (a fresh checkout, the test suite) the plain name is used,
    and WhiteNoise serves it from the source folders.
    """

    manifest_strict = False

    def stored_name(self, name):
        if not self.hashed_files:
            return name
        return super().stored_name(name)
