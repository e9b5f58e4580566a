"""Invitations and invite links: the services, the HTTP API, and the tab socket.

Each flow of issue 14's "Invitations", with its refusals: inviting into a room one can't
moderate, accepting a revoked or expired invitation, a banned person's invitation doing
nothing, links expired, used up or revoked, re-inviting, declining, revoking.
"""

import json
from datetime import timedelta

from channels.db import database_sync_to_async
from django.core.cache import cache
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from chat import errors, events, services
from chat.models import Invitation, InviteLink, Membership
from notifications.models import Notification

from .factories import add_member, make_message, make_room, make_user
from .test_tab_socket import TabTestCase

Role = Membership.Role
Status = Invitation.Status


class InvitationTestCase(TestCase):
    def setUp(self):
        cache.clear()  # rate-limit buckets (joining)
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.carol = make_user("carol")
        self.secret = make_room("Secret", is_private=True)
        add_member(self.secret, self.alice, role=Role.OWNER)
        add_member(self.secret, self.carol)

    def invite(self, username="bob", *, inviter=None, room=None):
        with self.captureOnCommitCallbacks(execute=True):
            return services.invitation_create(
                room=room or self.secret, inviter=inviter or self.alice, invitee_username=username
            )

    def captured(self, action):
        """Run `action` and return (its result, the kinds of events sent, by audience)."""
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            result = action()
        return result, [(event.kind, event.audience) for event in sent]

    def notifications(self, user):
        return list(Notification.objects.filter(user=user, kind=Notification.Kind.INVITATION))


class InviteTests(InvitationTestCase):
    def test_an_owner_invites_and_the_invitee_is_notified_live(self):
        invitation, sent = self.captured(
            lambda: services.invitation_create(
                room=self.secret, inviter=self.alice, invitee_username="bob"
            )
        )
        self.assertEqual(invitation.status, Status.PENDING)
        self.assertEqual((invitation.inviter, invitation.invitee), (self.alice, self.bob))
        [notification] = self.notifications(self.bob)
        self.assertEqual(notification.reason, "@alice invited you to #Secret")
        self.assertEqual(notification.invitation, invitation)
        # The invitee hears of it, and so does the list of the room's pending invitations.
        self.assertEqual(
            sent,
            [
                ("notification.new", events.to_users([self.bob.pk])),
                ("invitation.updated", events.to_users([self.alice.pk])),
            ],
        )
        self.assertFalse(Membership.objects.filter(room=self.secret, user=self.bob).exists())

    def test_inviting_into_a_private_room_one_cannot_moderate_is_forbidden(self):
        with self.assertRaises(errors.Forbidden):
            self.invite(inviter=self.carol)  # a plain member
        outsider = make_user("dave")
        with self.assertRaises(errors.Forbidden):
            self.invite(inviter=outsider)
        self.assertFalse(Invitation.objects.exists())
        self.assertEqual(self.notifications(self.bob), [])

    def test_moderators_staff_and_members_of_a_public_room_may_invite(self):
        mod = make_user("mod")
        add_member(self.secret, mod, role=Role.MODERATOR)
        self.assertEqual(self.invite("bob", inviter=mod).inviter, mod)
        staff = make_user("staff", is_staff=True)
        self.assertEqual(self.invite("carol", inviter=staff, room=make_room("Open")).inviter, staff)
        lobby = make_room("Lobby")
        add_member(lobby, self.carol)
        self.assertEqual(self.invite("bob", inviter=self.carol, room=lobby).room, lobby)

    def test_unknown_inactive_and_members_are_refused(self):
        with self.assertRaises(errors.NotFound):
            self.invite("nobody")
        gone = make_user("gone")
        gone.is_active = False
        gone.save()
        with self.assertRaises(errors.NotFound):
            self.invite("gone")
        with self.assertRaises(errors.AlreadyMember):
            self.invite("carol")

    def test_inviting_again_returns_the_pending_invitation_and_notifies_once(self):
        first = self.invite()
        second, sent = self.captured(
            lambda: services.invitation_create(
                room=self.secret, inviter=self.alice, invitee_username="bob"
            )
        )
        self.assertEqual(second.pk, first.pk)
        self.assertEqual(sent, [])
        self.assertEqual(len(self.notifications(self.bob)), 1)

    def test_inviting_someone_banned_does_nothing_and_tells_nobody(self):
        add_member(self.secret, self.bob, banned=True)
        invitation, sent = self.captured(
            lambda: services.invitation_create(
                room=self.secret, inviter=self.alice, invitee_username="bob"
            )
        )
        self.assertEqual(invitation.status, Status.PENDING)  # answered as if sent
        self.assertIsNone(invitation.pk)
        self.assertEqual(sent, [])
        self.assertFalse(Invitation.objects.exists())
        self.assertEqual(self.notifications(self.bob), [])


