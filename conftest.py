"""Test-wide setup: uploaded files go to a temporary folder, not the checkout's
var/media; every HTTP API answer is held to the OpenAPI schema (api/tests/conformance.py)."""

import pytest
from django.test import override_settings


@pytest.fixture(autouse=True, scope="session")
def _media_root(tmp_path_factory):
    with override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media"))):
        yield


@pytest.fixture(autouse=True, scope="session")
def _api_answers_conform():
    """Check every HTTP API answer a test gets against the OpenAPI schema."""
    from django.test.client import Client

    from api.tests import conformance

    request = Client.request

    def checked(self, **scope):
        response = request(self, **scope)
        conformance.check(
            scope["REQUEST_METHOD"],
            scope["PATH_INFO"],
            response.status_code,
            response.content if not response.streaming else b"",
            response.get("Content-Type", ""),
        )
        return response

    Client.request = checked
    yield
    Client.request = request
