"""notifications.state.apply_event, the reference of how a client keeps its inbox."""

from django.test import SimpleTestCase

from notifications.state import apply_event


def item(notification_id: int, read: bool = False) -> dict:
    return {"id": notification_id, "kind": "mention", "read": read}


class ApplyEventTestCase(SimpleTestCase):
    def setUp(self):
        self.inbox = {"notifications": [item(5), item(3, read=True), item(2)], "unread": 2}

    def test_a_new_notification_goes_first_once(self):
        after = apply_event(self.inbox, "notification.new", {"notification": item(7), "unread": 3})
        self.assertEqual([n["id"] for n in after["notifications"]], [7, 5, 3, 2])
        again = apply_event(after, "notification.new", {"notification": item(7), "unread": 3})
        self.assertEqual(again, after)
        late = apply_event(after, "notification.new", {"notification": item(4), "unread": 4})
        self.assertEqual([n["id"] for n in late["notifications"]], [7, 5, 4, 3, 2])

    def test_removed(self):
        after = apply_event(self.inbox, "notification.removed", {"ids": [5, 99], "unread": 1})
        self.assertEqual(after, {"notifications": [item(3, read=True), item(2)], "unread": 1})

    def test_read_by_ids_and_all_up_to(self):
        by_ids = apply_event(self.inbox, "notifications.read", {"ids": [2], "unread": 1})
        self.assertEqual([n["read"] for n in by_ids["notifications"]], [False, True, True])
        marked = {"all": True, "up_to": 3, "unread": 1}
        up_to = apply_event(self.inbox, "notifications.read", marked)
        self.assertEqual([n["read"] for n in up_to["notifications"]], [False, True, True])
        self.assertEqual(up_to["unread"], 1)

    def test_leaves_the_snapshot_alone_and_ignores_unknown_kinds(self):
        before = {"notifications": [dict(n) for n in self.inbox["notifications"]], "unread": 2}
        apply_event(self.inbox, "notifications.read", {"all": True, "up_to": 5, "unread": 0})
        self.assertEqual(self.inbox, before)
        self.assertIs(apply_event(self.inbox, "something.else", {"unread": 9}), self.inbox)

    def test_updated_replaces_the_one_held_and_adds_none(self):
        answered = {**item(3, read=True), "invitation": {"id": 1, "status": "accepted"}}
        after = apply_event(
            self.inbox, "notification.updated", {"notification": answered, "unread": 2}
        )
        self.assertEqual(after["notifications"], [item(5), answered, item(2)])
        elsewhere = {**item(9, read=True), "invitation": {"id": 2, "status": "declined"}}
        after = apply_event(
            self.inbox, "notification.updated", {"notification": elsewhere, "unread": 1}
        )
        self.assertEqual(after, {**self.inbox, "unread": 1})