class AnswerTests(InvitationTestCase):
    def test_accepting_joins_live_and_marks_the_notification_read(self):
        make_message(self.secret, self.alice, "before bob")
        invitation = self.invite()
        membership, sent = self.captured(
            lambda: services.invitation_accept(invitation=invitation, user=self.bob)
        )
        self.assertEqual(membership.role, Role.MEMBER)
        self.secret.refresh_from_db()
        self.assertEqual(membership.last_read_rev, self.secret.rev)  # history starts read
        invitation.refresh_from_db()
        self.assertEqual(invitation.status, Status.ACCEPTED)
        self.assertIsNotNone(invitation.answered_at)
        [notification] = self.notifications(self.bob)
        self.assertTrue(notification.is_read)
        kinds = [kind for kind, _audience in sent]
        self.assertIn(("member.updated", events.to_room(self.secret.pk)), sent)
        self.assertIn(("room.joined", events.to_users([self.bob.pk])), sent)
        self.assertIn(("notification.updated", events.to_users([self.bob.pk])), sent)
        self.assertNotIn("notification.new", kinds)

    def test_only_the_invitee_may_answer(self):
        invitation = self.invite()
        with self.assertRaises(errors.NotFound):
            services.invitation_accept(invitation=invitation, user=self.carol)
        with self.assertRaises(errors.NotFound):
            services.invitation_decline(invitation=invitation, user=self.alice)

    def test_accepting_a_revoked_invitation_is_refused(self):
        invitation = self.invite()
        with self.captureOnCommitCallbacks(execute=True):
            services.invitation_revoke(invitation=invitation, actor=self.alice)
        with self.assertRaisesMessage(errors.Closed, "already revoked"):
            services.invitation_accept(invitation=invitation, user=self.bob)
        self.assertFalse(Membership.objects.filter(room=self.secret, user=self.bob).exists())

    def test_accepting_an_expired_invitation_is_refused(self):
        invitation = self.invite()
        Invitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        with self.assertRaisesMessage(errors.Expired, "expired"):
            services.invitation_accept(invitation=invitation, user=self.bob)
        self.assertFalse(Membership.objects.filter(room=self.secret, user=self.bob).exists())
        # Inviting again replaces the expired one and notifies again.
        again = self.invite()
        self.assertNotEqual(again.pk, invitation.pk)
        invitation.refresh_from_db()
        self.assertEqual(invitation.status, Status.REVOKED)
        self.assertEqual([n.invitation_id for n in self.notifications(self.bob)], [again.pk])

    def test_accepting_after_being_banned_is_refused(self):
        invitation = self.invite()
        add_member(self.secret, self.bob, banned=True)
        with self.assertRaises(errors.Forbidden):
            services.invitation_accept(invitation=invitation, user=self.bob)
        self.assertTrue(Membership.objects.get(room=self.secret, user=self.bob).banned)

    def test_declining_closes_it_and_reads_the_notification(self):
        invitation = self.invite()
        _, sent = self.captured(
            lambda: services.invitation_decline(invitation=invitation, user=self.bob)
        )
        invitation.refresh_from_db()
        self.assertEqual(invitation.status, Status.DECLINED)
        self.assertTrue(self.notifications(self.bob)[0].is_read)
        self.assertEqual(
            sent,
            [
                ("notification.updated", events.to_users([self.bob.pk])),
                ("invitation.updated", events.to_users([self.alice.pk])),
            ],
        )
        with self.assertRaises(errors.Closed):
            services.invitation_accept(invitation=invitation, user=self.bob)

    def test_revoking_withdraws_the_notification(self):
        invitation = self.invite()
        [notification] = self.notifications(self.bob)
        _, sent = self.captured(
            lambda: services.invitation_revoke(invitation=invitation, actor=self.alice)
        )
        self.assertEqual(
            sent,
            [
                ("notification.removed", events.to_users([self.bob.pk])),
                ("invitation.updated", events.to_users([self.alice.pk])),
            ],
        )
        self.assertFalse(Notification.objects.filter(pk=notification.pk).exists())

    def test_who_may_revoke(self):
        invitation = self.invite()
        with self.assertRaises(errors.Forbidden):
            services.invitation_revoke(invitation=invitation, actor=self.carol)
        with self.assertRaises(errors.NotFound):  # a stranger does not learn of the room
            services.invitation_revoke(invitation=invitation, actor=make_user("dave"))
        mod = make_user("mod")
        add_member(self.secret, mod, role=Role.MODERATOR)
        with self.captureOnCommitCallbacks(execute=True):
            services.invitation_revoke(invitation=invitation, actor=mod)
        with self.assertRaises(errors.Closed):
            services.invitation_revoke(invitation=invitation, actor=self.alice)


