from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    name = "dentalsales.quality"
    label = "quality"
    verbose_name = _("Quality management")

    def ready(self):
        from . import retention

        retention.connect_deletion_guards()
