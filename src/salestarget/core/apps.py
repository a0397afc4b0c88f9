from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares: trees, money, the API contract, errors, and what is remembered
    between requests (memo.py)."""

    name = "salestarget.core"
    label = "core"

    def ready(self):
        from django.core.signals import request_finished, request_started
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate, pre_migrate

        from salestarget.core import memo

        connection_created.connect(memo.watch, dispatch_uid="core.memo.watch")
        pre_migrate.connect(memo.migration_started, dispatch_uid="core.memo.migration_started")
        post_migrate.connect(memo.migration_done, dispatch_uid="core.memo.migration_done")
        request_started.connect(memo.request_started, dispatch_uid="core.memo.request_started")
        request_finished.connect(memo.request_finished, dispatch_uid="core.memo.request_finished")
