"""No frame the server sends is larger than CHAT_SEND_FRAME_MAX: long pages are cut short.

daphne refuses to send a WebSocket message over its --websocket-max-message-size (64 KiB
in the documented deployment), and 200 long messages make a far larger `sync` frame.
"""

import asyncio
import json

from channels.db import database_sync_to_async
from django.conf import settings
from django.test import SimpleTestCase

from chat.realtime import protocol

from .factories import make_messages
from .test_consumers import SocketTestCase

LONG = "é" * 3990  # 2 bytes each in UTF-8: near the body limit, far past the frame limit


def message(number: int, body: str = LONG) -> dict:
    return {"id": number, "rev": number, "body": body, "author": {"id": 1, "username": "a"}}


class EncodePageTests(SimpleTestCase):
    def test_a_page_that_fits_is_sent_whole(self):
        frame = {"type": "sync", "messages": [message(1, "hi")], "rev": 9, "complete": True}
        self.assertEqual(protocol.encode_page(frame), protocol.encode(frame))

    def test_a_sync_keeps_its_oldest_revisions_and_says_it_is_not_complete(self):
        messages = [message(number) for number in range(1, 201)]
        frame = {"type": "sync", "messages": messages, "rev": 200, "complete": True}
        text = protocol.encode_page(frame)
        self.assertLessEqual(len(text.encode()), settings.CHAT_SEND_FRAME_MAX)
        cut = json.loads(text)
        kept = [m["rev"] for m in cut["messages"]]
        self.assertEqual(kept, list(range(1, len(kept) + 1)))
        self.assertGreater(len(kept), 1)
        self.assertEqual((cut["rev"], cut["complete"]), (kept[-1], False))

    def test_a_history_page_keeps_its_newest_messages_and_says_there_is_more(self):
        messages = [message(number) for number in range(1, 51)]
        frame = {"type": "history", "messages": messages, "has_more": False}
        cut = json.loads(protocol.encode_page(frame))
        kept = [m["id"] for m in cut["messages"]]
        self.assertEqual(kept, list(range(51 - len(kept), 51)))
        self.assertIs(cut["has_more"], True)

    def test_one_message_is_always_sent(self):
        huge = message(1, '"' * 4000 + "\x01" * 4000)  # escaping makes it 32 KB of JSON
        frame = {"type": "history", "messages": [huge, message(2)], "has_more": False}
        cut = json.loads(protocol.encode_page(frame))
        self.assertGreaterEqual(len(cut["messages"]), 1)


class LongPagesOverTheSocketTests(SocketTestCase):
    async def answer(self, socket, request: dict) -> tuple[int, dict]:
        """Send a request and return its answer's size and frame; past the socket's
        allowance of requests, wait as told and ask again."""
        while True:
            await socket.send_json_to(request)
            text = await socket.receive_from(timeout=3)
            frame = json.loads(text)
            if frame.get("code") != "rate_limited":
                return len(text.encode()), frame
            await asyncio.sleep(frame["retry_after"])

    async def test_catch_up_and_history_of_long_messages_arrive_whole_in_small_frames(self):
        await database_sync_to_async(make_messages)(self.room, self.bob, 60, prefix=LONG)
        alice, _ = await self.join(self.alice)
        revs, sizes, since = [], [], 0
        while True:
            size, frame = await self.answer(alice, {"type": "sync", "since": since})
            self.assertEqual(frame["type"], "sync", frame)
            sizes.append(size)
            revs += [m["rev"] for m in frame["messages"]]
            if frame["complete"]:
                break
            since = frame["rev"]
        self.assertEqual(revs, list(range(1, 61)))
        self.assertGreater(len(sizes), 1)
        # History, paged back from the newest, gets every message once.
        ids, before = [], None
        while True:
            size, page = await self.answer(alice, {"type": "history", "before": before})
            sizes.append(size)
            ids = [m["id"] for m in page["messages"]] + ids
            if not page["has_more"]:
                break
            before = page["messages"][0]["id"]
        self.assertEqual(len(ids), 60)
        self.assertEqual(ids, sorted(set(ids)))
        self.assertLessEqual(max(sizes), settings.CHAT_SEND_FRAME_MAX)
