"""Staff see the notifications people got and their room notification settings, and
write announcements; only the services write any of them (a change here would reach no
open socket)."""

from django.contrib import admin

from chat.admin import ReadOnlyAdmin

from . import services
from .models import Announcement, Notification, RoomNotificationSetting


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("user", "kind", "reason", "created_at", "read_at")
    list_filter = ("kind",)
    list_select_related = ("user",)
    search_fields = ("user__username",)
    # The change page only shows: every field is read-only.
    fields = readonly_fields = (
        "user",
        "kind",
        "actor",
        "room",
        "message",
        "reason",
        "created_at",
        "read_at",
    )


@admin.register(RoomNotificationSetting)
class RoomNotificationSettingAdmin(ReadOnlyAdmin):
    list_display = ("user", "room", "level", "muted")
    list_filter = ("level", "muted")
    list_select_related = ("user", "room")
    search_fields = ("user__username", "room__name")
    # The change page only shows: every field is read-only.
    fields = readonly_fields = ("user", "room", "level", "muted")


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    """Write an announcement; it is sent as it is saved, so it can't be changed after."""

    list_display = ("created_at", "author", "room", "__str__")
    list_select_related = ("author", "room")
    autocomplete_fields = ("room",)
    fields = ("room", "body")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # The form has checked what the service checks (required, at most 1000 characters).
        sent = services.announcement_publish(author=request.user, body=obj.body, room=obj.room)
        # The admin goes on with `obj` (its log entry, its redirect): make it the one sent.
        vars(obj).update(vars(sent))
