"""Rooms, their members and their messages.

Every change to a room's timeline takes the room's next revision (`Room.rev`) in
the same transaction, so clients can ask for exactly what they missed.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

SLUG_PATTERN = r"[a-z0-9][a-z0-9-]{0,49}"
CLIENT_ID_PATTERN = r"[A-Za-z0-9_-]{1,64}"


class Room(models.Model):
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

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("chat:room_detail", kwargs={"slug": self.slug})


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
    joined_at = models.DateTimeField(auto_now_add=True)
    last_read_rev = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="membership_unique_room_user"),
        ]

    def __str__(self):
        return f"{self.user} in {self.room}"


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
        indexes = [models.Index(fields=["room", "id"], name="message_room_id_idx")]

    def __str__(self):
        return f"#{self.pk} by {self.author_id} in {self.room_id}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None
