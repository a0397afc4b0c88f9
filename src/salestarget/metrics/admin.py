from django.contrib import admin

from salestarget.metrics.models import FiscalSettings, Metric


@admin.register(Metric)
class MetricAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name_zh",
        "name_en",
        "unit",
        "decimals",
        "aggregation",
        "fact_kind",
        "credit_rule",
    ]
    list_filter = ["aggregation", "fact_kind", "credit_rule", "active"]
    search_fields = ["code", "name_zh", "name_en"]


@admin.register(FiscalSettings)
class FiscalSettingsAdmin(admin.ModelAdmin):
    list_display = ["fy_start_month", "week_start", "country", "progress_basis", "currency"]

    def has_add_permission(self, request):
        return not FiscalSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
