"""Staff see the notifications people got; only the services write them (a change here
would reach no open socket)."""

from django.contrib import admin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
