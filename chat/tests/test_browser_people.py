"""People in real browsers: alice has a display name; bob sees it on her messages and in
the member list, opens her profile card from either (mouse or keyboard), and messages her
from it. A change of name reaches his member list live.

The live server is another process: what must reach open sockets goes through the pages,
never the ORM of this process (set-up before any page opens is fine).
"""

import re

from django.urls import reverse

from chat import services
from chat.models import Membership, Room

from .test_browser import TIMEOUT_MS, BrowserTestCase

# The product's promise: what happens elsewhere shows within a second.
WITHIN_MS = 1000


class ProfileCardInBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        Membership.objects.get_or_create(room=self.room, user=self.bob)
        services.profile_update(user=self.alice, display_name="Alice Liddell")
        services.message_send(room=self.room, author=self.alice, body="hello from alice")

    def card(self, page):
        """The open profile card, once its answer has come."""
        card = page.locator(".profile-card[role=dialog]")
        card.locator(".profile-card-section").wait_for()
        return card

    def focus_is_in_card(self, page) -> bool:
        return page.evaluate("document.activeElement?.closest('.profile-card') !== null")

    def test_bob_opens_alices_card_from_her_message_and_messages_her(self):
        alice = self.open_room_as(self.alice)
        bob = self.open_room_as(self.bob)

        # Her message, rendered by the server and taken over by the page, names her.
        message = bob.locator('[data-js="messages"] li[data-author="alice"]')
        author = message.locator(".message-author")
        self.assertEqual(author.text_content(), "Alice Liddell")
        self.assertEqual(message.locator(".message-handle").text_content(), "@alice")
        self.assertEqual(author.get_attribute("title"), "@alice")

        author.click()
        card = self.card(bob)
        self.assertEqual(card.locator(".profile-card-name").text_content(), "Alice Liddell")
        self.assertEqual(card.locator(".profile-card-handle").text_content(), "@alice")
        self.assertRegex(card.locator(".profile-card-joined").text_content(), r"^Joined ")
        rooms = card.locator(".profile-card-room")
        self.assertEqual(rooms.all_text_contents(), ["#Lobby"])
        self.assertEqual(rooms.first.get_attribute("href"), self.room.get_absolute_url())
        self.assertEqual(card.get_by_role("link", name="Edit your profile").count(), 0)
        self.assertTrue(self.focus_is_in_card(bob))

        # Escape closes it and gives the focus back to her name; Enter opens it again.
        bob.keyboard.press("Escape")
        card.wait_for(state="detached")
        self.assertEqual(bob.evaluate("document.activeElement.dataset.profile"), "alice")
        bob.keyboard.press("Enter")
        card = self.card(bob)
        # A click elsewhere closes it too.
        bob.locator("#room-name").click()
        card.wait_for(state="detached")

        author.click()
        self.card(bob).get_by_role("button", name="Message", exact=True).click()
        bob.wait_for_url(re.compile(r"/rooms/dm-[0-9a-f]+/$"))
        self.wait_until_live(bob)
        conversation = Room.objects.get(kind=Room.Kind.DIRECT)
        self.assertEqual(bob.url, f"{self.live_server_url}{conversation.get_absolute_url()}")
        self.assertEqual(bob.locator('[data-js="room-name"]').text_content(), "Alice Liddell")
        listed = bob.locator(f'.sidebar-direct [data-unread-slug="{conversation.slug}"]')
        self.assertEqual(listed.locator(".sidebar-room-name").text_content(), "Alice Liddell")

        self.type_and_send(bob, "hello Alice, in private")
        self.shown_message(bob, "hello Alice, in private").wait_for()
        # Alice's sidebar lists the conversation by bob's name, live.
        entry = alice.locator(f'.sidebar-direct [data-unread-slug="{conversation.slug}"]')
        entry.locator(".badge-unread").wait_for(timeout=WITHIN_MS * 3)
        self.assertEqual(entry.locator(".sidebar-room-name").text_content(), "bob")

        # Her card, from inside the conversation, has nowhere else to send him.
        bob.locator("#room-name").click()
        bob.locator('.member-list li.member[data-username="alice"] .member-name').click()
        card = self.card(bob)
        self.assertEqual(card.get_by_role("button", name="Message").count(), 0)
        self.assertEqual(self.problems, [])

    def test_the_member_list_opens_cards_and_follows_a_change_of_name(self):
        bob = self.open_room_as(self.bob)
        members = bob.locator('[data-js="member-list"]')
        alice_item = members.locator('li.member[data-username="alice"]')
        alice_item.locator(".member-name", has_text="Alice Liddell").wait_for()
        self.assertEqual(alice_item.locator(".member-handle").text_content(), "@alice")

        alice_item.locator(".member-name").click()
        card = self.card(bob)
        self.assertEqual(card.locator(".profile-card-handle").text_content(), "@alice")
        self.assertEqual(card.locator(".profile-card-room").all_text_contents(), ["#Lobby"])
        self.assertEqual(card.get_by_role("button", name="Message").count(), 1)
        bob.keyboard.press("Escape")  # the card lies over the names below hers
        card.wait_for(state="detached")

        # My own card: no Message, and the way to edit it.
        members.locator('li.member[data-username="bob"] .member-name').click()
        card = self.card(bob)
        self.assertEqual(card.locator(".profile-card-handle").text_content(), "@bob")
        self.assertEqual(card.get_by_role("button", name="Message").count(), 0)
        edit = card.get_by_role("link", name="Edit your profile")
        self.assertEqual(edit.get_attribute("href"), reverse("chat:profile_settings"))
        bob.keyboard.press("Escape")
        card.wait_for(state="detached")

        # Alice renames herself on her settings page: bob's list and her message there
        # say so at once.
        alice = self.signed_in_context(self.alice).new_page()
        alice.set_default_timeout(TIMEOUT_MS)
        alice.goto(f"{self.live_server_url}{reverse('chat:profile_settings')}")
        alice.fill("#id_display_name", "Alice L.")
        alice.get_by_role("button", name="Save profile").click()
        alice.wait_for_load_state()
        alice_item.locator(".member-name", has_text="Alice L.").wait_for(timeout=WITHIN_MS * 3)
        author = bob.locator('[data-js="messages"] li[data-author="alice"] .message-author')
        self.assertEqual(author.text_content(), "Alice L.")
        self.assertEqual(self.problems, [])
