"""Staff tools: rooms with their members, messages, the moderation log.

Every write goes through the services, so that what staff do here takes its revision,
checks the access rule, is logged, and reaches open sockets at once, like the same
action anywhere else.
"""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from . import rendering, services
from .errors import ChatError
from .models import (
    Attachment,
    Invitation,
    InviteLink,
    Membership,
    Message,
    ModerationAction,
    Profile,
    Room,
)
from .records import attachment_data, display_name_of

# The membership fields staff edit; each change is one service (services.member_change).
MEMBERSHIP_EDITABLE = ("role", "banned", "muted", "muted_until")


class ReadOnlyAdmin(admin.ModelAdmin):
    """A log that only services write: staff read it, never add, change or delete."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _count_of(queryset):
    """Return a subquery counting the rows of `queryset` that belong to the outer room."""
    counted = (
        queryset.filter(room=OuterRef("pk"))
        .order_by()
        .values("room")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(counted), 0)


def _refused(modeladmin, request, error: ChatError) -> None:
    modeladmin.message_user(request, f"Not done: {error.detail}", messages.ERROR)


def _save_membership(modeladmin, request, membership: Membership, changed: list[str]) -> None:
    """Save an added or edited membership through the member services."""
    try:
        if membership.pk is None:
            services.member_add(
                room=membership.room, actor=request.user, target=membership.user,
                role=membership.role,
            )  # fmt: skip
            changed = [name for name in changed if name in MEMBERSHIP_EDITABLE and name != "role"]
        changes = {
            name: getattr(membership, name) for name in changed if name in MEMBERSHIP_EDITABLE
        }
        if changes:
            services.member_change(
                room=membership.room, actor=request.user, target=membership.user, changes=changes
            )
    except ChatError as error:
        _refused(modeladmin, request, error)


def _delete_membership(modeladmin, request, membership: Membership) -> None:
    """Deleting a membership removes the member, or lifts a ban."""
    action = services.member_unban if membership.banned else services.member_remove
    try:
        action(room=membership.room, actor=request.user, target=membership.user)
    except ChatError as error:
        _refused(modeladmin, request, error)


class MembershipInline(admin.TabularInline):
    """The room's members: their role, ban and mute can be changed, not who they are."""

    model = Membership
    extra = 0
    fields = ["user", "role", "banned", "muted", "muted_until", "joined_at", "last_read_rev"]
    # Read-only, the user is shown from the joined row; a widget would query per row.
    readonly_fields = ["user", "joined_at", "last_read_rev"]

    def get_queryset(self, request):
        # Each row shows its membership's str(), which reads the user and the room.
        return super().get_queryset(request).select_related("user", "room")

    def has_add_permission(self, request, obj=None):
        return False