class InviteLinkTests(InvitationTestCase):
    def link(self, **options):
        return services.invite_link_create(room=self.secret, actor=self.alice, **options)

    def follow(self, link, user):
        with events.captured_events() as sent, self.captureOnCommitCallbacks(execute=True):
            room = services.invite_link_follow(token=link.token, user=user)
        return room, [event.kind for event in sent]

    def test_following_a_link_joins_live_and_counts_a_use(self):
        link = self.link(expires_in_hours=24, max_uses=5)
        self.assertGreaterEqual(len(link.token), 32)
        room, kinds = self.follow(link, self.bob)
        self.assertEqual(room, self.secret)
        self.assertTrue(Membership.objects.filter(room=self.secret, user=self.bob).exists())
        self.assertIn("room.joined", kinds)
        self.assertIn("member.updated", kinds)
        link.refresh_from_db()
        self.assertEqual(link.uses, 1)
        # A member following it again just gets the room; no use is counted.
        self.assertEqual(self.follow(link, self.bob), (self.secret, []))
        link.refresh_from_db()
        self.assertEqual(link.uses, 1)

    def test_only_those_who_moderate_make_or_revoke_links(self):
        with self.assertRaises(errors.Forbidden):
            services.invite_link_create(room=self.secret, actor=self.carol)
        link = self.link()
        with self.assertRaises(errors.Forbidden):
            services.invite_link_revoke(link=link, actor=self.carol)
        self.assertIsNone(link.expires_at)
        self.assertIsNone(link.max_uses)

    def test_bad_limits_are_refused(self):
        for options in ({"max_uses": 0}, {"expires_in_hours": -1}, {"max_uses": "3"}):
            with self.subTest(options), self.assertRaises(errors.Invalid):
                self.link(**options)

    def test_an_expired_link_is_refused(self):
        link = self.link(expires_in_hours=1)
        InviteLink.objects.filter(pk=link.pk).update(expires_at=timezone.now())
        with self.assertRaises(errors.Expired):
            services.invite_link_follow(token=link.token, user=self.bob)

    def test_a_used_up_link_is_refused(self):
        link = self.link(max_uses=1)
        self.follow(link, self.bob)
        with self.assertRaisesMessage(errors.Closed, "used up"):
            services.invite_link_follow(token=link.token, user=make_user("dave"))

    def test_a_revoked_link_is_refused(self):
        link = self.link()
        services.invite_link_revoke(link=link, actor=self.alice)
        with self.assertRaisesMessage(errors.Closed, "revoked"):
            services.invite_link_follow(token=link.token, user=self.bob)

    def test_someone_banned_cannot_join_by_link(self):
        link = self.link()
        add_member(self.secret, self.bob, banned=True)
        with self.assertRaises(errors.Forbidden):
            services.invite_link_follow(token=link.token, user=self.bob)
        link.refresh_from_db()
        self.assertEqual(link.uses, 0)

    def test_an_unknown_token_is_not_found(self):
        with self.assertRaises(errors.NotFound):
            services.invite_link_follow(token="nope", user=self.bob)


