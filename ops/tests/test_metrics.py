"""The metrics (docs/operations.md, "Metrics"): they move when traffic moves, their labels
stay bounded whatever clients send, and /metrics is served only to those allowed."""

import logging
import threading
from unittest import mock

from asgiref.sync import SyncToAsync, async_to_sync
from channels.exceptions import ChannelFull
from django.http import HttpResponseNotFound
from django.test import RequestFactory, SimpleTestCase, TestCase, override_settings

from chat import events
from chat.realtime import hub
from chat.realtime.layers import LocalChannelLayer
from chat.tests.factories import quiet_request_warnings
from chat.tests.test_consumers import TIMEOUT, SocketTestCase
from ops import metrics
from ops.middleware import health_middleware

from .metrics_reading import label_values, moved, parse, value


class SocketMetricsTests(SocketTestCase):
    """Real sockets through the ASGI application, read back through /metrics."""

    def setUp(self):
        super().setUp()
        # Their lines are tested in test_logs; here they would only fill the output.
        sockets_log = logging.getLogger("chat.sockets")
        self.addCleanup(sockets_log.setLevel, sockets_log.level)
        sockets_log.setLevel(logging.WARNING)

    async def scrape(self):
        response = await self.async_client.get("/metrics")
        self.assertEqual(response.status_code, 200)
        return parse(response.content.decode())

    async def test_room_sockets_messages_and_frames_move_the_counters(self):
        before = await self.scrape()
        alice, _ = await self.join(self.alice)
        bob, _ = await self.join(self.bob, others=[alice])
        during = await self.scrape()
        self.assertEqual(moved(before, during, "chat_sockets_open", protocol="1"), 2)
        self.assertEqual(moved(before, during, "chat_sockets_opened_total", protocol="1"), 2)

        for number in range(3):
            await alice.send_json_to(
                {"type": "message.send", "client_id": f"m{number}", "body": f"hi {number}"}
            )
            await self.expect(alice, "message.new")
            await self.expect(bob, "message.new")  # through the hub: the broadcast arrived
        await bob.send_json_to({"type": "ping", "t": 1})
        await self.expect(bob, "pong")
        await alice.disconnect()
        await bob.disconnect()
        after = await self.scrape()

        self.assertEqual(moved(before, after, "chat_messages_stored_total"), 3)
        self.assertEqual(moved(before, after, "chat_frames_received_total", type="message.send"), 3)
        self.assertEqual(moved(before, after, "chat_frames_received_total", type="ping"), 1)
        # Each message: the sender's answer and the other's broadcast.
        self.assertEqual(moved(before, after, "chat_frames_sent_total", type="message.new"), 6)
        self.assertEqual(moved(before, after, "chat_frames_sent_total", type="hello"), 2)
        self.assertEqual(moved(before, after, "chat_frames_sent_total", type="pong"), 1)
        # Three messages and the presence news, each received once by this process's hub.
        self.assertGreaterEqual(moved(before, after, "chat_broadcast_latency_seconds_count"), 3 + 2)
        self.assertGreaterEqual(moved(before, after, "chat_broadcast_latency_seconds_sum"), 0)
        self.assertEqual(moved(before, after, "chat_sockets_open", protocol="1"), 0)
        self.assertEqual(
            moved(before, after, "chat_sockets_closed_total", protocol="1", code="1000"), 2
        )

    async def test_a_tab_socket_is_protocol_2(self):
        before = await self.scrape()
        tab = await self.connect(self.alice, "/ws/")
        await self.expect(tab, "hello", protocol=2)
        await tab.send_json_to({"type": "view", "room": "general"})
        await self.expect(tab, "view")
        during = await self.scrape()
        await tab.disconnect()
        after = await self.scrape()
        self.assertEqual(moved(before, during, "chat_sockets_open", protocol="2"), 1)
        self.assertEqual(moved(before, after, "chat_sockets_open", protocol="2"), 0)
        self.assertEqual(moved(before, after, "chat_sockets_opened_total", protocol="2"), 1)
        self.assertEqual(moved(before, after, "chat_frames_received_total", type="view"), 1)
        self.assertEqual(moved(before, after, "chat_frames_sent_total", type="view"), 1)
        self.assertEqual(
            moved(before, after, "chat_sockets_closed_total", protocol="2", code="1000"), 1
        )
        self.assertEqual(moved(before, after, "chat_sockets_opened_total", protocol="1"), 0)

    async def test_the_servers_close_codes_are_counted_and_a_clients_own_is_other(self):
        before = await self.scrape()
        anonymous = await self.connect(None)
        await self.assertClosed(anonymous, 4401)
        await anonymous.disconnect()
        alice, _ = await self.join(self.alice)
        await alice.disconnect(code=4999)  # a client may close with any code 3000-4999
        after = await self.scrape()
        self.assertEqual(
            moved(before, after, "chat_sockets_closed_total", protocol="1", code="4401"), 1
        )
        self.assertEqual(
            moved(before, after, "chat_sockets_closed_total", protocol="1", code="other"), 1
        )
        self.assertNotIn("4999", label_values(after, "chat_sockets_closed_total", "code"))

    async def test_frame_types_a_client_makes_up_count_as_other(self):
        alice, _ = await self.join(self.alice)
        before = await self.scrape()
        made_up = [f"made-up-{number}" for number in range(5)]
        for kind in made_up:
            await alice.send_json_to({"type": kind})
            await self.expect_error(alice, "bad_frame")
        for text in ("not json", '{"type": 7}', "[]"):
            await alice.send_to(text_data=text)
            await alice.receive_json_from(timeout=TIMEOUT)
        after = await self.scrape()
        self.assertEqual(moved(before, after, "chat_frames_received_total", type="other"), 8)
        self.assertEqual(moved(before, after, "chat_frames_sent_total", type="error"), 8)
        types = label_values(after, "chat_frames_received_total", "type")
        self.assertFalse(types & set(made_up), types)
        self.assertLessEqual(
            types,
            {"message.send", "message.edit", "message.delete", "typing", "sync", "history"}
            | {"reaction.add", "reaction.remove", "ping", "view", "read", "other"},
        )


