from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActualsConfig(AppConfig):
    name = "salestarget.actuals"
    label = "actuals"
    verbose_name = _("Actuals")

    def ready(self):
        from salestarget.actuals import journal, rollups
        from salestarget.org.services import placement_changed

        journal.connect()
        # org announces placement changes rather than importing actuals; facts follow them.
        placement_changed.connect(rollups.follow_placement, dispatch_uid="actuals.rollups.follow_placement")
