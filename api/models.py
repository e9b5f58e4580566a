"""Personal API tokens: how bots and scripts sign in to the HTTP API and the sockets."""

from django.conf import settings
from django.db import models
from django.utils import timezone

TOKEN_NAME_MAX = 64


class ApiToken(models.Model):
    """A named token of one person's: signs its bearer in as them, to read, or to read and
    write. Only a hash of it is kept; the token itself is shown once, when it is made."""

    class Scope(models.TextChoices):
        READ = "read", "Read"
        WRITE = "write", "Read and write"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=TOKEN_NAME_MAX, help_text="What it is for.")
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.READ)
    # The token's first characters, kept in clear so that people can tell tokens apart.
    prefix = models.CharField(max_length=16, editable=False)
    # SHA-256 of the whole token, in hex. A fast hash is right here, unlike for passwords:
    # a token is 32 random bytes, beyond any guessing, so a slow hash would protect
    # nothing and cost every request.
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never.")
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def may_write(self) -> bool:
        return self.scope == self.Scope.WRITE

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    def is_active(self, now=None) -> bool:
        """Tell whether the token still signs in (its user's own state aside)."""
        return self.revoked_at is None and not self.is_expired(now)
