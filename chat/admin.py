"""Staff tools: rooms with their members, and messages."""

from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from . import services
from .models import Membership, Message, Room
from .protocol import ProtocolError


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


class MembershipInline(admin.TabularInline):
    """The room's members: their role and ban can be changed, not who they are."""

    model = Membership
    extra = 0
    fields = ["user", "role", "banned", "joined_at", "last_read_rev"]
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
    fields = ["user", "role", "banned"]
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

    def save_model(self, request, obj, form, change):
        if change:
            services.room_save(room=obj, changed_fields=form.changed_data)
        else:
            super().save_model(request, obj, form, change)

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
        "client_id",
        "rev",
        "created_at",
        "edited_at",
        "deleted_at",
    ]
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["soft_delete"]

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
            except ProtocolError as error:
                self.message_user(request, f"#{message.pk}: {error.detail}", messages.WARNING)
            else:
                deleted += 1
        self.message_user(request, f"{deleted} message(s) deleted.", messages.SUCCESS)

    @admin.display(description="body")
    def short_body(self, message):
        return message.body if len(message.body) <= 80 else f"{message.body[:79]}…"


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "room", "role", "banned", "joined_at"]
    list_filter = ["role", "banned", "room"]
    search_fields = ["user__username", "room__name", "room__slug"]
    list_select_related = ["user", "room"]
    autocomplete_fields = ["user", "room"]
