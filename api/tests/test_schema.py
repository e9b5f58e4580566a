"""The HTTP API's OpenAPI schema (/api/schema/) and its browsable page (/api/docs/)."""

import re

from django.contrib.staticfiles import finders
from django.test import TestCase
from django.urls import URLPattern, URLResolver, get_resolver
from openapi_spec_validator import validate

from chat.tests.factories import make_user

# A path's parameters, however its pattern spells them: <conv:name>, <name>, (?P<name>...).
_PARAMETER = re.compile(r"<(?:[^>:]+:)?([^>]+)>|\(\?P<([^>]+)>[^)]*\)")
# The schema's own URLs, and the root ninja needs to know where it is mounted.
NOT_OPERATIONS = {"/api/", "/api/schema/", "/api/docs/"}
# The writes whose path says it all: they take no body.
ACT_ON_THE_PATH = {
    "POST /api/rooms/{slug}/join/",
    "POST /api/rooms/{slug}/leave/",
    "PUT /api/rooms/{slug}/messages/{message_id}/reactions/{emoji}/",
    "POST /api/invitations/{invitation_id}/",
    "POST /api/invitations/{invitation_id}/accept/",
    "POST /api/invitations/{invitation_id}/decline/",
    "POST /api/invitations/{invitation_id}/revoke/",
    "POST /api/invite-links/{link_id}/revoke/",
}


def _api_paths(patterns=None, prefix: str = "") -> set[str]:
    """Return every URL of the project under /api/, its parameters as {name}."""
    found = set()
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern).lstrip("^").rstrip("$")
        if isinstance(entry, URLResolver):
            found |= _api_paths(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and route.startswith("api/"):
            found.add("/" + _PARAMETER.sub(lambda m: "{%s}" % (m[1] or m[2]), route))
    return found


class SchemaTests(TestCase):
    def setUp(self):
        self.schema = self.client.get("/api/schema/").json()

    def test_the_schema_is_valid_openapi(self):
        validate(self.schema)
        self.assertTrue(self.schema["openapi"].startswith("3."))

    def test_every_api_url_is_described(self):
        urls = _api_paths() - NOT_OPERATIONS
        self.assertIn("/api/rooms/{slug}/messages/", urls)
        self.assertGreaterEqual(len(urls), 25)
        self.assertEqual(urls - set(self.schema["paths"]), set())

    def test_every_operation_signs_in_with_a_bearer_token_or_the_session(self):
        schemes = self.schema["components"]["securitySchemes"]
        bearer = [s for s in schemes.values() if s == {"type": "http", "scheme": "bearer"}]
        self.assertEqual(len(bearer), 1)
        for path, operations in self.schema["paths"].items():
            for method, operation in operations.items():
                names = {name for need in operation["security"] for name in need}
                self.assertIn("BearerToken", names, f"{method} {path}")
                self.assertIn("SessionCookie", names, f"{method} {path}")

    def test_the_schema_is_public_and_the_api_still_is_not(self):
        self.assertEqual(self.client.get("/api/schema/").status_code, 200)
        response = self.client.get("/api/rooms/")
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response["WWW-Authenticate"], "Bearer")
        self.assertEqual(response.json()["error"]["code"], "unauthenticated")


class DocsPageTests(TestCase):
    def test_the_page_loads_its_scripts_from_this_site_and_runs_none_inline(self):
        self.client.force_login(make_user("alice"))
        response = self.client.get("/api/docs/")
        self.assertEqual(response.status_code, 200)
        page = response.content.decode()
        # The site's Content-Security-Policy stays whole: script-src 'self' only.
        self.assertIn("script-src 'self';", response["Content-Security-Policy"])
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
        sources = [re.search(r'src="([^"]+)"', attrs) for attrs, _body in scripts]
        inline = [body for (attrs, body), src in zip(scripts, sources, strict=True) if not src]
        # The one script element without src is Swagger's settings: data, never run.
        self.assertEqual(len(inline), 1)
        self.assertIn(
            'type="application/json"', scripts[[s is None for s in sources].index(True)][0]
        )
        self.assertIn("/api/schema/", inline[0])
        for src in filter(None, sources):
            self.assertTrue(src[1].startswith("/static/ninja/"), src[1])
            name = src[1].removeprefix("/static/")
            self.assertIsNotNone(finders.find(name), name)
            self.assertEqual(self.client.get(src[1]).status_code, 200, src[1])


class OperationsTests(TestCase):
    """Every operation says what it takes and what it answers."""

    def setUp(self):
        self.schema = self.client.get("/api/schema/").json()

    def operations(self):
        for path, operations in self.schema["paths"].items():
            for method, operation in operations.items():
                yield f"{method.upper()} {path}", method, operation

    def test_every_answer_and_refusal_has_a_described_body(self):
        for name, _method, operation in self.operations():
            with self.subTest(name):
                answers = operation["responses"]
                successes = [status for status in answers if status.startswith("2")]
                self.assertTrue(successes)
                for status in successes:
                    if status == "204":  # No Content: nothing to describe
                        self.assertNotIn("content", answers[status])
                        continue
                    self.assertIn("application/json", answers[status].get("content", {}))
                for status in ("400", "401", "403", "404", "429"):
                    error = answers[status]["content"]["application/json"]["schema"]
                    self.assertEqual(error, {"$ref": "#/components/schemas/Error"})

    def test_every_post_and_put_describes_its_body_but_those_acting_on_the_path(self):
        without = {
            name
            for name, method, operation in self.operations()
            if method in ("post", "put") and "requestBody" not in operation
        }
        self.assertEqual(without, ACT_ON_THE_PATH)
