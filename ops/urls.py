"""The ops app's pages, under /admin/ops/ (myproject/urls.py)."""

from django.contrib import admin
from django.urls import path

from . import views

app_name = "ops"

urlpatterns = [
    # The admin's own check: staff only; anyone else goes to the admin's login page.
    path("dashboard/", admin.site.admin_view(views.dashboard), name="dashboard"),
]