class InvitationApiTests(InvitationTestCase):
    def setUp(self):
        super().setUp()
        self.as_alice, self.as_bob, self.as_carol = Client(), Client(), Client()
        self.as_alice.force_login(self.alice)
        self.as_bob.force_login(self.bob)
        self.as_carol.force_login(self.carol)

    def post(self, client, url, body=None):
        return client.post(url, json.dumps(body or {}), content_type="application/json")

    def invitations_url(self, slug="secret"):
        return reverse("chat:api_room_invitations", kwargs={"slug": slug})

    def test_invite_list_accept(self):
        response = self.post(self.as_alice, self.invitations_url(), {"username": "bob"})
        self.assertEqual(response.status_code, 201, response.content)
        invitation = response.json()["invitation"]
        self.assertEqual(invitation["invitee"]["username"], "bob")
        self.assertEqual(invitation["inviter"]["username"], "alice")
        self.assertEqual(invitation["room"], {"slug": "secret", "name": "Secret"})
        self.assertEqual(invitation["status"], "pending")

        pending = self.as_alice.get(self.invitations_url()).json()["invitations"]
        self.assertEqual([item["id"] for item in pending], [invitation["id"]])
        mine = self.as_bob.get(reverse("chat:api_invitations")).json()["invitations"]
        self.assertEqual([item["id"] for item in mine], [invitation["id"]])
        self.assertEqual(set(mine[0]), set(invitation))

        inbox = self.as_bob.get(reverse("notifications:api_notifications")).json()
        self.assertEqual(
            inbox["notifications"][0]["invitation"], {"id": invitation["id"], "status": "pending"}
        )

        url = reverse("chat:api_invitation_accept", kwargs={"invitation_id": invitation["id"]})
        answer = self.post(self.as_bob, url)
        self.assertEqual(answer.status_code, 200, answer.content)
        self.assertEqual(answer.json()["room"]["url"], self.secret.get_absolute_url())
        self.assertEqual(answer.json()["invitation"]["status"], "accepted")
        self.assertEqual(self.as_bob.get(self.secret.get_absolute_url()).status_code, 200)
        self.assertEqual(
            self.as_bob.get(reverse("chat:api_invitations")).json(), {"invitations": []}
        )
        inbox = self.as_bob.get(reverse("notifications:api_notifications")).json()
        self.assertEqual(inbox["notifications"][0]["invitation"]["status"], "accepted")
        self.assertEqual(inbox["unread"], 0)

        again = self.post(self.as_bob, url)
        self.assertEqual(again.status_code, 400)
        self.assertEqual(again.json()["error"]["code"], "closed")

    def test_refusals_as_json(self):
        cases = [
            (self.as_carol, self.invitations_url(), {"username": "bob"}, 403, "forbidden"),
            (self.as_bob, self.invitations_url(), {"username": "bob"}, 404, "not_found"),
            (self.as_alice, self.invitations_url(), {"username": "nobody"}, 404, "not_found"),
            (self.as_alice, self.invitations_url(), {"username": "carol"}, 400, "already_member"),
            (self.as_alice, self.invitations_url(), {"username": 5}, 400, "bad_frame"),
            (self.as_alice, self.invitations_url(), {}, 400, "bad_frame"),
        ]
        for client, url, body, status, code in cases:
            with self.subTest(body=body, status=status):
                response = self.post(client, url, body)
                self.assertEqual(response.status_code, status, response.content)
                self.assertEqual(response.json()["error"]["code"], code)
        self.assertEqual(self.as_carol.get(self.invitations_url()).status_code, 403)
        self.assertEqual(Client().get(reverse("chat:api_invitations")).status_code, 401)

    def test_decline_and_revoke(self):
        first = self.post(self.as_alice, self.invitations_url(), {"username": "bob"}).json()
        invitation_id = first["invitation"]["id"]
        decline = reverse("chat:api_invitation_decline", kwargs={"invitation_id": invitation_id})
        self.assertEqual(self.post(self.as_carol, decline).status_code, 404)
        response = self.post(self.as_bob, decline)
        self.assertEqual(response.json()["invitation"]["status"], "declined")

        second = self.post(self.as_alice, self.invitations_url(), {"username": "bob"}).json()
        invitation_id = second["invitation"]["id"]
        url = reverse("chat:api_invitation", kwargs={"invitation_id": invitation_id})
        response = self.as_alice.delete(url)
        self.assertEqual(response.json()["invitation"]["status"], "revoked")
        self.assertFalse(Notification.objects.filter(invitation_id=invitation_id).exists())

    def test_links_api_and_the_join_page(self):
        url = reverse("chat:api_room_invite_links", kwargs={"slug": "secret"})
        response = self.post(self.as_alice, url, {"expires_in_hours": 2, "max_uses": 1})
        self.assertEqual(response.status_code, 201, response.content)
        link = response.json()["link"]
        self.assertEqual((link["max_uses"], link["uses"], link["revoked"]), (1, 0, False))
        self.assertTrue(link["url"].startswith("http://testserver/join/"))
        self.assertEqual(
            [item["id"] for item in self.as_alice.get(url).json()["links"]], [link["id"]]
        )
        self.assertEqual(self.as_carol.get(url).status_code, 403)
        self.assertEqual(self.post(self.as_carol, url).status_code, 403)
        bad = self.post(self.as_alice, url, {"max_uses": 0})
        self.assertEqual(bad.json()["error"]["code"], "bad_frame")

        anonymous = Client().get(link["path"])
        self.assertEqual(anonymous.status_code, 302)
        self.assertIn(f"next={link['path']}", anonymous["Location"].replace("%2F", "/"))
        page = self.as_bob.get(link["path"])
        self.assertContains(page, "Join Secret")
        joined = self.as_bob.post(link["path"])
        self.assertRedirects(joined, self.secret.get_absolute_url())
        used_up = make_user("dave")
        as_dave = Client()
        as_dave.force_login(used_up)
        self.assertContains(as_dave.get(link["path"]), "used up")
        self.assertContains(as_dave.post(link["path"]), "used up", status_code=400)
        self.assertEqual(self.as_bob.get("/join/unknown-token/").status_code, 404)

        revoke = reverse("chat:api_invite_link_revoke", kwargs={"link_id": link["id"]})
        self.assertEqual(self.post(self.as_carol, revoke).status_code, 403)
        self.assertTrue(self.post(self.as_alice, revoke).json()["link"]["revoked"])
        self.assertEqual(self.as_alice.get(url).json()["links"], [])

    def test_people_search(self):
        make_user("bobby")
        make_user("Boris")
        inactive = make_user("bobo")
        inactive.is_active = False
        inactive.save()
        url = reverse("chat:api_users")
        names = [user["username"] for user in self.as_alice.get(url, {"q": "bo"}).json()["users"]]
        self.assertEqual(names, ["bob", "bobby", "Boris"])
        names = [user["username"] for user in self.as_bob.get(url, {"q": "BO"}).json()["users"]]
        self.assertEqual(names, ["bobby", "Boris"])  # never oneself
        self.assertEqual(self.as_alice.get(url).json(), {"users": []})
        for index in range(12):
            make_user(f"zed{index:02d}")
        self.assertEqual(len(self.as_alice.get(url, {"q": "zed"}).json()["users"]), 10)


