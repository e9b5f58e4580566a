"""Test-wide setup: uploaded files go to a temporary folder, not the checkout's var/media."""

import pytest
from django.test import override_settings


@pytest.fixture(autouse=True, scope="session")
def _media_root(tmp_path_factory):
    with override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media"))):
        yield
