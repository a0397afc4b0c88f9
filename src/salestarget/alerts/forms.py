"""Forms of the alerts pages: they read what people type (percentages as 80, amounts in the
metric's own unit, times as 08:30) and hand the services their arguments; the services check
again who may do what."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from salestarget.alerts.models import AlertRule, Channel
from salestarget.alerts.services import PERCENT_CONDITIONS
from salestarget.core.api_contract import MAX_AMOUNT
from salestarget.org.models import OrgUnit
from salestarget.org.permissions import Action, scope_of
from salestarget.targets.models import Plan
from salestarget.tracking.progress import trackable_units

# Which of the condition's own fields each condition uses (the page shows only those).
CONDITION_FIELDS = {
    AlertRule.Condition.BEHIND_TIME: ("threshold",),
    AlertRule.Condition.CHANCE: ("threshold",),
    AlertRule.Condition.GAP: ("threshold",),
    AlertRule.Condition.DAILY_REPORT: ("at_time",),
    AlertRule.Condition.MILESTONE: ("threshold", "milestone"),
}


def style(form: forms.Form) -> None:
    """Bootstrap's small controls, as the other pages' forms (targets/plan_forms.py)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select form-select-sm"
        else:
            css = "form-control form-control-sm"
        widget.attrs.setdefault("class", css)


def changeable_units(user):
    """The units whose alerts ``user`` may set up: those they may change (their subtrees)."""
    reach = scope_of(user).reach(Action.CHANGE)
    return OrgUnit.objects.restrict(user, Action.CHANGE).filter(reach.units_q("")).order_by("path")


def may_manage(user) -> bool:
    """Managers (their subtrees), administrators and sales operations set up alerts; reps do not."""
    reach = scope_of(user).reach(Action.CHANGE)
    return bool(reach.everything or reach.paths)


