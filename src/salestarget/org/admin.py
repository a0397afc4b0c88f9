from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from salestarget.org.models import Membership, OrgUnit, Person, TerritoryAssignment


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["unit"]


class TerritoryInline(admin.TabularInline):
    model = TerritoryAssignment
    extra = 0
    autocomplete_fields = ["region"]


@admin.register(OrgUnit)
class OrgUnitAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "kind", "parent", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["parent"]


@admin.register(Person)
class PersonAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "tier", "hire_date", "status", "user"]
    list_filter = ["tier", "status"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["user"]
    inlines = [MembershipInline, TerritoryInline]


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ["person", "unit", "role", "valid_from", "valid_to"]
    list_filter = ["role"]
    search_fields = ["person__name", "person__code", "unit__name"]
    autocomplete_fields = ["person", "unit"]


@admin.register(TerritoryAssignment)
class TerritoryAssignmentAdmin(SimpleHistoryAdmin):
    list_display = ["person", "region", "valid_from", "valid_to"]
    search_fields = ["person__name", "region__name"]
    autocomplete_fields = ["person", "region"]
