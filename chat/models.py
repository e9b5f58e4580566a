"""Rooms, their members and their messages.

Every change to a room's timeline takes the room's next revision (`Room.rev`) in
the same transaction, so clients can ask for exactly what they missed.
"""

import secrets
from pathlib import Path

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

SLUG_PATTERN = r"[a-z0-9][a-z0-9-]{0,49}"
CLIENT_ID_PATTERN = r"[A-Za-z0-9_-]{1,64}"
# The longest excerpt of a message a reply quotes, in characters.
MESSAGE_EXCERPT_MAX = 120


def direct_key(user_ids) -> str:
    """Return the key of the direct conversation of exactly these people."""
    return ",".join(str(user_id) for user_id in sorted(set(user_ids)))


class Room(models.Model):
    class Kind(models.TextChoices):
        ROOM = "room", "Room"
        DIRECT = "direct", "Direct conversation"

    name = models.CharField(max_length=80)
    slug = models.SlugField(
        max_length=50,
        unique=True,
        validators=[RegexValidator(rf"\A{SLUG_PATTERN}\Z", "Lowercase letters, digits and '-'.")],
    )
    topic = models.CharField(max_length=200, blank=True)
    is_private = models.BooleanField(
        "private", default=False, help_text="Only members can see and join a private room."
    )
    is_archived = models.BooleanField(
        "archived", default=False, help_text="An archived room can be read but not written to."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="rooms_created",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_activity_at = models.DateTimeField(null=True, blank=True, db_index=True)
    rev = models.PositiveBigIntegerField(
        "revision", default=0, editable=False, help_text="The last revision of the timeline."
    )
    # A direct conversation is a private room whose name nobody sees: it is shown by its
    # people's names. Its key is their sorted user ids ("3,7,12"), so that starting a
    # conversation that exists opens it; rooms have none (NULL is never a duplicate).
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.ROOM, editable=False)
    direct_key = models.CharField(
        max_length=200, null=True, blank=True, unique=True, editable=False
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            # Two rooms called "General" and "general" would be told apart by nobody.
            models.UniqueConstraint(
                Lower("name"),
                name="room_unique_name_ci",
                violation_error_message="A room with this name already exists (in any case).",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("chat:room_detail", kwargs={"slug": self.slug})

    @property
    def is_direct(self) -> bool:
        return self.kind == self.Kind.DIRECT

    def direct_user_ids(self) -> list[int]:
        """Return the ids of the people of a direct conversation (none for a room)."""
        return [int(part) for part in (self.direct_key or "").split(",") if part]


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        MODERATOR = "moderator", "Moderator"
        OWNER = "owner", "Owner"

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    banned = models.BooleanField(default=False)
    muted = models.BooleanField(default=False, help_text="A muted member reads but cannot post.")
    muted_until = models.DateTimeField(
        null=True, blank=True, help_text="When the mute ends; empty: until it is lifted."
    )
    joined_at = models.DateTimeField(auto_now_add=True)
    last_read_rev = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="membership_unique_room_user"),
        ]

    def __str__(self):
        return f"{self.user} in {self.room}"

    def is_muted(self, now=None) -> bool:
        """Tell whether the mute holds now (a mute with an end time lapses by itself)."""
        if not self.muted:
            return False
        return self.muted_until is None or self.muted_until > (now or timezone.now())


