from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "dentalsales.core"
    label = "core"
    verbose_name = _("Core")


class AxesConfig(AxesAppConfig):
    """django-axes under a translated name: its own app name shows as "Axes" in the admin."""

    verbose_name = _("Sign-in lockouts")