class InvitationSchemaTests(InvitationTestCase):
    """The bodies and query strings as the OpenAPI schema declares and checks them."""

    def setUp(self):
        super().setUp()
        self.client.force_login(self.alice)
        self.links_url = reverse("chat:api_room_invite_links", kwargs={"slug": "secret"})

    def post_raw(self, url, raw, content_type="application/json"):
        return self.client.post(url, raw, content_type=content_type)

    def assertRefused(self, response, code="bad_frame"):
        self.assertEqual(response.status_code, 400, response.content)
        self.assertEqual(response.json()["error"]["code"], code)
        return response.json()["error"]["detail"]

    def test_a_username_of_another_type_is_refused_and_nobody_invited(self):
        url = reverse("chat:api_room_invitations", kwargs={"slug": "secret"})
        for body in ({"username": ["bob"]}, {"username": None}, {"name": "bob"}):
            with self.subTest(body=body):
                detail = self.assertRefused(self.post_raw(url, json.dumps(body)))
                self.assertEqual(detail, "'username' must be a string.")
        self.assertRefused(self.post_raw(url, b""), "bad_json")  # the body is required
        self.assertFalse(Invitation.objects.exists())

    def test_inviting_someone_banned_answers_an_invitation_never_stored(self):
        add_member(self.secret, self.bob, banned=True)
        url = reverse("chat:api_room_invitations", kwargs={"slug": "secret"})
        response = self.post_raw(url, json.dumps({"username": "bob"}))
        self.assertEqual(response.status_code, 201, response.content)
        invitation = response.json()["invitation"]
        self.assertEqual((invitation["id"], invitation["created_at"]), (None, None))
        self.assertEqual(invitation["status"], "pending")
        self.assertFalse(Invitation.objects.exists())

    def test_link_limits_are_json_integers_and_unknown_fields_are_refused(self):
        for body in ({"max_uses": "3"}, {"expires_in_hours": True}, {"max_uses": 10_001}):
            with self.subTest(body=body):
                detail = self.assertRefused(self.post_raw(self.links_url, json.dumps(body)))
                self.assertIn("must be null or an integer from 1 to", detail)
        detail = self.assertRefused(self.post_raw(self.links_url, json.dumps({"max_use": 3})))
        self.assertEqual(detail, "Unknown field max_use.")
        for raw in (b"[]", b"null"):  # a JSON null is no object, nor an absent body
            self.assertRefused(self.post_raw(self.links_url, raw))
        self.assertFalse(InviteLink.objects.exists())

    def test_a_link_without_a_body_has_no_limits(self):
        for response in (
            self.post_raw(self.links_url, b""),
            self.client.generic("POST", self.links_url),  # no body, no content type
            self.post_raw(self.links_url, json.dumps({"expires_in_hours": None})),
        ):
            with self.subTest(response=response):
                self.assertEqual(response.status_code, 201, response.content)
                link = response.json()["link"]
                self.assertEqual((link["expires_at"], link["max_uses"]), (None, None))
        self.assertEqual(InviteLink.objects.count(), 3)

    def test_a_people_search_prefix_is_at_most_150_characters(self):
        url = reverse("chat:api_users")
        detail = self.assertRefused(self.client.get(url, {"q": "b" * 151}))
        self.assertEqual(detail, "'q' is at most 150 characters.")
        # Spaces around it do not count (nor does anyone match them).
        answer = self.client.get(url, {"q": "  bo  "}).json()
        self.assertEqual([user["username"] for user in answer["users"]], ["bob"])

    def test_the_schema_names_the_fields(self):
        schema = self.client.get("/api/schema/").json()
        components = schema["components"]["schemas"]

        def body_of(path):
            content = schema["paths"][path]["post"]["requestBody"]["content"]
            found = content["application/json"]["schema"]
            ref = found["$ref"] if "$ref" in found else found["allOf"][0]["$ref"]
            return components[ref.rsplit("/", 1)[1]]

        invite = body_of("/api/rooms/{slug}/invitations/")
        self.assertEqual(
            (list(invite["properties"]), invite["required"]), (["username"], ["username"])
        )
        links = "/api/rooms/{slug}/invite-links/"
        self.assertFalse(schema["paths"][links]["post"]["requestBody"].get("required", False))
        options = body_of(links)
        self.assertEqual(set(options["properties"]), {"expires_in_hours", "max_uses"})
        self.assertIs(options["additionalProperties"], False)
        parameters = schema["paths"]["/api/users/"]["get"]["parameters"]
        self.assertEqual([(p["name"], p["in"]) for p in parameters], [("q", "query")])


