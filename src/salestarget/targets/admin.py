from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from salestarget.targets.models import Plan, Scenario, TargetCell


class ScenarioInline(admin.TabularInline):
    model = Scenario
    extra = 0


@admin.register(Plan)
class PlanAdmin(SimpleHistoryAdmin):
    list_display = ["name", "fiscal_year", "metric", "status", "created_at"]
    list_filter = ["status", "fiscal_year"]
    inlines = [ScenarioInline]


@admin.register(TargetCell)
class TargetCellAdmin(SimpleHistoryAdmin):
    list_display = ["scenario", "unit", "person", "period_kind", "period_start", "target"]
    list_filter = ["period_kind", "scenario__plan"]
    list_select_related = ["scenario__plan", "unit", "person"]
    raw_id_fields = ["unit", "person", "product", "region"]