class DatabaseQueueTests(SimpleTestCase):
    def test_calls_waiting_for_the_database_thread_are_its_queue(self):
        executor = SyncToAsync.single_thread_executor
        started, release = threading.Event(), threading.Event()

        def hold_the_thread():
            started.set()
            release.wait(10)

        running = executor.submit(hold_the_thread)
        waiting = []
        try:
            self.assertTrue(started.wait(10))
            waiting = [executor.submit(int) for _ in range(3)]
            samples = parse(self.client.get("/metrics").content.decode())
        finally:
            release.set()
            for future in (running, *waiting):
                future.result(timeout=10)
        self.assertEqual(value(samples, "chat_database_thread_queue"), 3)
        after = parse(self.client.get("/metrics").content.decode())
        self.assertEqual(value(after, "chat_database_thread_queue"), 0)


class LayerErrorTests(SimpleTestCase):
    def reading(self):
        return parse(metrics.exposition()[0].decode())

    def test_a_full_channel_in_the_process_layer_is_counted(self):
        layer = LocalChannelLayer(capacity=1)

        async def send_twice():
            channel = await layer.new_channel()
            await layer.group_add("ops-test", channel)
            await layer.group_send("ops-test", {"type": "x"})
            await layer.group_send("ops-test", {"type": "x"})  # the channel is full

        before = self.reading()
        async_to_sync(send_twice)()
        after = self.reading()
        self.assertEqual(moved(before, after, "chat_layer_errors_total", operation="full"), 1)

    def test_a_failed_broadcast_is_counted(self):
        broken = mock.Mock()
        broken.group_send = mock.AsyncMock(side_effect=ChannelFull())
        event = events.Event(events.TYPING, {"user": "alice", "active": True}, events.to_room(1))
        before = self.reading()
        with (
            mock.patch.object(hub, "get_channel_layer", return_value=broken),
            self.assertLogs("chat.realtime.hub", "WARNING"),
        ):
            async_to_sync(hub.apublish_event)(event)
        after = self.reading()
        self.assertEqual(moved(before, after, "chat_layer_errors_total", operation="send"), 1)

    def test_events_carry_when_they_left_and_the_hub_observes_it(self):
        event = events.Event(events.TYPING, {"user": "alice", "active": True}, events.to_room(1))
        [(_group, message)] = hub._layer_messages(event)
        self.assertIsInstance(message["sent_at"], float)
        before = self.reading()
        metrics.broadcast_received(message["sent_at"] - 0.2)
        metrics.broadcast_received(None)  # an event from a process without the stamp
        after = self.reading()
        self.assertEqual(moved(before, after, "chat_broadcast_latency_seconds_count"), 1)
        self.assertGreaterEqual(moved(before, after, "chat_broadcast_latency_seconds_sum"), 0.2)


