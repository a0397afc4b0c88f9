"""Forms of the users-and-roles page."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from salestarget.org.models import OrgUnit, Person


class PersonChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.code})"


class RolesForm(forms.Form):
    active = forms.BooleanField(label=_("May sign in"), required=False)
    admin = forms.BooleanField(
        label=_("Administrator"),
        required=False,
        help_text=_("Everything, including users and system settings."),
    )
    ops = forms.BooleanField(
        label=_("Sales operations"),
        required=False,
        help_text=_("Company-wide planning, imports and approvals; no system settings."),
    )
    viewer = forms.BooleanField(
        label=_("Viewer"),
        required=False,
        help_text=_("Reads the company or one unit's subtree; changes nothing."),
    )
    viewer_unit = forms.ModelChoiceField(
        label=_("Viewer of"),
        queryset=OrgUnit.objects.order_by("path"),
        required=False,
        empty_label=_("The whole company"),
    )
    person = PersonChoice(
        label=_("Sales profile"),
        queryset=Person.objects.order_by("code"),
        required=False,
        empty_label=_("None"),
        help_text=_("A person of the organisation: a rep, or a manager by their memberships."),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        free = Person.objects.filter(user__isnull=True)
        if user is not None:
            free = free | Person.objects.filter(user=user)
        self.fields["person"].queryset = free.order_by("code")
        for name, field in self.fields.items():
            css = "form-check-input" if isinstance(field, forms.BooleanField) else "form-select"
            field.widget.attrs.setdefault("class", css)
            if name == "viewer_unit":
                field.widget.attrs["data-depends"] = "viewer"


class NewUserForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)
    person = PersonChoice(
        label=_("Sales profile"),
        queryset=Person.objects.filter(user__isnull=True).order_by("code"),
        required=False,
        empty_label=_("None"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault(
                "class", "form-select" if isinstance(field, forms.ChoiceField) else "form-control"
            )


class PasswordForm(forms.Form):
    password = forms.CharField(label=_("New password"), widget=forms.PasswordInput, strip=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password"].widget.attrs["class"] = "form-control"
