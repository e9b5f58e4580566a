"""Chat's signals, each handed over to a service at once (in the sender's transaction)."""

from django.dispatch import receiver

from chat.signals import (
    direct_message_sent,
    invitation_changed,
    mentions_changed,
    message_deleted,
    reply_sent,
    room_deleting,
    room_read,
)

from . import services


@receiver(mentions_changed, dispatch_uid="notifications.mentions_changed")
def on_mentions_changed(sender, message, added, removed, **kwargs):
    if not added and not removed:
        return  # most messages mention no one: not even a savepoint for them
    services.notifications_update_mentions(message=message, added=added, removed=removed)


@receiver(room_read, dispatch_uid="notifications.room_read")
def on_room_read(sender, room, user, rev, **kwargs):
    services.notifications_mark_room_read(user=user, room=room, rev=rev)


@receiver(room_deleting, dispatch_uid="notifications.room_deleting")
def on_room_deleting(sender, room, **kwargs):
    services.notifications_withdraw_room(room=room)


@receiver(invitation_changed, dispatch_uid="notifications.invitation_changed")
def on_invitation_changed(sender, invitation, change, **kwargs):
    services.notifications_update_invitation(invitation=invitation, change=change)


@receiver(direct_message_sent, dispatch_uid="notifications.direct_message_sent")
def on_direct_message_sent(sender, message, **kwargs):
    services.notifications_notify_direct(message=message)


@receiver(reply_sent, dispatch_uid="notifications.reply_sent")
def on_reply_sent(sender, message, original, **kwargs):
    services.notifications_notify_reply(message=message, original_author_id=original.author_id)


@receiver(message_deleted, dispatch_uid="notifications.message_deleted")
def on_message_deleted(sender, message, **kwargs):
    if message.room.is_direct:  # only a conversation's messages have direct notifications
        services.notifications_follow_direct_deletion(message=message)
    if message.reply_to_id is not None:  # only a reply has a reply notification
        services.notifications_withdraw_reply(message=message)
