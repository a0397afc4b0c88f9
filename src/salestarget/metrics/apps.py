from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    name = "salestarget.metrics"
    label = "metrics"
    verbose_name = _("Metrics")

    def ready(self):
        from django.core.signals import request_finished, request_started
        from django.db.models.signals import post_save

        from salestarget.metrics import selectors
        from salestarget.metrics.models import FiscalSettings

        request_started.connect(selectors.start_request_cache, dispatch_uid="metrics-cache-start")
        request_finished.connect(selectors.end_request_cache, dispatch_uid="metrics-cache-end")
        post_save.connect(
            selectors.forget_company_settings, sender=FiscalSettings, dispatch_uid="metrics-cache-forget"
        )
