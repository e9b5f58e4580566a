"""Attachments: uploads refused by size, type and content with nothing stored; files
served only to the room's readers, never as something that runs in the site's origin;
messages of files alone; the records live, in pages and in catch-up; files deleted with
their message (and with anything else that takes them); pending uploads swept."""

import io
import os
import socket
import tempfile
import time
from datetime import timedelta

from channels.db import database_sync_to_async
from channels.testing import ChannelsLiveServerTestCase
from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase, override_settings
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import get_random_string
from PIL import Image

from chat import selectors, services
from chat.models import Attachment, Membership, Message, Room
from chat.services.attachments import clean_file_name, sweep_pending

from .factories import add_member, make_room, make_user, session_cookie
from .test_browser import ForkedDaphneProcess
from .test_consumers import SocketTestCase


def png(width=640, height=480, colour=(200, 30, 30), kind="PNG", name="picture.png") -> bytes:
    """Return an upload of a real picture of that size and format."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format=kind)
    return SimpleUploadedFile(name, out.getvalue())


def stored_files() -> list[str]:
    """Return every file under MEDIA_ROOT (relative paths)."""
    found = []
    for folder, _dirs, files in os.walk(settings.MEDIA_ROOT):
        found += [
            os.path.relpath(os.path.join(folder, name), settings.MEDIA_ROOT) for name in files
        ]
    return sorted(found)


class UploadsMixin:
    def setUp(self):
        super().setUp()
        # A folder of files for each test: what it stores, and deletes, is all there is.
        media_root = self.enterContext(tempfile.TemporaryDirectory(prefix="chat-media-"))
        self.enterContext(override_settings(MEDIA_ROOT=media_root))

    def upload(self, client, upload, slug="general"):
        return client.post(reverse("chat:api_room_attachments", args=[slug]), {"file": upload})

    def upload_ok(self, client, upload, slug="general") -> dict:
        response = self.upload(client, upload, slug)
        self.assertEqual(response.status_code, 201, response.content)
        return response.json()["attachment"]

    def post_message(self, client, body="", attachment_ids=(), slug="general", **fields):
        return client.post(
            reverse("chat:api_room_messages", args=[slug]),
            {"body": body, "attachments": list(attachment_ids), **fields},
            content_type="application/json",
        )


class UploadTestCase(UploadsMixin, TestCase):
    def setUp(self):
        super().setUp()
        cache.clear()  # rate-limit buckets
        self.alice = make_user("alice")
        self.room = make_room("General")
        add_member(self.room, self.alice)
        self.client.force_login(self.alice)

    def assertNothingStored(self):
        self.assertFalse(Attachment.objects.exists())
        self.assertEqual(stored_files(), [])

    def test_a_picture_is_stored_with_its_size_and_a_thumbnail(self):
        record = self.upload_ok(self.client, png(1200, 800))
        attachment = Attachment.objects.get()
        self.assertEqual(
            {
                key: record[key]
                for key in ("id", "name", "content_type", "image", "width", "height")
            },
            {
                "id": attachment.pk,
                "name": "picture.png",
                "content_type": "image/png",
                "image": True,
                "width": 1200,
                "height": 800,
            },
        )
        self.assertEqual(record["size"], attachment.size)
        self.assertEqual(record["url"], f"/files/{attachment.pk}/picture.png")
        self.assertEqual(
            record["thumbnail"],
            {"url": f"/files/{attachment.pk}/thumbnail/", "width": 400, "height": 267},
        )
        self.assertIsNone(attachment.message)  # waiting for a message
        with Image.open(attachment.thumbnail.open("rb")) as thumbnail:
            self.assertEqual((thumbnail.format, thumbnail.size), ("WEBP", (400, 267)))
        # Stored under a random name: nothing of the uploader's name reaches storage.
        self.assertNotIn("picture", attachment.file.name)
        self.assertEqual(len(stored_files()), 2)

    def test_other_files_are_stored_without_a_thumbnail(self):
        record = self.upload_ok(self.client, SimpleUploadedFile("notes.txt", b"plain words\n"))
        self.assertEqual(
            (record["content_type"], record["image"], record["thumbnail"], record["size"]),
            ("text/plain", False, None, 12),
        )

    @override_settings(CHAT_UPLOAD_MAX_BYTES=50_000)
    def test_too_large_is_refused_and_nothing_is_stored(self):
        response = self.upload(self.client, SimpleUploadedFile("big.txt", b"x" * 50_001))
        self.assertEqual(response.status_code, 413)
        self.assertEqual(response.json()["error"]["code"], "too_large")
        self.assertIn("48.8 KB", response.json()["error"]["detail"])
        # The declared length alone refuses a far larger body, before it is parsed.
        response = self.upload(self.client, SimpleUploadedFile("huge.txt", b"x" * 200_000))
        self.assertEqual(response.status_code, 413)
        self.assertNothingStored()
        self.upload_ok(self.client, SimpleUploadedFile("fits.txt", b"x" * 50_000))

    @override_settings(CHAT_UPLOAD_MAX_BYTES=50_000)
    def test_a_declared_length_too_large_is_refused_before_the_form_is_read(self):
        url = reverse("chat:api_room_attachments", args=["general"])
        # Not even a form: were it read, it would be refused as such (400), not as too large.
        response = self.client.post(
            url,
            b"not a form",
            content_type="multipart/form-data; boundary=XYZ",
            CONTENT_LENGTH="200000",
        )
        self.assertEqual(response.status_code, 413, response.content)
        self.assertEqual(response.json()["error"]["code"], "too_large")
        self.assertNothingStored()

    def test_the_schema_describes_the_form_and_the_answers(self):
        schema = self.client.get("/api/schema/").json()
        upload = schema["paths"]["/api/rooms/{slug}/attachments/"]["post"]
        form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
        self.assertEqual(form["required"], ["file"])
        self.assertEqual(form["properties"]["file"]["format"], "binary")
        self.assertTrue(upload["requestBody"]["required"])
        self.assertLessEqual({"201", "413", "415"}, set(upload["responses"]))
        drop = schema["paths"]["/api/attachments/{attachment_id}/"]["delete"]
        self.assertIn("204", drop["responses"])

    def test_types_not_allowed_are_refused_and_nothing_is_stored(self):
        for name, content in [
            ("run.exe", b"MZ\x90\x00"),
            ("page.html", b"<script>alert(1)</script>"),
            ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
            ("no-extension", b"hello"),
        ]:
            with self.subTest(name=name):
                response = self.upload(self.client, SimpleUploadedFile(name, content))
                self.assertEqual(response.status_code, 415)
                error = response.json()["error"]
                self.assertEqual(error["code"], "unsupported_type")
                self.assertIn(".png", error["detail"])  # says what is allowed
        self.assertNothingStored()

    def test_a_picture_that_does_not_decode_is_refused(self):
        for upload in [
            SimpleUploadedFile("fake.png", b"<html><script>alert(1)</script></html>"),
            SimpleUploadedFile("cut.png", png(300, 300).read()[:200]),
        ]:
            with self.subTest(name=upload.name):
                response = self.upload(self.client, upload)
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json()["error"]["code"], "bad_file")
        self.assertNothingStored()

    def test_a_picture_is_typed_by_its_content(self):
        record = self.upload_ok(self.client, png(64, 64, kind="JPEG", name="really-a.png"))
        self.assertEqual(record["content_type"], "image/jpeg")

    @override_settings(CHAT_UPLOAD_IMAGE_PIXELS_MAX=10_000)
    def test_a_picture_of_too_many_pixels_is_refused(self):
        response = self.upload(self.client, png(101, 100))
        self.assertEqual(
            (response.status_code, response.json()["error"]["code"]), (413, "too_large")
        )
        self.assertNothingStored()

    def test_the_request_must_hold_one_file(self):
        url = reverse("chat:api_room_attachments", args=["general"])
        response = self.client.post(url, {"other": "x"})
        self.assertEqual(
            (response.status_code, response.json()["error"]["code"]), (400, "bad_frame")
        )
        response = self.client.post(url, {"file": [png(), png()]})
        self.assertEqual(response.status_code, 400)
        self.assertNothingStored()

    def test_who_may_not_post_may_not_upload(self):
        secret = make_room("Secret", is_private=True)
        response = self.upload(self.client, png(), slug=secret.slug)
        self.assertEqual(response.status_code, 404)
        self.room.is_archived = True
        self.room.save()
        response = self.upload(self.client, png())
        self.assertEqual(response.status_code, 409)
        self.client.logout()
        response = self.upload(self.client, png())
        self.assertEqual(response.status_code, 401)
        self.assertNothingStored()

    @override_settings(CHAT_RATE_UPLOADS=2)
    def test_uploads_are_rate_limited(self):
        self.upload_ok(self.client, png())
        self.upload_ok(self.client, png())
        response = self.upload(self.client, png())
        self.assertEqual(response.status_code, 429)
        self.assertIn("Retry-After", response.headers)

    @override_settings(CHAT_UPLOADS_PENDING_MAX=2)
    def test_uploads_waiting_are_capped(self):
        first = self.upload_ok(self.client, png())
        self.upload_ok(self.client, png())
        response = self.upload(self.client, png())
        self.assertEqual(
            (response.status_code, response.json()["error"]["code"]), (409, "too_many_uploads")
        )
        # Sending one frees a place.
        self.assertEqual(self.post_message(self.client, "", [first["id"]]).status_code, 201)
        self.upload_ok(self.client, png())

    def test_an_upload_not_sent_can_be_dropped_by_its_uploader(self):
        record = self.upload_ok(self.client, png())
        bob = make_user("bob")
        add_member(self.room, bob)
        url = reverse("chat:api_attachment", args=[record["id"]])
        self.client.force_login(bob)
        self.assertEqual(self.client.delete(url).status_code, 404)
        self.client.force_login(self.alice)
        with self.captureOnCommitCallbacks(execute=True):
            self.assertEqual(self.client.delete(url).status_code, 204)
        self.assertNothingStored()
        self.assertEqual(self.client.delete(url).status_code, 404)

    def test_uploads_never_sent_are_swept(self):
        old = self.upload_ok(self.client, png())
        recent = self.upload_ok(self.client, png())
        Attachment.objects.filter(pk=old["id"]).update(
            created_at=timezone.now() - timedelta(hours=settings.CHAT_UPLOAD_PENDING_HOURS + 1)
        )
        with self.captureOnCommitCallbacks(execute=True):
            self.assertEqual(sweep_pending(), 1)
        self.assertEqual(list(Attachment.objects.values_list("pk", flat=True)), [recent["id"]])
        self.assertEqual(len(stored_files()), 2)  # the recent one's two

    def test_file_names_are_cleaned(self):
        cases = [
            ("../../etc/passwd.txt", "passwd.txt"),
            ("C:\\Users\\me\\report.pdf", "report.pdf"),
            ("bad\x00name\n.txt", "badname.txt"),
            ("...", "file"),
            ("x" * 300 + ".png", "x" * 196 + ".png"),
        ]
        for name, cleaned in cases:
            with self.subTest(name=name):
                self.assertEqual(clean_file_name(name), cleaned)


class SharedFileTestCase(UploadsMixin, TestCase):
    """Sending files, and who may fetch them."""

    def setUp(self):
        super().setUp()
        cache.clear()
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.carol = make_user("carol")
        self.room = make_room("Secret", is_private=True)
        add_member(self.room, self.alice)
        add_member(self.room, self.bob)
        self.client.force_login(self.alice)
        self.picture = self.upload_ok(self.client, png(800, 600), slug="secret")
        self.notes = self.upload_ok(
            self.client, SimpleUploadedFile("notes.txt", b"<script>x</script>"), slug="secret"
        )

    def send_files(self, body="", ids=None):
        ids = [self.picture["id"], self.notes["id"]] if ids is None else ids
        response = self.post_message(self.client, body, ids, slug="secret", client_id="c-files")
        self.assertEqual(response.status_code, 201, response.content)
        return response.json()["message"]

    def fetch(self, user, url):
        self.client.logout()
        if user is not None:
            self.client.force_login(user)
        return self.client.get(url)

    def test_a_message_may_be_files_alone(self):
        message = self.send_files()
        self.assertEqual((message["body"], message["html"]), ("", ""))
        self.assertEqual(message["attachments"], [self.picture, self.notes])
        self.assertEqual(
            set(Attachment.objects.values_list("message_id", flat=True)), {message["id"]}
        )
        # As read back: the same records, in a page and in catch-up.
        page = selectors.message_page(room=self.room)
        self.assertEqual(page["messages"][-1]["attachments"], [self.picture, self.notes])
        since = selectors.messages_since(room=self.room, since=0)
        self.assertEqual(since["messages"][-1]["attachments"], [self.picture, self.notes])
        # Without files, an empty body is still refused.
        response = self.post_message(self.client, "  ", [], slug="secret")
        self.assertEqual(response.json()["error"]["code"], "empty")

    def test_a_message_of_files_alone_is_quoted_by_its_file(self):
        message = self.send_files()
        reply, _created = services.message_send(
            room=self.room, author=self.bob, body="nice", reply_to=message["id"]
        )
        self.assertEqual(reply["reply_to"]["excerpt"], "📎 picture.png and 1 more")
        page = selectors.message_page(room=self.room)
        self.assertEqual(page["messages"][-1]["reply_to"]["excerpt"], "📎 picture.png and 1 more")

    def test_a_resend_stores_nothing_new(self):
        first = self.send_files("look")
        ids = [self.picture["id"], self.notes["id"]]
        response = self.post_message(self.client, "look", ids, slug="secret", client_id="c-files")
        self.assertEqual((response.status_code, response.json()["message"]), (200, first))
        self.assertEqual(Message.objects.count(), 1)

    def test_only_ones_own_pending_uploads_of_the_room_can_be_sent(self):
        self.client.force_login(self.bob)
        # Alice's upload, for Bob: refused, and nothing stored; it stays hers, waiting.
        response = self.post_message(self.client, "mine?", [self.picture["id"]], slug="secret")
        self.assertEqual(
            (response.status_code, response.json()["error"]["code"]), (404, "not_found")
        )
        self.assertFalse(Message.objects.exists())
        self.client.force_login(self.alice)
        self.send_files()
        # Sent already: not again.
        response = self.post_message(self.client, "again", [self.picture["id"]], slug="secret")
        self.assertEqual(response.status_code, 404)
        # Another room's upload.
        general = make_room("General")
        add_member(general, self.alice)
        elsewhere = self.upload_ok(self.client, png())
        response = self.post_message(self.client, "here", [elsewhere["id"]], slug="secret")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(Message.objects.count(), 1)

    def test_attachments_must_be_a_short_list_of_ids(self):
        for value in ["1", [True], [0], ["1"], list(range(1, 12))]:
            with self.subTest(value=value):
                response = self.client.post(
                    reverse("chat:api_room_messages", args=["secret"]),
                    {"body": "x", "attachments": value},
                    content_type="application/json",
                )
                self.assertEqual(response.status_code, 400)
        self.assertFalse(Message.objects.exists())

    def test_members_get_the_file_others_get_403(self):
        message = self.send_files()
        picture, notes = message["attachments"]
        response = self.fetch(self.bob, picture["url"])
        self.assertEqual(response.status_code, 200)
        self.assertEqual(b"".join(response.streaming_content)[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual(response["Content-Type"], "image/png")
        self.assertTrue(response["Content-Disposition"].startswith("inline"))
        self.assertEqual(response["X-Content-Type-Options"], "nosniff")
        self.assertIn("sandbox", response["Content-Security-Policy"])
        self.assertIn("private", response["Cache-Control"])
        thumbnail = self.fetch(self.bob, picture["thumbnail"]["url"])
        self.assertEqual((thumbnail.status_code, thumbnail["Content-Type"]), (200, "image/webp"))
        # Not a picture: only ever saved, whatever it holds.
        response = self.fetch(self.bob, notes["url"])
        self.assertEqual(response["Content-Type"], "text/plain")
        self.assertEqual(response["Content-Disposition"], 'attachment; filename="notes.txt"')
        for url in (picture["url"], picture["thumbnail"]["url"], notes["url"]):
            with self.subTest(url=url):
                self.assertEqual(self.fetch(self.carol, url).status_code, 403)
                anonymous = self.fetch(None, url)
                self.assertEqual(anonymous.status_code, 302)
                self.assertIn(reverse("login"), anonymous["Location"])

    def test_a_ban_or_a_removal_takes_the_files_away_at_once(self):
        picture = self.send_files()["attachments"][0]
        Membership.objects.filter(room=self.room, user=self.bob).update(banned=True)
        self.assertEqual(self.fetch(self.bob, picture["url"]).status_code, 403)

    def test_a_public_rooms_files_are_for_everyone_who_can_read_it(self):
        general = make_room("General")
        add_member(general, self.alice)
        self.client.force_login(self.alice)
        upload = self.upload_ok(self.client, png())
        picture = self.post_message(self.client, "", [upload["id"]]).json()["message"][
            "attachments"
        ][0]
        self.assertEqual(self.fetch(self.carol, picture["url"]).status_code, 200)

    def test_an_upload_not_sent_is_its_uploaders_alone(self):
        self.assertEqual(self.fetch(self.alice, self.picture["url"]).status_code, 200)
        self.assertEqual(self.fetch(self.bob, self.picture["url"]).status_code, 403)

    @override_settings(CHAT_UPLOAD_TYPES=[*settings.CHAT_UPLOAD_TYPES, "image/svg+xml"])
    def test_svg_allowed_by_settings_is_still_only_downloaded(self):
        svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
        self.client.force_login(self.alice)
        upload = self.upload_ok(self.client, SimpleUploadedFile("d.svg", svg), slug="secret")
        self.assertEqual((upload["image"], upload["thumbnail"]), (False, None))
        self.post_message(self.client, "", [upload["id"]], slug="secret")
        response = self.fetch(self.bob, upload["url"])
        self.assertEqual(response["Content-Type"], "image/svg+xml")
        self.assertTrue(response["Content-Disposition"].startswith("attachment"))
        self.assertIn("sandbox", response["Content-Security-Policy"])

    def test_deleting_the_message_deletes_its_files(self):
        message = self.send_files()
        before = stored_files()
        with self.captureOnCommitCallbacks(execute=True):
            deleted = services.message_delete(
                room=self.room, user=self.alice, message_id=message["id"]
            )
        self.assertEqual(deleted["attachments"], [])
        self.assertFalse(Attachment.objects.exists())
        self.assertEqual(len(before) - len(stored_files()), 3)  # the picture, its thumbnail, notes
        for record in message["attachments"]:
            with self.subTest(url=record["url"]):
                self.assertEqual(self.fetch(self.bob, record["url"]).status_code, 404)
        page = selectors.message_page(room=self.room)
        self.assertEqual(page["messages"][-1]["attachments"], [])

    def test_deleting_the_room_deletes_its_files(self):
        self.send_files()
        with self.captureOnCommitCallbacks(execute=True):
            Room.objects.filter(pk=self.room.pk).delete()
        self.assertEqual(stored_files(), [])

    def test_a_failed_send_keeps_the_uploads_waiting(self):
        self.room.is_archived = True
        self.room.save()
        response = self.post_message(self.client, "x", [self.picture["id"]], slug="secret")
        self.assertEqual(response.status_code, 409)
        self.assertEqual(Attachment.objects.filter(message__isnull=True).count(), 2)
        self.assertEqual(len(stored_files()), 3)


@override_settings(CHAT_UPLOAD_MAX_BYTES=1_000_000)
class AttachmentSocketTestCase(UploadsMixin, SocketTestCase):
    """message.send with attachments over the socket: live to the room, and catch-up."""

    def setUp(self):
        super().setUp()
        add_member(self.room, self.alice)
        add_member(self.room, self.bob)
        self.client.force_login(self.bob)
        self.picture = self.upload_ok(self.client, png(300, 200))

    async def test_bob_sends_a_picture_and_alice_sees_it(self):
        alice, _ = await self.join(self.alice)
        bob, _ = await self.join(self.bob, others=[alice])
        await self.send(
            bob, type="message.send", client_id="c-1", body="", attachments=[self.picture["id"]]
        )
        answer = await self.expect(bob, "message.new")
        live = await self.expect(alice, "message.new")
        self.assertEqual(live, answer)
        self.assertEqual(live["message"]["attachments"], [self.picture])
        await self.send(bob, type="message.send", client_id="c-2", body="", attachments=[])
        await self.expect_error(bob, "empty", client_id="c-2")
        await self.send(bob, type="message.send", client_id="c-3", body="x", attachments=["7"])
        await self.expect_error(bob, "bad_frame", client_id="c-3")
        await self.send(
            bob, type="message.send", client_id="c-4", body="x", attachments=[self.picture["id"]]
        )
        await self.expect_error(bob, "not_found", client_id="c-4")
        await self.assertQuiet(alice, bob)

    async def test_catch_up_after_a_reconnect_brings_the_files_and_their_deletion(self):
        alice, hello = await self.join(self.alice)
        await alice.disconnect()
        data, _ = await database_sync_to_async(services.message_send)(
            room=self.room, author=self.bob, body="look", attachments=[self.picture["id"]]
        )
        alice = await self.connect(self.alice, f"/ws/rooms/general/?since={hello['rev']}")
        await self.expect(alice, "hello")
        sync = await self.expect(alice, "sync", complete=True)
        self.assertEqual(sync["messages"], [data])
        self.assertEqual(sync["messages"][0]["attachments"], [self.picture])
        await alice.disconnect()
        await database_sync_to_async(services.message_delete)(
            room=self.room, user=self.bob, message_id=data["id"]
        )
        alice = await self.connect(self.alice, f"/ws/rooms/general/?since={data['rev']}")
        await self.expect(alice, "hello")
        sync = await self.expect(alice, "sync", complete=True)
        self.assertEqual(
            [(m["id"], m["deleted"], m["attachments"]) for m in sync["messages"]],
            [(data["id"], True, [])],
        )


class InterruptedUploadTestCase(ChannelsLiveServerTestCase):
    """An upload cut off on the wire, against a live daphne: nothing stored, no row, no file."""

    ProtocolServerProcess = ForkedDaphneProcess

    def setUp(self):
        cache.clear()
        self.alice = make_user("alice")
        self.room = make_room("General")
        add_member(self.room, self.alice)
        self.cookie = session_cookie(self.alice).decode()

    def request(self, *, cut_at: int | None = None) -> bytes:
        """POST a picture of noise (about 700 KB) as a browser would; with `cut_at`, stop
        sending the body there and hang up. Return what the server answered (nothing
        when cut)."""
        out = io.BytesIO()
        Image.frombytes("RGB", (480, 480), os.urandom(480 * 480 * 3)).save(out, format="PNG")
        token = get_random_string(32)
        body = (
            b'--XYZ\r\nContent-Disposition: form-data; name="file"; filename="p.png"\r\n'
            b"Content-Type: image/png\r\n\r\n" + out.getvalue() + b"\r\n--XYZ--\r\n"
        )
        host, port = self.host, self._port
        head = (
            f"POST /api/rooms/general/attachments/ HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Cookie: {self.cookie}; csrftoken={token}\r\nX-CSRFToken: {token}\r\n"
            "Content-Type: multipart/form-data; boundary=XYZ\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        with socket.create_connection((host, port), timeout=10) as conn:
            conn.sendall(head + (body if cut_at is None else body[:cut_at]))
            if cut_at is not None:
                return b""
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        return answer

    def test_an_interrupted_upload_stores_nothing(self):
        before = stored_files()
        self.request(cut_at=300_000)
        time.sleep(0.5)  # what the server might still do with it
        # The same request whole, on the same server, right after: stored.
        answer = self.request()
        self.assertIn(b" 201 ", answer.split(b"\r\n", 1)[0])
        self.assertEqual(Attachment.objects.count(), 1)
        self.assertEqual(len(set(stored_files()) - set(before)), 2)  # the picture, its thumbnail


class AttachmentAdminTestCase(UploadsMixin, TestCase):
    def test_the_message_page_links_its_files_and_deleting_it_takes_them(self):
        alice = make_user("alice")
        staff = make_user("admin", is_staff=True, is_superuser=True)
        room = make_room("Secret", is_private=True)
        add_member(room, alice)
        self.client.force_login(alice)
        upload = self.upload_ok(self.client, png(), slug="secret")
        message = self.post_message(self.client, "", [upload["id"]], slug="secret").json()[
            "message"
        ]
        self.client.force_login(staff)
        page = self.client.get(reverse("admin:chat_message_change", args=[message["id"]]))
        self.assertContains(page, f'<a href="{upload["url"]}">picture.png</a>', html=True)
        # Staff moderate every room: they may open what they moderate.
        self.assertEqual(self.client.get(upload["url"]).status_code, 200)
        with self.captureOnCommitCallbacks(execute=True):
            self.client.post(
                reverse("admin:chat_message_changelist"),
                {"action": "soft_delete", "_selected_action": [message["id"]]},
            )
        self.assertEqual(stored_files(), [])
        self.assertEqual(self.client.get(upload["url"]).status_code, 404)
