"""Staff saving a room in the admin while people post keeps the room's timeline whole.

On PostgreSQL, concurrent requests really interleave: a save that wrote back the revision
it read at the start of its request would put the room's counter behind its messages,
and every later send in that room would fail with a duplicate key.
"""

import threading
from html.parser import HTMLParser
from unittest import mock

from django.contrib import admin
from django.db import connection
from django.test import Client, TransactionTestCase, override_settings
from django.urls import reverse

from chat import services
from chat.models import Message, Room

from .factories import add_member, make_room, make_user
from .processes import skip_or_fail

WAIT = 10  # seconds: the bound on any one wait below, far above what a send takes


class _FormFields(HTMLParser):
    """Collect what a browser would submit for one <form> of a page: (name, value) pairs."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.fields: list[tuple[str, str]] = []
        self._in_form = False
        self._select: dict | None = None
        self._option: dict | None = None
        self._textarea: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._in_form = attrs.get("id") == self.form_id
        if not self._in_form:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = (attrs.get("type") or "text").lower()
            if kind in {"submit", "button", "image", "reset", "file"}:
                return
            if kind in {"checkbox", "radio"}:
                if "checked" in attrs:
                    self.fields.append((name, attrs.get("value") or "on"))
                return
            self.fields.append((name, attrs.get("value") or ""))
        elif tag == "select" and name:
            self._select = {"name": name, "options": [], "multiple": "multiple" in attrs}
        elif tag == "option" and self._select is not None:
            self._option = {
                "value": attrs.get("value"),
                "text": "",
                "selected": "selected" in attrs,
            }
            self._select["options"].append(self._option)
        elif tag == "textarea" and name:
            self._textarea = [name, ""]

    def handle_data(self, data):
        if self._option is not None:
            self._option["text"] += data
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "option":
            self._option = None
        elif tag == "textarea" and self._textarea is not None:
            # The parser keeps the newline HTML drops right after <textarea>.
            name, text = self._textarea
            self.fields.append((name, text.removeprefix("\n")))
            self._textarea = None
        elif tag == "select" and self._select is not None:
            options = self._select["options"]
            chosen = [option for option in options if option["selected"]]
            if not chosen and options and not self._select["multiple"]:
                chosen = options[:1]  # what a browser submits when nothing is selected
            for option in chosen:
                value = option["value"] if option["value"] is not None else option["text"]
                self.fields.append((self._select["name"], value))
            self._select = self._option = None


def form_data(html: str, form_id: str) -> dict[str, list[str]]:
    """Return the data a browser would post for the form, as Client.post takes it."""
    parser = _FormFields(form_id)
    parser.feed(html)
    data: dict[str, list[str]] = {}
    for name, value in parser.fields:
        data.setdefault(name, []).append(value)
    return data


@override_settings(CHAT_RATE_MESSAGES=10_000)
class AdminRoomSaveWhilePostingTests(TransactionTestCase):
    """16 people post while staff save the room in the admin, over and over."""

    posters = 16
    messages_each = 15

    @classmethod
    def setUpClass(cls):
        if connection.vendor != "postgresql":
            skip_or_fail(
                "concurrent admin saves need PostgreSQL: set DATABASE_URL "
                '(eval "$(.ci/services.sh start)")'
            )
        super().setUpClass()

    def setUp(self):
        self.room = make_room("General", topic="Anything goes")
        self.people = [make_user(f"poster{i}") for i in range(self.posters)]
        for person in self.people:
            add_member(self.room, person)
        self.staff = Client()
        self.staff.force_login(make_user("admin", is_staff=True, is_superuser=True))
        self.change_url = reverse("admin:chat_room_change", args=[self.room.pk])

        self.progress = threading.Condition()
        self.attempts = 0  # sends tried so far, whether they worked or not
        self.posting = threading.Event()
        self.errors: list[str] = []

    def post_messages(self, person):
        """Send this person's messages through the service, one after another."""
        try:
            self.posting.wait(WAIT)
            room = Room.objects.get(pk=self.room.pk)
            for i in range(self.messages_each):
                try:
                    services.message_send(
                        room=room,
                        author=person,
                        body=f"{person.username} says {i}",
                        client_id=f"{person.username}-{i}",
                    )
                except Exception as error:
                    self.errors.append(f"{person.username} message {i}: {error!r}")
                with self.progress:
                    self.attempts += 1
                    self.progress.notify_all()
        finally:
            connection.close()

    def read_then_let_people_post(self, get_object):
        """Wrap the admin's get_object: on a save, let sends commit after the room is read.

        This is the race as it happens: the admin's form is built from the room it read
        at the start of the request, and people keep posting until it saves.
        """

        def get_object_then_wait(request, object_id, from_field=None):
            room = get_object(request, object_id, from_field)
            if request.method == "POST":
                with self.progress:
                    seen = self.attempts
                    self.posting.set()
                    self.progress.wait_for(
                        lambda: self.attempts > seen or self.all_attempted(), WAIT
                    )
            return room

        return get_object_then_wait

    def all_attempted(self) -> bool:
        return self.attempts >= self.posters * self.messages_each

    def save_in_the_admin(self, topic: str):
        """GET the room's change form and POST it back with another topic, as staff do."""
        page = self.staff.get(self.change_url)
        self.assertEqual(page.status_code, 200)
        data = form_data(page.content.decode(), form_id="room_form")
        self.assertIn("topic", data, "the change form has no topic field")
        data["topic"] = [topic]
        response = self.staff.post(self.change_url, data)
        if response.status_code != 302:
            self.fail(f"the admin did not save: {response.status_code} {_form_errors(response)}")

    def test_the_timeline_stays_contiguous_and_writable(self):
        threads = [
            threading.Thread(target=self.post_messages, args=[person], daemon=True)
            for person in self.people
        ]
        for thread in threads:
            thread.start()
        model_admin = admin.site.get_model_admin(Room)
        wrapped = self.read_then_let_people_post(model_admin.get_object)
        saves = 0
        try:
            with mock.patch.object(model_admin, "get_object", wrapped):
                while saves == 0 or not self.all_attempted():
                    saves += 1
                    self.save_in_the_admin(topic=f"Topic {saves}")
        finally:
            self.posting.set()  # never leave a poster waiting, whatever failed above
            for thread in threads:
                thread.join(WAIT * 3)
        self.assertFalse([thread for thread in threads if thread.is_alive()], "posters hung")

        count = self.posters * self.messages_each
        if self.errors:
            first = "\n".join(self.errors[:3])
            self.fail(f"{len(self.errors)} of {count} sends failed, the first:\n{first}")
        self.room.refresh_from_db()
        revs = list(
            Message.objects.filter(room=self.room).order_by("rev").values_list("rev", flat=True)
        )
        self.assertEqual(len(revs), count)
        self.assertEqual(revs, list(range(1, count + 1)))
        self.assertEqual(self.room.rev, count)
        self.assertTrue(self.room.topic.startswith("Topic "), self.room.topic)

        data, created = services.message_send(
            room=self.room, author=self.people[0], body="still writable", client_id="after"
        )
        self.assertTrue(created)
        self.assertEqual(data["rev"], count + 1)
        self.room.refresh_from_db()
        self.assertEqual(self.room.rev, count + 1)


def _form_errors(response) -> str:
    """Return the admin form's and inlines' errors from a change page that did not save."""
    context = response.context
    if context is None or "adminform" not in context:
        return ""
    errors = [context["adminform"].form.errors.as_text()]
    for inline in context.get("inline_admin_formsets", []):
        errors.append(str(inline.formset.non_form_errors()))
        errors.extend(str(form_errors) for form_errors in inline.formset.errors if form_errors)
    return "\n".join(error for error in errors if error)
