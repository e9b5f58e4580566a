"""Search: the query language and its refusals, the access rule (a ban after the message
was written included), edits and deletes kept right in the index, the HTTP API, and the
management command that rebuilds the index. Runs on SQLite (FTS5) and, in the CI's
PostgreSQL leg, on PostgreSQL (a GIN index of tsvectors)."""

from datetime import UTC, date, datetime

from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import SimpleTestCase, TestCase
from django.urls import reverse

from chat import errors, selectors, services
from chat.models import Membership, Message
from chat.search.query import BadQuery, parse_query
from chat.selectors.search import search_messages

from .factories import add_member, make_messages, make_room, make_user
from .test_consumers import SocketTestCase


class QueryLanguageTestCase(SimpleTestCase):
    def test_words_phrases_exclusions_and_operators(self):
        query = parse_query(
            'lunch "at noon" -pizza -"too late" from:@alice -from:bob in:#general '
            "-in:random has:link -has:file is:mentioned after:2026-11-01 before:2026-12-01"
        )
        self.assertEqual(query.words, ["lunch"])
        self.assertEqual(query.phrases, ["at noon"])
        self.assertEqual(query.without_words, ["pizza"])
        self.assertEqual(query.without_phrases, ["too late"])
        self.assertEqual((query.authors, query.without_authors), (["alice"], ["bob"]))
        self.assertEqual((query.rooms, query.without_rooms), (["general"], ["random"]))
        self.assertEqual((query.has, query.has_not), ({"link"}, {"file"}))
        self.assertTrue(query.mentioned)
        self.assertEqual((query.after, query.before), (date(2026, 11, 1), date(2026, 12, 1)))

    def test_links_and_times_stay_words(self):
        query = parse_query("https://example.com/x 12:30 -- !!!")
        self.assertEqual(query.words, ["https://example.com/x", "12:30"])

    def test_bad_operators_say_what_is_wrong(self):
        cases = {
            "colour:red": "There is no operator colour:",
            "has:pizza": "has: takes link, file, image",
            "is:starred": "is: takes mentioned",
            "before:yesterday": "before: takes a day as YYYY-MM-DD",
            "from:": "from: needs a value",
            "-before:2026-01-01": "before: cannot be negated",
            "after:2026-12-02 before:2026-12-01": "Nothing is both after and before",
            "x" * 501: "Searches are limited to 500 characters",
            " ".join(["w"] * 21): "at most 20",
        }
        for text, message in cases.items():
            with self.subTest(text=text[:40]):
                with self.assertRaises(BadQuery) as raised:
                    parse_query(text)
                self.assertIn(message, raised.exception.detail)


