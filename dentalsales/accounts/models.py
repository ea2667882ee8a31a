from functools import cached_property

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from .roles import ALL_DATA_ROLES, COST_ROLES, Role


class Team(models.Model):
    """A sales team led by a supervisor; its members' customers are visible to the supervisor."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    supervisor = models.ForeignKey(
        "accounts.User",
        verbose_name=_("supervisor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="supervised_teams",
    )
    region = models.ForeignKey(
        "core.Region", verbose_name=_("region"), null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self):
        return self.name


class User(AbstractUser):
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    phone = models.CharField(_("phone"), max_length=30, blank=True)

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        full_name = f"{self.last_name}{self.first_name}".strip()
        return full_name or self.username

    @property
    def display_name(self):
        return str(self)

    @cached_property
    def roles(self):
        """Return the set of ``Role`` values of this user's groups; a superuser has every role."""
        if self.is_superuser:
            return frozenset(Role)
        names = {group.name for group in self.groups.all()}
        return frozenset(role for role in Role if role.value in names)

    @property
    def role_list(self):
        """Return the user's roles for display, most senior first."""
        seniority = [Role.ADMINISTRATOR, Role.MANAGER, Role.SUPERVISOR, Role.REPRESENTATIVE, Role.FINANCE, Role.LOGISTICS, Role.QUALITY_OFFICER]
        return [role for role in seniority if role in self.roles]

    def has_role(self, *roles):
        return bool(self.roles.intersection(roles))

    @property
    def sees_all_data(self):
        return bool(self.roles & ALL_DATA_ROLES)

    @property
    def sees_cost(self):
        return bool(self.roles & COST_ROLES)
