"""The admin is for repairs; memberships still go through the org services, so that a
corrected membership re-books the person's results and respects the editor's reach."""

from django.contrib import admin
from django.db import transaction
from simple_history.admin import SimpleHistoryAdmin

from salestarget.org.models import Membership, OrgUnit, Person, TerritoryAssignment
from salestarget.org.services import do_delete_membership, do_save_membership


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
    search_fields = ["code", "name", "employee_no"]
    autocomplete_fields = ["user"]
    inlines = [MembershipInline, TerritoryInline]
    # The national id is a key for imports only: never shown.
    exclude = ["national_id"]

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        rows = formset.save(commit=False)
        for row in formset.deleted_objects:
            do_delete_membership(request.user, row)
        for row in rows:
            do_save_membership(request.user, row)


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ["person", "unit", "role", "valid_from", "valid_to"]
    list_filter = ["role"]
    search_fields = ["person__name", "person__code", "unit__name"]
    autocomplete_fields = ["person", "unit"]

    def save_model(self, request, obj, form, change):
        do_save_membership(request.user, obj)

    def delete_model(self, request, obj):
        do_delete_membership(request.user, obj)

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        for row in queryset:
            do_delete_membership(request.user, row)


@admin.register(TerritoryAssignment)
class TerritoryAssignmentAdmin(SimpleHistoryAdmin):
    list_display = ["person", "region", "valid_from", "valid_to"]
    search_fields = ["person__name", "region__name"]
    autocomplete_fields = ["person", "region"]