class SearchTestCase(TestCase):
    def setUp(self):
        cache.clear()  # rate limits
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.carol = make_user("carol")
        self.general = make_room("General")
        self.secret = make_room("Secret", is_private=True)
        for room in (self.general, self.secret):
            add_member(room, self.alice)
            add_member(room, self.bob)
        add_member(self.general, self.carol)

    def send(self, room, author, body, **fields) -> dict:
        data, _created = services.message_send(room=room, author=author, body=body, **fields)
        return data

    def found(self, user, q, **kwargs) -> list[int]:
        return [r["message"]["id"] for r in search_messages(user=user, q=q, **kwargs)["results"]]

    def test_words_find_messages_newest_first_with_highlights(self):
        first = self.send(self.general, self.alice, "Lunch at the **café** today?")
        second = self.send(self.general, self.bob, "lunch was great, thanks")
        self.send(self.general, self.bob, "nothing to see here")
        page = search_messages(user=self.carol, q="lunch")
        self.assertEqual([r["message"]["id"] for r in page["results"]], [second["id"], first["id"]])
        result = page["results"][1]
        self.assertEqual(result["room"]["slug"], "general")
        self.assertEqual(result["message"], first)
        self.assertIn("<mark>Lunch</mark> at the **café** today?", result["highlight"])
        # Accents and case fold; every word must be there.
        self.assertEqual(self.found(self.carol, "CAFE lunch"), [first["id"]])
        self.assertEqual(self.found(self.carol, "cafe dinner"), [])

    def test_phrases_exclusions_and_prefixes(self):
        noon = self.send(self.general, self.alice, "meet at noon for lunch")
        pizza = self.send(self.general, self.alice, "noon pizza lunch")
        later = self.send(self.general, self.alice, "lunch, at noon or later")
        self.assertEqual(self.found(self.bob, '"at noon"'), [later["id"], noon["id"]])
        self.assertEqual(self.found(self.bob, "lunch -pizza -later"), [noon["id"]])
        self.assertEqual(self.found(self.bob, 'lunch -"at noon"'), [pizza["id"]])
        self.assertEqual(self.found(self.bob, "piz*"), [pizza["id"]])
        # Only exclusions: everything readable but those.
        self.assertEqual(self.found(self.bob, "-noon"), [])
        self.assertEqual(self.found(self.bob, "in:general -pizza"), [later["id"], noon["id"]])

    def test_operators(self):
        link = self.send(self.general, self.alice, "see https://example.com and @bob")
        mention = self.send(self.general, self.carol, "@bob are you there")
        in_secret = self.send(self.secret, self.bob, "the plan is ready")
        self.assertEqual(self.found(self.bob, "from:alice"), [link["id"]])
        self.assertEqual(self.found(self.bob, "-from:alice in:general"), [mention["id"]])
        self.assertEqual(self.found(self.bob, "in:secret"), [in_secret["id"]])
        self.assertEqual(self.found(self.bob, "in:Secret plan"), [in_secret["id"]])
        self.assertEqual(self.found(self.bob, "has:link"), [link["id"]])
        self.assertEqual(self.found(self.bob, "is:mentioned"), [mention["id"], link["id"]])
        self.assertEqual(self.found(self.alice, "is:mentioned"), [])
        Message.objects.filter(pk=link["id"]).update(created_at=datetime(2026, 11, 15, tzinfo=UTC))
        self.assertEqual(self.found(self.bob, "before:2026-11-16"), [link["id"]])
        self.assertEqual(self.found(self.bob, "after:2026-11-15 from:alice"), [])
        self.assertEqual(self.found(self.bob, "after:2026-11-14 from:alice"), [link["id"]])

    def test_unknown_people_and_rooms_are_refused_clearly(self):
        for q, message in [
            ("from:nobody", "No one is called 'nobody'"),
            ("in:nowhere", "no room or conversation called 'nowhere'"),
        ]:
            with self.subTest(q=q), self.assertRaises(BadQuery) as raised:
                search_messages(user=self.carol, q=q)
            self.assertIn(message, raised.exception.detail)
        # A private room one can't read is no room to search, said the same way.
        with self.assertRaises(BadQuery):
            search_messages(user=self.carol, q="in:secret")

    def test_direct_conversations_by_the_other_persons_name(self):
        room, _created = services.direct_open(starter=self.alice, usernames=["carol"])
        said = self.send(room, self.carol, "just between us")
        self.send(self.general, self.carol, "just for everyone")
        self.assertEqual(self.found(self.alice, "just in:@carol"), [said["id"]])
        self.assertEqual(self.found(self.bob, "just"), [self.found(self.bob, "just")[0]])
        self.assertNotIn(said["id"], self.found(self.bob, "just"))

    def test_only_what_the_searcher_may_read_now(self):
        secret = self.send(self.secret, self.alice, "quarterly numbers")
        public = self.send(self.general, self.alice, "quarterly party")
        self.assertEqual(self.found(self.carol, "quarterly"), [public["id"]])
        self.assertEqual(self.found(self.bob, "quarterly"), [public["id"], secret["id"]])
        # Banned after the message was written: its room's messages are gone from search.
        Membership.objects.filter(room=self.secret, user=self.bob).update(banned=True)
        self.assertEqual(self.found(self.bob, "quarterly"), [public["id"]])
        # A public room one is banned from, too.
        Membership.objects.filter(room=self.general, user=self.carol).update(banned=True)
        self.assertEqual(self.found(self.carol, "quarterly"), [])
        # Someone who never joined a public room may still read it, and search it.
        dave = make_user("dave")
        self.assertEqual(self.found(dave, "quarterly"), [public["id"]])

    def test_edits_are_found_by_their_new_text_and_deletions_not_at_all(self):
        message = self.send(self.general, self.alice, "the old wording")
        services.message_edit(
            room=self.general, user=self.alice, message_id=message["id"], body="the new phrasing"
        )
        self.assertEqual(self.found(self.bob, "wording"), [])
        self.assertEqual(self.found(self.bob, "phrasing"), [message["id"]])
        services.message_delete(room=self.general, user=self.alice, message_id=message["id"])
        self.assertEqual(self.found(self.bob, "phrasing"), [])
        self.assertEqual(self.found(self.bob, "from:alice"), [])

    def test_keyset_pages(self):
        ids = [self.send(self.general, self.alice, f"report number {i}")["id"] for i in range(5)]
        cache.clear()
        first = search_messages(user=self.bob, q="report", limit=2)
        self.assertEqual([r["message"]["id"] for r in first["results"]], ids[:2:-1][:2])
        self.assertEqual(first["next"], ids[3])
        second = search_messages(user=self.bob, q="report", limit=2, before=first["next"])
        self.assertEqual([r["message"]["id"] for r in second["results"]], [ids[2], ids[1]])
        last = search_messages(user=self.bob, q="report", limit=2, before=second["next"])
        self.assertEqual(
            ([r["message"]["id"] for r in last["results"]], last["next"]), ([ids[0]], None)
        )

    def test_highlights_escape_the_text(self):
        self.send(self.general, self.alice, "if x < y & z then danger")
        self.send(self.general, self.alice, "<script>alert('x')</script> danger again")
        for result in search_messages(user=self.bob, q="danger")["results"]:
            self.assertNotIn("<script>", result["highlight"])
        highlights = [r["highlight"] for r in search_messages(user=self.bob, q="then")["results"]]
        self.assertEqual(highlights, ["if x &lt; y &amp; z <mark>then</mark> danger"])

    def test_deleting_a_room_takes_its_messages_out(self):
        self.send(self.general, self.alice, "farewell room")
        services.room_delete(room=self.general)
        self.assertEqual(self.found(self.alice, "farewell"), [])

    def test_rebuild_command(self):
        message = self.send(self.general, self.alice, "rebuilt index works")
        call_command("rebuild_search_index", verbosity=0)
        self.assertEqual(self.found(self.bob, "rebuilt"), [message["id"]])


