from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import Team, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Users and their roles: a role is a group (representative, supervisor, manager, …)."""

    list_display = ["username", "last_name", "first_name", "team", "role_names", "is_active"]
    list_filter = ["groups", "team", "is_active"]
    fieldsets = DjangoUserAdmin.fieldsets + ((_("Sales organisation"), {"fields": ["team", "phone"]}),)

    @admin.display(description=_("Roles"))
    def role_names(self, user):
        return "、".join(str(role.label) for role in user.roles)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("team").prefetch_related("groups")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "supervisor", "region"]
    autocomplete_fields = ["supervisor", "region"]