class Message(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messages"
    )
    body = models.TextField()
    # Chosen by the client so that a resend after a lost acknowledgement stores nothing
    # new. NULL (not "") when absent, so the unique constraint leaves such rows alone.
    client_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    rev = models.PositiveBigIntegerField("revision", editable=False)
    # The revision the message was created at: `rev` moves with every edit, this never
    # does. Unread means created after the member's read marker (Membership.last_read_rev).
    created_rev = models.PositiveBigIntegerField("created at revision", editable=False)
    # Who the message mentions, resolved when it was sent (or edited) and kept, so that a
    # rename can't change who was notified: the ids of those named or online for @here
    # ("7,12"), and @room (everyone: not listed) or @here. They ride along with the
    # message; MessageMention rows are what counts come from.
    mention_ids = models.TextField(blank=True, default="", editable=False)
    mention_all = models.CharField(
        max_length=8,
        blank=True,
        default="",
        editable=False,
        choices=[("", "no one"), ("room", "@room"), ("here", "@here")],
    )
    # The body as sanitized HTML (its Markdown subset, its mentions), rendered by
    # chat.rendering when it is sent or edited, so that reading a page renders nothing.
    # `body` stays what the author typed.
    body_html = models.TextField("body as HTML", blank=True, default="", editable=False)
    # The message this one answers, always of the same room (services.messages checks).
    # A reply keeps its place if the original goes: soft deletion keeps the row (the
    # reply shows it deleted); only a hard delete, by staff, empties the reference.
    reply_to = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replies",
        editable=False,
    )
    # What a reply to it quotes (records.message_excerpt): its first line with text, as
    # plain text, or the files it holds; kept when it is written, as its HTML is, so that
    # reading a quote reads this and no body.
    excerpt = models.CharField(
        max_length=MESSAGE_EXCERPT_MAX, blank=True, default="", editable=False
    )
    # The records of its attachments (records.attachment_data) as JSON, written once when
    # it is sent, so that a page reads them with the message; "" for none. The Attachment
    # rows are what access and deletion go by.
    attachments_data = models.TextField(blank=True, default="", editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["room", "rev"], name="message_unique_room_rev"),
            models.UniqueConstraint(
                fields=["room", "author", "client_id"],
                condition=Q(client_id__isnull=False),
                name="message_unique_room_author_client_id",
            ),
        ]
        indexes = [
            models.Index(fields=["room", "id"], name="message_room_id_idx"),
            # Unread counts: the messages of a room created after a read marker.
            models.Index(fields=["room", "created_rev"], name="message_room_created_rev_idx"),
        ]

    def __str__(self):
        return f"#{self.pk} by {self.author_id} in {self.room_id}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class MessageMention(models.Model):
    """One person a message mentions: by name, or as one of @room or @here."""

    class Kind(models.TextChoices):
        USER = "user", "@name"
        ROOM = "room", "@room"
        HERE = "here", "@here"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="mentions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentions"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.USER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "user"], name="mention_unique_message_user")
        ]
        # A user's mention counts start here and join their rooms' unread messages.
        indexes = [models.Index(fields=["user", "message"], name="mention_user_message_idx")]

    def __str__(self):
        return f"{self.user_id} in #{self.message_id}"


# The longest emoji sequence a reaction may be, in code points (chat.validation.clean_emoji):
# the longest standard ones (families, tag flags) take 7 to 10.
REACTION_EMOJI_MAX = 32
# The longest file name an attachment keeps (a longer one is shortened, its extension kept).
ATTACHMENT_NAME_MAX = 200


class Reaction(models.Model):
    """One person's emoji on a message, part of the message's state: every change to a
    message's reactions takes a revision (services.reactions), which pages rely on."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reactions"
    )
    emoji = models.CharField(max_length=REACTION_EMOJI_MAX)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # By id: the order people reacted in, which is the order a message shows them.
        ordering = ["id"]
        constraints = [
            # Its index starts with the message: it serves reading a page's reactions too.
            models.UniqueConstraint(
                fields=["message", "user", "emoji"], name="reaction_unique_message_user_emoji"
            )
        ]

    def __str__(self):
        return f"{self.emoji} by {self.user_id} on #{self.message_id}"


def _attachment_path(instance, filename: str) -> str:
    """Name a stored file by a random token: nothing of the uploader's name reaches storage."""
    return f"attachments/{timezone.now():%Y/%m}/{secrets.token_hex(16)}{Path(filename).suffix}"