class SearchApiTestCase(TestCase):
    def setUp(self):
        cache.clear()
        self.alice = make_user("alice")
        self.room = make_room("General")
        add_member(self.room, self.alice)
        self.client.force_login(self.alice)

    def test_results_and_next(self):
        for i in range(3):
            services.message_send(room=self.room, author=self.alice, body=f"hello {i}")
        response = self.client.get(reverse("chat:api_search"), {"q": "hello", "limit": 2})
        self.assertEqual(response.status_code, 200)
        page = response.json()
        self.assertEqual(len(page["results"]), 2)
        self.assertEqual(set(page["results"][0]), {"message", "room", "highlight"})
        more = self.client.get(reverse("chat:api_search"), {"q": "hello", "before": page["next"]})
        self.assertEqual(len(more.json()["results"]), 1)

    def test_bad_queries_are_400_with_a_sentence(self):
        for q in ["", "colour:red", "from:nobody"]:
            with self.subTest(q=q):
                response = self.client.get(reverse("chat:api_search"), {"q": q})
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json()["error"]["code"], "bad_query")
        response = self.client.get(reverse("chat:api_search"), {"q": "x", "before": "soon"})
        self.assertEqual(response.json()["error"]["code"], "bad_frame")

    def test_anonymous_is_401(self):
        self.client.logout()
        self.assertEqual(self.client.get(reverse("chat:api_search"), {"q": "x"}).status_code, 401)

    def test_before_and_limit_are_positive_integers(self):
        for query in ({"limit": "0"}, {"limit": "2.5"}, {"before": "-3"}, {"before": "1e3"}):
            with self.subTest(query=query):
                response = self.client.get(reverse("chat:api_search"), {"q": "x", **query})
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json()["error"]["code"], "bad_frame")
        # A page larger than the largest is the largest, not a refusal.
        response = self.client.get(reverse("chat:api_search"), {"q": "x", "limit": "500"})
        self.assertEqual(response.json(), {"results": [], "next": None})

    def test_the_schema_names_the_query_and_the_answer(self):
        schema = self.client.get("/api/schema/").json()
        search = schema["paths"]["/api/search/"]["get"]
        parameters = {p["name"]: p for p in search["parameters"] if p["in"] == "query"}
        self.assertEqual(set(parameters), {"q", "before", "limit"})
        self.assertFalse(any(p.get("required") for p in parameters.values()))
        answer = search["responses"]["200"]["content"]["application/json"]["schema"]
        name = answer["$ref"].rsplit("/", 1)[1]
        fields = schema["components"]["schemas"][name]["properties"]
        self.assertEqual(set(fields), {"results", "next"})


