from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TargetsConfig(AppConfig):
    name = "salestarget.targets"
    label = "targets"
    verbose_name = _("Targets")

    def ready(self):
        from salestarget.actuals.rollups import facts_changed
        from salestarget.org.services import placement_changed
        from salestarget.targets.tasks import queue_refresh

        # Stored forecasts follow the facts: actuals and org announce changes, targets listens.
        facts_changed.connect(queue_refresh, dispatch_uid="targets.queue_refresh.facts")
        placement_changed.connect(queue_refresh, dispatch_uid="targets.queue_refresh.placement")
