"""Static files storage."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    """Hashed, compressed file names once collectstatic has run; plain names before.

    Without the manifest (a fresh checkout, the test suite) the plain name is used,
    and WhiteNoise serves it from the source folders.
    """

    manifest_strict = False
    # The page's ES modules import each other: rewrite those imports to the hashed names
    # too, or a browser could mix a new room.js with old cached modules after a deploy.
    support_js_module_import_aggregation = True

    def stored_name(self, name):
        if not self.hashed_files:
            return name
        return super().stored_name(name)