class HttpRequestTests(TestCase):
    def setUp(self):
        quiet_request_warnings(self)

    def test_responses_are_counted_by_status_and_the_probes_are_not(self):
        before = parse(self.client.get("/metrics").content.decode())
        self.client.get("/accounts/login/")
        self.client.get("/no-such-page/")
        self.client.get("/no-such-page/")
        self.client.get("/healthz")
        self.client.get("/readyz")
        after = parse(self.client.get("/metrics").content.decode())
        self.assertEqual(moved(before, after, "chat_http_requests_total", status="200"), 1)
        self.assertEqual(moved(before, after, "chat_http_requests_total", status="404"), 2)


OUTSIDE = "203.0.113.7"


class MetricsAccessTests(TestCase):
    def setUp(self):
        quiet_request_warnings(self)

    def test_served_to_loopback_in_prometheus_text(self):
        response = self.client.get("/metrics")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response["Content-Type"].startswith("text/plain; version=0.0.4"))
        self.assertEqual(response["Cache-Control"], "no-store")
        self.assertIn(("chat_sockets_open", (("protocol", "2"),)), parse(response.content.decode()))
        self.assertEqual(self.client.head("/metrics").status_code, 200)

    def test_openmetrics_when_the_scraper_asks_for_it(self):
        response = self.client.get(
            "/metrics", HTTP_ACCEPT="application/openmetrics-text; version=1.0.0"
        )
        self.assertTrue(response["Content-Type"].startswith("application/openmetrics-text"))
        self.assertTrue(response.content.endswith(b"# EOF\n"))

    def test_anyone_else_gets_the_sites_own_not_found(self):
        refused = self.client.get("/metrics", REMOTE_ADDR=OUTSIDE)
        unknown = self.client.get("/no-such-page", REMOTE_ADDR=OUTSIDE)
        self.assertEqual(refused.status_code, 404)
        self.assertEqual(refused.content, unknown.content)
        self.assertNotIn(b"chat_", refused.content)
        self.assertEqual(self.client.post("/metrics").status_code, 404)

    @override_settings(OPS_METRICS_TOKEN="a-long-random-token")
    def test_the_bearer_of_the_token_is_served_from_anywhere(self):
        def scrape(authorization):
            return self.client.get(
                "/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION=authorization
            ).status_code

        self.assertEqual(scrape("Bearer a-long-random-token"), 200)
        self.assertEqual(scrape("bearer a-long-random-token"), 200)
        self.assertEqual(scrape("Bearer a-long-random-tokeN"), 404)
        self.assertEqual(scrape("Bearer "), 404)
        self.assertEqual(scrape("Basic a-long-random-token"), 404)
        self.assertEqual(scrape("a-long-random-token"), 404)

    def test_without_a_token_configured_no_token_is_accepted(self):
        response = self.client.get("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer ")
        self.assertEqual(response.status_code, 404)

    @override_settings(OPS_METRICS_ALLOW=["10.0.0.0/8", "fd00::/8"])
    def test_the_allow_list_takes_networks(self):
        def scrape(address):
            return self.client.get("/metrics", REMOTE_ADDR=address).status_code

        self.assertEqual(scrape("10.1.2.3"), 200)
        self.assertEqual(scrape("::ffff:10.1.2.3"), 200)  # IPv4 on a dual-stack socket
        self.assertEqual(scrape("fd12::1"), 200)
        self.assertEqual(scrape("127.0.0.1"), 404)
        self.assertEqual(scrape("not an address"), 404)

    @override_settings(OPS_METRICS_ALLOW=["metrics-host", "127.0.0.1"])
    def test_an_entry_that_is_no_address_is_ignored_and_said(self):
        with self.assertLogs("ops.scrape", "WARNING") as logs:
            self.assertEqual(self.client.get("/metrics").status_code, 200)
        self.assertIn("'metrics-host'", logs.output[0])

    @override_settings(SECURE_SSL_REDIRECT=True)
    def test_any_host_over_plain_http_as_prometheus_scrapes(self):
        response = self.client.get("/metrics", HTTP_HOST="web1:8000")
        self.assertEqual(response.status_code, 200)

    async def test_served_by_the_asynchronous_middleware_too(self):
        async def site(request):
            return HttpResponseNotFound("the site")

        middleware = health_middleware(site)
        factory = RequestFactory()
        served = await middleware(factory.get("/metrics"))
        refused = await middleware(factory.get("/metrics", REMOTE_ADDR=OUTSIDE))
        self.assertEqual(served.status_code, 200)
        self.assertIn(b"chat_sockets_open", served.content)
        self.assertEqual((refused.status_code, refused.content), (404, b"the site"))
