from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActualsConfig(AppConfig):
    name = "salestarget.actuals"
    label = "actuals"
    verbose_name = _("Actuals")

    def ready(self):
        from salestarget.actuals import journal

        journal.connect()
