from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrackingConfig(AppConfig):
    name = "salestarget.tracking"
    label = "tracking"
    verbose_name = _("Tracking")

    def ready(self):
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate, pre_migrate

        from salestarget.tracking import memo

        connection_created.connect(memo.watch, dispatch_uid="tracking.memo.watch")
        pre_migrate.connect(memo.migration_started, dispatch_uid="tracking.memo.migration_started")
        post_migrate.connect(memo.migration_done, dispatch_uid="tracking.memo.migration_done")
