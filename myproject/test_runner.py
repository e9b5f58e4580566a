"""Django's test runner, with the per-socket log lines kept out of its output.

pytest captures log records per test; Django's runner prints them, and the suite opens
thousands of sockets, each logging its opening and its close (chat.sockets, INFO).
Warnings and errors still show.
"""

import logging

from django.test.runner import DiscoverRunner


class QuietSocketsRunner(DiscoverRunner):
    def setup_test_environment(self, **kwargs):
        super().setup_test_environment(**kwargs)
        logging.getLogger("chat.sockets").setLevel(logging.WARNING)
