"""Users, roles (named permission sets), teams and API keys."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class Team(models.Model):
    name = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.Model):
    """A named set of permission codes (see patron.core.permissions.P)."""

    key = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    permissions = models.JSONField(default=list, blank=True)
    restricted = models.BooleanField(
        default=False,
        help_text="Sees only what the workspace's record-visibility setting allows.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    role = models.ForeignKey(Role, null=True, blank=True, on_delete=models.PROTECT)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    is_service = models.BooleanField(
        default=False, help_text="A principal for an API key, not a person."
    )

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def permission_codes(self) -> frozenset[str]:
        cached = getattr(self, "_permission_codes", None)
        if cached is None:
            if not self.is_active:
                cached = frozenset()
            elif self.is_superuser:
                from patron.core.permissions import ALL_PERMISSIONS

                cached = ALL_PERMISSIONS
            elif self.role_id is None:
                cached = frozenset()
            else:
                cached = frozenset(self.role.permissions)  # type: ignore[union-attr]
            self._permission_codes = cached
        return cached

    def has_perm_code(self, code: str) -> bool:
        return code in self.permission_codes

    @property
    def is_restricted(self) -> bool:
        return bool(self.role_id and self.role.restricted and not self.is_superuser)  # type: ignore[union-attr]


class ApiKey(models.Model):
    """An API key. Only a SHA-256 hash of the secret is stored.

    Each key acts as its own service user, whose role sets what the key can do.
    """

    name = models.CharField(max_length=120)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="api_key")
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