class Attachment(models.Model):
    """A file shared in a room. Uploaded first (pending: its uploader's alone, for their
    next message there), then sent with a message, whose readers alone may fetch it; it
    goes with the message, its stored files too (chat.receivers)."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="attachments")
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attachments"
    )
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=_attachment_path, max_length=255)
    # Images only: a small WebP of the picture, what a message shows until it is opened.
    thumbnail = models.FileField(upload_to=_attachment_path, max_length=255, blank=True)
    # The name the uploader's file had (cleaned): shown, and offered when it is saved.
    name = models.CharField(max_length=ATTACHMENT_NAME_MAX)
    # From the allow-list (CHAT_UPLOAD_TYPES), by the name and, for an image, its content.
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    thumbnail_width = models.PositiveIntegerField(null=True, blank=True)
    thumbnail_height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The sweep of uploads never sent (services.attachments): pending ones by age.
            models.Index(
                fields=["created_at"],
                condition=Q(message__isnull=True),
                name="attachment_pending_idx",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.size} bytes) in {self.room_id}"

    @property
    def is_image(self) -> bool:
        return bool(self.thumbnail)


class ModerationAction(models.Model):
    """One thing a moderator, an owner or staff did to a room or a member, and why.

    Written by the services; names are copied so that the log still reads after the room
    or the users are deleted.
    """

    class Kind(models.TextChoices):
        BAN = "ban", "Ban"
        UNBAN = "unban", "Unban"
        REMOVE = "remove", "Remove"
        MUTE = "mute", "Mute"
        UNMUTE = "unmute", "Unmute"
        ROLE = "role", "Change role"
        DELETE_MESSAGE = "delete_message", "Delete message"
        MAKE_PRIVATE = "make_private", "Make private"
        MAKE_PUBLIC = "make_public", "Make public"
        ARCHIVE = "archive", "Archive"
        UNARCHIVE = "unarchive", "Unarchive"
        DELETE_ROOM = "delete_room", "Delete room"
        DEACTIVATE_USER = "deactivate_user", "Deactivate user"

    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.SET_NULL, related_name="moderation_actions"
    )
    room_name = models.CharField(max_length=80, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="moderation_actions_taken",
    )
    actor_name = models.CharField(max_length=150, blank=True)
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="moderation_actions_received",
    )
    target_name = models.CharField(max_length=150, blank=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    detail = models.CharField(
        max_length=200, blank=True, help_text="What changed: a role, a mute's end, a message id."
    )
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        target = f" {self.target_name}" if self.target_name else ""
        return (
            f"{self.actor_name or 'system'}: {self.get_kind_display()}{target} in {self.room_name}"
        )


class Invitation(models.Model):
    """Someone asked into a room by one who may invite; they accept or decline it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        REVOKED = "revoked", "Revoked"

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="invitations")
    inviter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations_sent",
    )
    invitee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invitations"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    # A pending invitation can no longer be accepted after this.
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # Inviting someone again while they have not answered gives the same one.
            models.UniqueConstraint(
                fields=["room", "invitee"],
                condition=Q(status="pending"),
                name="invitation_unique_pending",
            ),
        ]
        indexes = [
            models.Index(fields=["invitee", "status"], name="invitation_invitee_status_idx"),
        ]

    def __str__(self):
        return f"{self.invitee} to {self.room} ({self.status})"

    def is_expired(self, now=None) -> bool:
        return self.expires_at <= (now or timezone.now())


class InviteLink(models.Model):
    """A secret URL that makes whoever follows it (signed in) a member of the room."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="invite_links")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invite_links_created",
    )
    token = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never.")
    max_uses = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    uses = models.PositiveIntegerField(default=0, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"Invite link to {self.room} by {self.created_by}"

    def get_absolute_url(self):
        return reverse("chat:invite_link_follow", kwargs={"token": self.token})

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    def is_used_up(self) -> bool:
        return self.max_uses is not None and self.uses >= self.max_uses


DISPLAY_NAME_MAX = 64


class Profile(models.Model):
    """What a person shows of themselves beyond their username (a row only once set)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="profile"
    )
    display_name = models.CharField(
        max_length=DISPLAY_NAME_MAX, blank=True, help_text="Shown beside the username."
    )
    # An account run by a program (issue 18), through API tokens: pages mark its messages.
    is_bot = models.BooleanField(
        "bot", default=False, help_text="A program's account: its messages are marked as a bot's."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.display_name or str(self.user)
