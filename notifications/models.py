"""The inbox: what someone was notified of, by whom, where, and why."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Announcement(models.Model):
    """What staff tell everyone, or one room's members: each gets it as a notification."""

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="announcements",
    )
    room = models.ForeignKey(
        "chat.Room",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Empty: everyone. Otherwise the room's members.",
    )
    body = models.TextField(max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return self.body if len(self.body) <= 60 else f"{self.body[:59]}…"


class Notification(models.Model):
    class Kind(models.TextChoices):
        MENTION = "mention", "Mention"
        ROOM_MENTION = "room_mention", "@room mention"
        HERE_MENTION = "here_mention", "@here mention"
        REPLY = "reply", "Reply"
        INVITATION = "invitation", "Invitation"
        ANNOUNCEMENT = "announcement", "Announcement"
        MODERATION = "moderation", "Moderation"
        DIRECT = "direct", "Direct message"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications_caused",
    )
    room = models.ForeignKey(
        "chat.Room", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    message = models.ForeignKey(
        "chat.Message",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    announcement = models.ForeignKey(
        Announcement,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    invitation = models.ForeignKey(
        "chat.Invitation",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    # Written when the notification is made, so it still says why after renames.
    reason = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # One notification per person per message: an edit never notifies twice.
            models.UniqueConstraint(
                fields=["user", "message"],
                condition=Q(message__isnull=False),
                name="notification_unique_user_message",
            ),
        ]
        indexes = [
            # The inbox, newest first, paged by id.
            models.Index(fields=["user", "-id"], name="notification_user_id_idx"),
            # The unread count reads only the unread rows.
            models.Index(
                fields=["user"],
                condition=Q(read_at__isnull=True),
                name="notification_user_unread_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.user_id}: {self.reason}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class Level(models.TextChoices):
    """How much of a room's traffic someone wants to hear of."""

    ALL = "all", "Every message"
    MENTIONS = "mentions", "Mentions only"
    NOTHING = "nothing", "Nothing"


class NotificationDefaults(models.Model):
    """How someone wants to be notified in rooms without a level of their own.

    Created the first time they change it; until then the field defaults apply.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_defaults"
    )
    level = models.CharField(max_length=8, choices=Level.choices, default=Level.MENTIONS)
    desktop = models.BooleanField(
        default=True, help_text="Desktop alerts wanted (the browser shows them)."
    )

    class Meta:
        verbose_name_plural = "notification defaults"

    def __str__(self):
        return f"Defaults of {self.user_id}: {self.level}"


class RoomNotificationSetting(models.Model):
    """Someone's notification level and mute for one room.

    Not Membership.muted, which is a moderator's mute (the member may not post): this
    mute only silences alerts, and the inbox still fills.
    """

    class RoomLevel(models.TextChoices):
        DEFAULT = "default", "Default"
        ALL = Level.ALL.value, Level.ALL.label
        MENTIONS = Level.MENTIONS.value, Level.MENTIONS.label
        NOTHING = Level.NOTHING.value, Level.NOTHING.label

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="room_notification_settings",
    )
    room = models.ForeignKey(
        "chat.Room", on_delete=models.CASCADE, related_name="notification_settings"
    )
    level = models.CharField(max_length=8, choices=RoomLevel.choices, default=RoomLevel.DEFAULT)
    muted = models.BooleanField(default=False, help_text="No alerts; the inbox still fills.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "room"], name="room_notification_unique"),
        ]

    def __str__(self):
        muted = ", muted" if self.muted else ""
        return f"{self.user_id} in room {self.room_id}: {self.level}{muted}"