class MembershipAddInline(admin.TabularInline):
    """New members, picked by username."""

    model = Membership
    extra = 0
    fields = ["user", "role"]
    autocomplete_fields = ["user"]
    verbose_name = "new member"
    verbose_name_plural = "add members"

    def get_queryset(self, request):
        return super().get_queryset(request).none()


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "is_private",
        "is_archived",
        "member_count",
        "message_count",
        "last_activity_at",
    ]
    list_filter = ["is_private", "is_archived", "created_at", "last_activity_at"]
    search_fields = ["name", "slug", "topic"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["rev", "created_by", "created_at", "last_activity_at"]
    date_hierarchy = "created_at"
    inlines = [MembershipInline, MembershipAddInline]

    def get_readonly_fields(self, request, obj=None):
        # Open sockets and links name the room by its slug: it is fixed once created.
        if obj is not None:
            return [*self.readonly_fields, "slug"]
        return self.readonly_fields

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj is not None else self.prepopulated_fields

    def save_model(self, request, obj, form, change):
        if change:
            editable = services.rooms.ROOM_EDITABLE_FIELDS
            changes = {
                name: form.cleaned_data[name] for name in form.changed_data if name in editable
            }
            try:
                services.room_update(room=obj, changes=changes, actor=request.user)
            except ChatError as error:
                _refused(self, request, error)
            return
        created = services.room_create(
            name=obj.name,
            slug=obj.slug,
            topic=obj.topic,
            is_private=obj.is_private,
            is_archived=obj.is_archived,
            created_by=request.user,
        )
        # The admin goes on with `obj` (its inlines, its redirect): make it the new room.
        vars(obj).update(vars(created))

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        for inline_form in formset.forms:
            membership = inline_form.instance
            if inline_form in formset.deleted_forms:
                if membership.pk is not None:
                    _delete_membership(self, request, membership)
            elif inline_form.has_changed() and membership.user_id is not None:
                membership.room = form.instance
                _save_membership(self, request, membership, inline_form.changed_data)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def delete_model(self, request, obj):
        services.room_delete(room=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for room in queryset:
            services.room_delete(room=room, actor=request.user)

    def get_queryset(self, request):
        # Correlated subqueries, not joins: joining both members and messages would
        # multiply the rows before counting.
        return (
            super()
            .get_queryset(request)
            .annotate(
                _member_count=_count_of(Membership.objects.filter(banned=False)),
                _message_count=_count_of(Message.objects.filter(deleted_at__isnull=True)),
            )
        )

    @admin.display(description="members", ordering="_member_count")
    def member_count(self, room):
        return room._member_count

    @admin.display(description="messages", ordering="_message_count")
    def message_count(self, room):
        return room._message_count


class AttachmentInline(admin.TabularInline):
    """A message's files, to look at: they go with the message (the soft-delete action)."""

    model = Attachment
    fields = ["file_link", "content_type", "size", "width", "height", "uploader", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="file")
    def file_link(self, attachment):
        # Through the view that checks access (staff may read every room), never MEDIA_URL.
        return format_html(
            '<a href="{}">{}</a>', attachment_data(attachment)["url"], attachment.name
        )


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "room", "author", "short_body", "created_at", "edited_at", "deleted_at"]
    list_filter = ["room", "created_at", "deleted_at"]
    search_fields = ["body", "author__username", "room__name", "room__slug"]
    list_select_related = ["room", "author"]
    # Messages change only through the services, which take a revision and tell open
    # sockets; a direct edit or a hard delete would never reach clients that catch up.
    readonly_fields = [
        "room",
        "author",
        "body",
        "shown_as",
        "client_id",
        "rev",
        "created_at",
        "edited_at",
        "deleted_at",
    ]
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["soft_delete"]
    inlines = [AttachmentInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Delete selected messages (shown as deleted to everyone)")
    def soft_delete(self, request, queryset):
        deleted = 0
        for message in queryset.select_related("room").filter(deleted_at__isnull=True):
            try:
                services.message_delete(room=message.room, user=request.user, message_id=message.pk)
            except ChatError as error:
                self.message_user(request, f"#{message.pk}: {error.detail}", messages.WARNING)
            else:
                deleted += 1
        self.message_user(request, f"{deleted} message(s) deleted.", messages.SUCCESS)

    @admin.display(description="shown as")
    def shown_as(self, message):
        """The body as readers see it: the stored HTML, sanitized again on its way here."""
        if not message.body_html:
            return "-"
        html = mark_safe(rendering.sanitize(message.body_html))  # noqa: S308 (just sanitized)
        return format_html('<div class="message-body">{}</div>', html)

    @admin.display(description="body")
    def short_body(self, message):
        return message.body if len(message.body) <= 80 else f"{message.body[:79]}…"


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "room", "role", "banned", "muted", "muted_until", "joined_at"]
    list_filter = ["role", "banned", "muted", "room"]
    search_fields = ["user__username", "room__name", "room__slug"]
    list_select_related = ["user", "room"]
    autocomplete_fields = ["user", "room"]
    fields = ["user", "room", *MEMBERSHIP_EDITABLE]

    def get_readonly_fields(self, request, obj=None):
        # A membership belongs to one person in one room: add another for someone else.
        return ["user", "room"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        _save_membership(self, request, obj, form.changed_data)

    def delete_model(self, request, obj):
        _delete_membership(self, request, obj)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("user", "room"):
            _delete_membership(self, request, membership)


@admin.register(ModerationAction)
class ModerationActionAdmin(ReadOnlyAdmin):
    """The moderation log: written by the services, read here, never edited."""

    list_display = [
        "created_at",
        "actor_name",
        "kind",
        "target_name",
        "room_name",
        "detail",
        "reason",
    ]
    list_filter = ["kind", "created_at"]
    search_fields = ["actor_name", "target_name", "room_name", "reason"]
    date_hierarchy = "created_at"


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    """Invitations and their answers: written by the services, read here."""

    list_display = ["created_at", "room", "inviter", "invitee", "status", "answered_at"]
    list_filter = ["status", "created_at"]
    list_select_related = ["room", "inviter", "invitee"]
    search_fields = ["room__name", "inviter__username", "invitee__username"]
    date_hierarchy = "created_at"


@admin.register(InviteLink)
class InviteLinkAdmin(ReadOnlyAdmin):
    """Invite links, read-only; staff may revoke them."""

    list_display = [
        "created_at",
        "room",
        "created_by",
        "uses",
        "max_uses",
        "expires_at",
        "revoked_at",
    ]
    list_filter = ["created_at"]
    list_select_related = ["room", "created_by"]
    search_fields = ["room__name", "created_by__username"]
    exclude = ["token"]  # a secret: whoever reads it can join
    actions = ["revoke"]

    @admin.action(description="Revoke selected invite links")
    def revoke(self, request, queryset):
        revoked = 0
        for link in queryset.select_related("room").filter(revoked_at__isnull=True):
            try:
                services.invite_link_revoke(link=link, actor=request.user)
            except ChatError as error:
                _refused(self, request, error)
            else:
                revoked += 1
        self.message_user(request, f"Revoked {revoked} invite link(s).", messages.SUCCESS)


User = get_user_model()


class ProfileInline(admin.StackedInline):
    model = Profile
    fields = ["display_name", "is_bot"]
    can_delete = False
    verbose_name_plural = "Profile"


class ChatUserAdmin(UserAdmin):
    """Django's user admin, deactivating accounts through the service that closes sockets,
    and changing display names through the one that tells open member lists."""

    inlines = [ProfileInline]
    list_display = [*UserAdmin.list_display, "display_name"]
    list_select_related = ["profile"]
    search_fields = [*UserAdmin.search_fields, "profile__display_name"]
    list_filter = [*UserAdmin.list_filter, "profile__is_bot"]

    @admin.display(description="Display name", ordering="profile__display_name")
    def display_name(self, obj):
        return display_name_of(obj)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Profile:
            return super().save_formset(request, form, formset, change)
        # What the admin's history entry reads, after save() would have set it.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for profile_form in formset.forms:
            if profile_form.has_changed() and profile_form.is_valid():
                name = profile_form.cleaned_data.get("display_name", "")
                is_bot = profile_form.cleaned_data.get("is_bot", False)
                try:
                    services.profile_update(
                        user=form.instance, display_name=name, by_staff=True, is_bot=is_bot
                    )
                except ChatError as refused:
                    _refused(self, request, refused)
                else:
                    profile = Profile.objects.get(user=form.instance)
                    formset.changed_objects.append((profile, profile_form.changed_data))
        return None

    def save_model(self, request, obj, form, change):
        if change and "is_active" in form.changed_data and not obj.is_active:
            obj.is_active = True  # the service makes the change, logs it and tells sockets
            super().save_model(request, obj, form, change)
            services.user_deactivate(user=obj, actor=request.user)
            return
        super().save_model(request, obj, form, change)


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, ChatUserAdmin)
