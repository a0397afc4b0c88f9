"""Workers and schedules in the Django admin, read-only: the worker keeps them. Jobs
themselves are django-tasks-db's admin (its "Task results")."""

from django.contrib import admin

from salestarget.jobs.models import Schedule, Worker


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Worker)
class WorkerAdmin(ReadOnly):
    list_display = ("name", "host", "pid", "started_at", "seen_at", "job_id")


@admin.register(Schedule)
class ScheduleAdmin(ReadOnly):
    list_display = ("name", "every", "next_run_at", "last_job_id")