class IndexIsRealTestCase(TestCase):
    def test_the_database_uses_its_full_text_index(self):
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("SELECT name FROM sqlite_master WHERE name = 'chat_message_fts'")
            else:
                cursor.execute(
                    "SELECT indexname FROM pg_indexes WHERE indexname = 'message_body_search_idx'"
                )
            self.assertIsNotNone(cursor.fetchone())


class PageAroundTestCase(TestCase):
    """A history page around a message (where a search result opens the room), and the
    pages newer than a message, to scroll down from there."""

    def setUp(self):
        cache.clear()
        self.alice = make_user("alice")
        self.room = make_room("General")
        add_member(self.room, self.alice)
        self.ids = [m.pk for m in make_messages(self.room, self.alice, 30)]
        self.client.force_login(self.alice)

    def ids_of(self, page):
        return [m["id"] for m in page["messages"]]

    def test_around_a_message_half_before_half_after(self):
        target = self.ids[15]
        page = selectors.history_page(room=self.room, around=target, limit=10)
        self.assertEqual(self.ids_of(page), self.ids[11:21])
        self.assertEqual((page["has_more"], page["has_newer"]), (True, True))
        # Near either end: what there is, and no more that way.
        start = selectors.history_page(room=self.room, around=self.ids[1], limit=10)
        self.assertEqual(self.ids_of(start), self.ids[0:7])
        self.assertEqual((start["has_more"], start["has_newer"]), (False, True))
        end = selectors.history_page(room=self.room, around=self.ids[-1], limit=10)
        self.assertEqual(self.ids_of(end), self.ids[-5:])
        self.assertEqual((end["has_more"], end["has_newer"]), (True, False))

    def test_newer_pages_scroll_down_to_the_live_end(self):
        page = selectors.history_page(room=self.room, after=self.ids[9], limit=10)
        self.assertEqual((self.ids_of(page), page["has_newer"]), (self.ids[10:20], True))
        last = selectors.history_page(room=self.room, after=self.ids[19], limit=10)
        self.assertEqual((self.ids_of(last), last["has_newer"]), (self.ids[20:30], False))

    def test_another_rooms_message_is_not_found(self):
        other = make_room("Other")
        elsewhere = make_messages(other, self.alice, 1)[0]
        with self.assertRaises(errors.NotFound):
            selectors.history_page(room=self.room, around=elsewhere.pk)

    def test_the_http_api(self):
        url = reverse("chat:api_room_messages", args=["general"])
        page = self.client.get(url, {"around": self.ids[15], "limit": 4}).json()
        self.assertEqual(self.ids_of(page), self.ids[14:18])
        page = self.client.get(url, {"after": self.ids[27]}).json()
        self.assertEqual((self.ids_of(page), page["has_newer"]), (self.ids[28:], False))
        both = self.client.get(url, {"around": self.ids[3], "before": self.ids[9]})
        self.assertEqual((both.status_code, both.json()["error"]["code"]), (400, "bad_frame"))
        missing = self.client.get(url, {"around": 10**9})
        self.assertEqual(missing.status_code, 404)


class PageAroundSocketTestCase(SocketTestCase):
    def setUp(self):
        super().setUp()
        add_member(self.room, self.alice)
        self.ids = [m.pk for m in make_messages(self.room, self.alice, 12)]

    async def test_history_around_and_after_over_the_socket(self):
        alice, _ = await self.join(self.alice)
        await self.send(alice, type="history", around=self.ids[6], limit=4)
        page = await self.expect(alice, "history")
        self.assertEqual([m["id"] for m in page["messages"]], self.ids[5:9])
        self.assertEqual((page["has_more"], page["has_newer"]), (True, True))
        await self.send(alice, type="history", after=self.ids[8], limit=4)
        page = await self.expect(alice, "history")
        self.assertEqual(
            ([m["id"] for m in page["messages"]], page["has_newer"]), (self.ids[9:], False)
        )
        await self.send(alice, type="history", around=self.ids[6], after=1)
        await self.expect_error(alice, "bad_frame")
        await self.send(alice, type="history", around=10**9)
        await self.expect_error(alice, "not_found")
