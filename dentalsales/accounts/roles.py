"""Roles are Django groups with these fixed names, created by a data migration."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    REPRESENTATIVE = "representative", _("Sales representative")
    SUPERVISOR = "supervisor", _("Sales supervisor")
    MANAGER = "manager", _("Sales manager")
    LOGISTICS = "logistics", _("Logistics")
    FINANCE = "finance", _("Finance")
    QUALITY_OFFICER = "quality_officer", _("Quality officer")
    ADMINISTRATOR = "administrator", _("Administrator")


# Roles that see every customer and order; representatives see their own,
# supervisors their team's.
ALL_DATA_ROLES = frozenset(
    {Role.MANAGER, Role.LOGISTICS, Role.FINANCE, Role.QUALITY_OFFICER, Role.ADMINISTRATOR}
)
# Roles that may see standard cost and margins.
COST_ROLES = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.FINANCE, Role.ADMINISTRATOR})
# Roles that may enter and edit customers and orders.
SALES_ROLES = frozenset({Role.REPRESENTATIVE, Role.SUPERVISOR, Role.MANAGER, Role.ADMINISTRATOR})
# Roles that may review (approve or reject) orders.
REVIEW_ROLES = frozenset({Role.SUPERVISOR, Role.MANAGER})
# Roles that may receive stock, release and ship orders.
WAREHOUSE_ROLES = frozenset({Role.LOGISTICS, Role.MANAGER, Role.ADMINISTRATOR})
# Roles that may edit the product master and warehouses.
CATALOG_ROLES = frozenset({Role.QUALITY_OFFICER, Role.MANAGER, Role.ADMINISTRATOR})
