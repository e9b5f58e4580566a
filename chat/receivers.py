"""Hooks into Django's own events; each hands over to a service at once."""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from . import services
from .models import Attachment
from .services.attachments import delete_files_on_commit

# Saves that can end a login: a new password, a deactivation (or an unknown change).
LOGIN_FIELDS = {"password", "is_active"}


@receiver(user_logged_out, dispatch_uid="chat.user_logged_out")
def on_user_logged_out(sender, request, user, **kwargs):
    if user is not None and request is not None:
        services.user_login_changed(user_id=user.pk, ended_session_key=request.session.session_key)


@receiver(post_save, sender=get_user_model(), dispatch_uid="chat.user_saved")
def on_user_saved(sender, instance, created, update_fields=None, **kwargs):
    if created or (update_fields is not None and not LOGIN_FIELDS & set(update_fields)):
        return
    services.user_login_changed(user_id=instance.pk)


@receiver(post_delete, sender=Attachment, dispatch_uid="chat.attachment_deleted")
def on_attachment_deleted(sender, instance, **kwargs):
    """However an attachment goes (its message deleted, the room, the uploader, an upload
    never sent), its stored files go once that commits."""
    delete_files_on_commit(instance)
