from django.contrib import admin

from salestarget.actuals.models import Fact, ImportBatch


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "source", "filename", "status", "created_by", "created_at", "rows_written"]
    list_filter = ["status", "kind"]
    readonly_fields = [f.name for f in ImportBatch._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Fact)
class FactAdmin(admin.ModelAdmin):
    """Read-only: facts are immutable; corrections go through imports (which keep rollups right)."""

    list_display = [
        "date",
        "kind",
        "amount",
        "person",
        "unit",
        "product",
        "customer",
        "source",
        "external_id",
    ]
    list_filter = ["kind", "source"]
    search_fields = ["external_id"]
    date_hierarchy = "date"
    list_select_related = ["person", "unit", "product", "customer"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
