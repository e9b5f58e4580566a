"""Django's test runner, with the per-socket log lines kept out of its output, and the
files tests upload kept in a temporary folder.

pytest captures log records per test; Django's runner prints them, and the suite opens
thousands of sockets, each logging its opening and its close (chat.sockets, INFO).
Warnings and errors still show.
"""

import logging
import shutil
import tempfile

from django.test import override_settings
from django.test.runner import DiscoverRunner


class QuietSocketsRunner(DiscoverRunner):
    def setup_test_environment(self, **kwargs):
        super().setup_test_environment(**kwargs)
        logging.getLogger("chat.sockets").setLevel(logging.WARNING)
        # Uploaded files go to a temporary folder, not the checkout's var/media.
        self._media_root = tempfile.mkdtemp(prefix="chat-media-")
        self._media_settings = override_settings(MEDIA_ROOT=self._media_root)
        self._media_settings.enable()

    def teardown_test_environment(self, **kwargs):
        self._media_settings.disable()
        shutil.rmtree(self._media_root, ignore_errors=True)
        super().teardown_test_environment(**kwargs)
