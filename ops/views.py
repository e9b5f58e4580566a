"""The staff dashboard's page in the admin."""

from django.contrib import admin
from django.shortcuts import render

from .stats import ACTIVITY_MINUTES

DASHBOARD_SOCKET_PATH = "/ws/ops/dashboard/"


def dashboard(request):
    """Render the live dashboard's frame; its numbers arrive over its socket
    (ops/consumers.py). Staff only: ops/urls.py wraps it in the admin's check."""
    context = {
        **admin.site.each_context(request),
        "title": "Live dashboard",
        "socket_path": DASHBOARD_SOCKET_PATH,
        "minutes": ACTIVITY_MINUTES,
    }
    return render(request, "admin/ops/dashboard.html", context)
