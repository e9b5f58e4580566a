"""`make run` installs requirements.txt alone: the site must start without the test and
bench tool chains (requirements-dev.txt)."""

import os
import re
import subprocess
import sys
from pathlib import Path

from django.test import SimpleTestCase

BASE_DIR = Path(__file__).resolve().parents[2]

# Serves the application with the test tool chain made unimportable.
SERVE_WITHOUT = """
import os, sys

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (a test tool)")

BLOCKED = set(sys.argv[1:])
sys.meta_path.insert(0, NotInstalled())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myproject.settings")
import myproject.asgi  # noqa: E402  the application, its routes and consumers
from django.core.management import call_command  # noqa: E402
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # every view module
call_command("check")
print("served")
"""


def dev_only_modules() -> list[str]:
    """Return the import names of what requirements-dev.txt adds to requirements.txt."""
    names = []
    for line in (BASE_DIR / "requirements-dev.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==", line.strip())
        if match:
            names.append(match.group(1).lower().replace("-", "_"))
    return names


class LeanRuntimeTests(SimpleTestCase):
    def test_the_dev_requirements_are_test_tools(self):
        self.assertIn("pytest", dev_only_modules())
        self.assertIn("playwright", dev_only_modules())

    def test_the_site_starts_without_the_test_tool_chain(self):
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
        result = subprocess.run(
            [sys.executable, "-c", SERVE_WITHOUT, *dev_only_modules()],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        self.assertIn("served", result.stdout)
