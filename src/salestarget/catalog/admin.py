from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from salestarget.catalog.models import Customer, Product, Region, Segment


@admin.register(Product)
class ProductAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "parent", "unit_price", "active"]
    list_filter = ["active"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["parent"]


@admin.register(Region)
class RegionAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "parent", "active"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["parent"]


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "sort_order", "active"]
    list_editable = ["name", "sort_order", "active"]
    list_filter = ["active"]
    search_fields = ["code", "name"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "segment", "region", "owner", "first_deal_date", "active"]
    list_filter = ["segment", "active"]
    list_select_related = ["segment", "region", "owner"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["region", "owner"]
