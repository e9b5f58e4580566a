"""The production command of docs/operations.md: uvicorn on uvloop (myproject.serve)."""

import os
import urllib.request

from django.db import connection
from django.test import TransactionTestCase

from . import processes


def served_database_url() -> str:
    """Return a URL of the test database, for a server process."""
    if connection.vendor == "sqlite":
        return f"sqlite:///{connection.settings_dict['NAME']}"
    return processes.test_database_url()


class ServeTestCase(TransactionTestCase):
    def test_the_production_command_serves_the_site_on_uvloop(self):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "myproject.settings",
            "DATABASE_URL": served_database_url(),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
        }
        server = processes.DaphneProcess(name="serve", env=env).start()
        try:
            server.wait_ready()
            url = f"http://127.0.0.1:{server.port}/accounts/login/"
            with urllib.request.urlopen(url, timeout=10) as response:
                self.assertEqual(response.status, 200)
                self.assertIn(b"<form", response.read())
            self.assertIn("myproject.serve: uvicorn on uvloop", server.log())
            self.assertEqual(server.problems(), [])
        finally:
            server.stop()
            server.remove_log()