class InvitationTabTests(TabTestCase):
    def setUp(self):
        super().setUp()
        self.secret = make_room("Secret", is_private=True)
        add_member(self.secret, self.alice, role=Role.OWNER)

    async def until(self, socket, kind):
        frames = []
        while not frames or frames[-1]["type"] != kind:
            frames.append(await socket.receive_json_from(timeout=1))
        return frames

    async def test_the_invitee_is_notified_joins_on_accepting_and_hears_the_room(self):
        tab, hello = await self.open_tab(self.bob)
        invitation = await database_sync_to_async(services.invitation_create)(
            room=self.secret, inviter=self.alice, invitee_username="bob"
        )
        frames = await self.until(tab, "notification.new")
        notification = frames[-1]["notification"]
        self.assertEqual(notification["kind"], "invitation")
        self.assertEqual(notification["invitation"], {"id": invitation.pk, "status": "pending"})
        self.assertEqual(frames[-1]["unread"], 1)

        await database_sync_to_async(services.invitation_accept)(
            invitation=invitation, user=self.bob
        )
        frames += await self.until(tab, "room.joined")
        self.assertEqual(frames[-1]["room"]["slug"], "secret")
        await database_sync_to_async(services.message_send)(
            room=self.secret, author=self.alice, body="welcome bob"
        )
        frames += await self.until(tab, "message.new")
        self.assertEqual(frames[-1]["message"]["body"], "welcome bob")
        await self.assertCurrent(self.bob, hello, frames)
        updated = [frame for frame in frames if frame["type"] == "notification.updated"]
        self.assertEqual(updated[0]["notification"]["invitation"]["status"], "accepted")


class InvitationAdminTests(InvitationTestCase):
    def test_staff_read_both_lists_and_revoke_links(self):
        link = services.invite_link_create(room=self.secret, actor=self.alice)
        self.invite()
        staff = make_user("staff", is_staff=True, is_superuser=True)
        admin = Client()
        admin.force_login(staff)
        invitations = admin.get(reverse("admin:chat_invitation_changelist"))
        self.assertContains(invitations, "bob")
        links_url = reverse("admin:chat_invitelink_changelist")
        self.assertNotContains(admin.get(links_url), link.token)
        response = admin.post(
            links_url, {"action": "revoke", "_selected_action": [link.pk]}, follow=True
        )
        self.assertContains(response, "Revoked 1 invite link")
        link.refresh_from_db()
        self.assertIsNotNone(link.revoked_at)
        self.assertEqual(admin.get(reverse("admin:chat_invitation_add")).status_code, 403)
