"""The probes (docs/operations.md, "Health"): /healthz always, /readyz per dependency,
including Redis going away and coming back."""

import socket
import tempfile
import time

from django.core.cache import caches
from django.test import TestCase, override_settings

from chat.tests.servers import RedisServer


class HealthTests(TestCase):
    def test_healthz_answers_whatever_the_host_and_scheme(self):
        response = self.client.get("/healthz", HTTP_HOST="probe.internal")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"status": "ok"})

    def test_readyz_is_ok_when_every_dependency_answers(self):
        response = self.client.get("/readyz")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response.json(),
            {
                "status": "ok",
                "checks": {"database": "ok", "channel_layer": "ok", "cache": "ok"},
                "failed": [],
            },
        )
        self.assertEqual(response["Cache-Control"], "no-store")

    def test_other_methods_and_paths_go_on_to_the_site(self):
        self.assertEqual(self.client.post("/healthz").status_code, 404)
        self.assertEqual(self.client.get("/healthz/x").status_code, 404)

    @override_settings(
        CHANNEL_LAYERS={"default": {"BACKEND": "no.such.Layer"}},
        OPS_READY_TIMEOUT=1,
    )
    def test_a_broken_layer_is_named(self):
        with self.assertLogs("ops.health", "WARNING"):
            response = self.client.get("/readyz")
        self.assertEqual(response.status_code, 503)
        body = response.json()
        self.assertEqual((body["status"], body["failed"]), ("unavailable", ["channel_layer"]))
        self.assertEqual(body["checks"]["database"], "ok")


class SilentServerTests(TestCase):
    def test_a_cache_that_never_answers_is_a_timeout_within_the_bound(self):
        # Accepts connections (the kernel does) and never reads or answers a byte.
        silent = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(silent.close)
        port = silent.getsockname()[1]
        cache = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 5, "socket_timeout": 5},
        }
        with override_settings(CACHES={"default": cache}, OPS_READY_TIMEOUT=0.5):
            self.addCleanup(caches.close_all)
            started = time.monotonic()
            with self.assertLogs("ops.health", "WARNING"):
                response = self.client.get("/readyz")
            waited = time.monotonic() - started
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.json()["checks"]["cache"], "timeout")
        self.assertLess(waited, 4)  # the bound, not the client's own socket timeout


class RedisReadinessTests(TestCase):
    """A real Redis carrying the channel layer and the cache, stopped and started again."""

    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.stop)
        redis_settings = override_settings(
            CHANNEL_LAYERS={
                "default": {
                    "BACKEND": "channels_redis.core.RedisChannelLayer",
                    "CONFIG": {"hosts": [{"address": self.redis.url, "socket_connect_timeout": 1}]},
                }
            },
            CACHES={
                "default": {
                    "BACKEND": "django.core.cache.backends.redis.RedisCache",
                    "LOCATION": self.redis.url,
                    "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
                }
            },
            OPS_READY_TIMEOUT=2,
        )
        redis_settings.enable()
        self.addCleanup(redis_settings.disable)
        self.addCleanup(caches.close_all)

    def ready(self):
        response = self.client.get("/readyz")
        return response.status_code, response.json()

    def test_redis_down_is_a_503_naming_what_failed_and_recovery_is_seen(self):
        self.assertEqual(self.ready()[0], 200)
        self.redis.process.terminate()
        self.redis.process.wait(timeout=10)
        with self.assertLogs("ops.health", "WARNING"):
            status, body = self.ready()
        self.assertEqual(status, 503)
        self.assertEqual(body["failed"], ["cache", "channel_layer"])
        self.assertEqual(body["checks"]["database"], "ok")
        # The same port again, as a restarted Redis would be.
        self.redis.directory = tempfile.mkdtemp(prefix="redis-test-")
        self.redis.start()
        status, body = self.ready()
        self.assertEqual((status, body["failed"]), (200, []))