def _time(**attrs):
    return forms.TimeInput(attrs={"type": "time", **attrs}, format="%H:%M")


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    plan = forms.ModelChoiceField(label=_("Plan"), queryset=Plan.objects.none())
    unit = forms.ModelChoiceField(label=_("Subtree"), queryset=OrgUnit.objects.none())
    period_kind = forms.ChoiceField(label=_("Period"), choices=AlertRule.PeriodKind.choices)
    condition = forms.ChoiceField(label=_("Condition"), choices=AlertRule.Condition.choices)
    threshold = forms.DecimalField(
        label=_("Threshold"),
        required=False,
        min_value=0,
        max_digits=19,
        decimal_places=4,
        help_text=_("x% or p%: a percentage (80); the gap: an amount in the metric's unit (yuan for sales)."),
    )
    at_time = forms.TimeField(label=_("Daily report due by"), required=False, widget=_time())
    milestone = forms.DateField(
        label=_("Milestone date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    notify_owner = forms.BooleanField(label=_("The responsible person"), required=False, initial=True)
    notify_managers = forms.BooleanField(label=_("Their managers"), required=False, initial=True)
    channels = forms.ModelMultipleChoiceField(
        label=_("Channels"),
        queryset=Channel.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    quiet_from = forms.TimeField(label=_("Quiet from"), required=False, widget=_time())
    quiet_until = forms.TimeField(label=_("Quiet until"), required=False, widget=_time())
    working_days_only = forms.BooleanField(label=_("Working days only"), required=False, initial=True)
    active = forms.BooleanField(label=_("Enabled"), required=False, initial=True)

    def __init__(self, user, *args, rule: AlertRule | None = None, **kwargs):
        if rule is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_of(rule)
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = (
            Plan.objects.restrict(user).filter(status=Plan.Status.PUBLISHED).select_related("metric")
        )
        if rule is not None:  # a rule keeps its plan after the plan is closed
            self.fields["plan"].queryset = Plan.objects.restrict(user).filter(
                pk__in=[rule.plan_id, *self.fields["plan"].queryset.values_list("pk", flat=True)]
            )
        self.fields["unit"].queryset = changeable_units(user)
        self.fields["channels"].queryset = Channel.objects.restrict(user, Action.CHANGE)
        style(self)
        self.fields["condition"].widget.attrs["data-condition"] = ""

    @staticmethod
    def initial_of(rule: AlertRule) -> dict:
        threshold = rule.threshold
        if threshold is not None and rule.condition == AlertRule.Condition.GAP:
            threshold = Decimal(threshold).scaleb(-rule.plan.metric.decimals).normalize()
        return {
            "name": rule.name,
            "plan": rule.plan_id,
            "unit": rule.unit_id,
            "period_kind": rule.period_kind,
            "condition": rule.condition,
            "threshold": threshold,
            "at_time": rule.at_time,
            "milestone": rule.milestone,
            "notify_owner": rule.notify_owner,
            "notify_managers": rule.notify_managers,
            "channels": list(rule.channels.values_list("pk", flat=True)),
            "quiet_from": rule.quiet_from,
            "quiet_until": rule.quiet_until,
            "working_days_only": rule.working_days_only,
            "active": rule.active,
        }

    def clean(self):
        data = super().clean()
        used = CONDITION_FIELDS.get(data.get("condition"), ())
        for name in ("threshold", "at_time", "milestone"):
            if name not in used:
                data[name] = None  # a hidden field's leftover value means nothing
        threshold, plan = data.get("threshold"), data.get("plan")
        if threshold is not None and data.get("condition") in PERCENT_CONDITIONS:
            if threshold != threshold.to_integral_value():
                self.add_error("threshold", _("Give a whole percentage, e.g. 80."))
            data["threshold"] = int(threshold)
        elif threshold is not None and plan is not None:
            minor = int((threshold * Decimal(10) ** plan.metric.decimals).to_integral_value())
            data["threshold"] = min(minor, MAX_AMOUNT + 1)
        return data

    def options(self) -> dict:
        """The keyword arguments of ``do_save_rule``."""
        data = dict(self.cleaned_data)
        data["channels"] = list(data["channels"])
        return data


class ChannelForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Channel.Kind.choices)
    name = forms.CharField(label=_("Name"), max_length=100)
    url = forms.CharField(
        label=_("Webhook URL"),
        max_length=1000,
        required=False,
        help_text=_("The robot's address from the group's settings (钉钉, 企业微信, 飞书) or your own."),
    )
    # Write-only: the stored secret is never sent back to the page.
    secret = forms.CharField(
        label=_("Signing secret"),
        max_length=200,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    clear_secret = forms.BooleanField(label=_("Remove the stored secret"), required=False)
    to = forms.CharField(
        label=_("Recipients"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("E-mail addresses, one a line or separated by commas."),
    )
    unit = forms.ModelChoiceField(
        label=_("Audience"),
        queryset=OrgUnit.objects.none(),
        required=False,
        empty_label=_("The whole company"),
        help_text=_("The channel only carries figures of this unit's subtree."),
    )
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    active = forms.BooleanField(label=_("Enabled"), required=False, initial=True)

    def __init__(self, user, *args, channel: Channel | None = None, **kwargs):
        self.channel = channel
        if channel is not None and "initial" not in kwargs:
            config = channel.config or {}
            kwargs["initial"] = {
                "kind": channel.kind,
                "name": channel.name,
                "url": config.get("url", ""),
                "to": "\n".join(config.get("to") or []),
                "unit": channel.unit_id,
                "language": channel.language,
                "active": channel.active,
            }
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = changeable_units(user)
        if not scope_of(user).reach(Action.CHANGE).everything:
            # The whole company's channels are set up by company-wide roles only.
            self.fields["unit"].required = True
            self.fields["unit"].empty_label = None
        style(self)
        self.fields["kind"].widget.attrs["data-kind"] = ""

    @property
    def has_secret(self) -> bool:
        return bool(self.channel is not None and (self.channel.config or {}).get("secret"))

    def config(self) -> dict:
        """The channel's settings: the addresses for e-mail, the URL and secret for the others; an
        empty secret field keeps the stored secret (unless "remove" is ticked)."""
        data = self.cleaned_data
        if data["kind"] == Channel.Kind.EMAIL:
            return {"to": [a for a in re.split(r"[\s,;，；]+", data["to"]) if a]}
        secret = data["secret"]
        if not secret and not data["clear_secret"] and self.channel is not None:
            secret = (self.channel.config or {}).get("secret", "")
        config = {"url": data["url"].strip()}
        if secret:
            config["secret"] = secret
        return config


class SubscriptionForm(forms.Form):
    unit = forms.ModelChoiceField(
        label=_("Team"),
        queryset=OrgUnit.objects.none(),
        required=False,
        empty_label=_("What I follow (default)"),
    )
    by_email = forms.BooleanField(label=_("By e-mail"), required=False)
    in_app = forms.BooleanField(label=_("In the app"), required=False, initial=True)
    at_time = forms.TimeField(label=_("At"), initial="08:30", widget=_time())
    active = forms.BooleanField(label=_("Enabled"), required=False, initial=True)

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = trackable_units(user).order_by("path")
        if not user.email:
            self.fields["by_email"].disabled = True
            self.fields["by_email"].help_text = _("Your account has no e-mail address.")
        style(self)


class RecipientForm(forms.Form):
    language = forms.ChoiceField(label=_("Language of messages"), choices=settings.LANGUAGES)
    mobile = forms.CharField(
        label=_("Mobile (for @-mentions)"),
        max_length=20,
        required=False,
        help_text=_("Robots in DingTalk and WeCom @-mention you by this number."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style(self)
