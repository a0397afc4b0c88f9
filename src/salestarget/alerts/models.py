"""Alert rules, the channels they speak through, what each message became, and subscriptions.

A rule watches a plan's targets in a subtree for one condition on the tracking figures; each
node and period keeps one :class:`AlertState`, so a lagging target is announced once, and once
more when it is back on track. Every message to anyone is a :class:`Delivery` row first: the
background worker claims it with a conditional UPDATE, sends it through the channel's transport
and records the answer, so several workers never send it twice and the log shows every try.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salestarget.org.permissions import RestrictedQuerySet


class UnitScopedQuerySet(RestrictedQuerySet):
    """Rows that belong to a subtree (``unit``; none: the whole company, for company-wide roles)."""

    def scope_filter(self, reach):
        return reach.units_q("unit__") if reach.paths else Q(pk__in=[])


class Channel(models.Model):
    class Kind(models.TextChoices):
        EMAIL = "email", _("E-mail")
        DINGTALK = "dingtalk", _("DingTalk robot")
        WECOM = "wecom", _("WeCom robot")
        FEISHU = "feishu", _("Feishu bot")
        WEBHOOK = "webhook", _("Webhook")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # url and secret for robots and webhooks, to (addresses) for a group mailbox.
    config = models.JSONField(_("settings"), default=dict)
    unit = models.ForeignKey(
        "org.OrgUnit",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("audience"),
        help_text=_("The channel only carries figures of this unit's subtree (empty: the whole company)."),
    )
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default="zh-hans")
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = UnitScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("channel")
        verbose_name_plural = _("channels")

    def __str__(self):
        return self.name


class AlertRule(models.Model):
    class Condition(models.TextChoices):
        LAGGING = "lagging", _("Status is lagging or at risk")
        AT_RISK = "at_risk", _("Status is at risk")
        # "x% o" is not a format directive (else msgfmt --check refuses the translation):
        # xgettext:no-python-format
        BEHIND_TIME = "behind_time", _("Achievement below x% of time progress")
        PROJECTION = "projection", _("Projection below the target")
        CHANCE = "chance", _("Chance of reaching the target below p%")
        GAP = "gap", _("Gap above an amount")
        DAILY_REPORT = "daily_report", _("Daily report not filed by a time")
        MILESTONE = "milestone", _("A milestone date passes unmet")

    class PeriodKind(models.TextChoices):
        MONTH = "month", _("Month")
        QUARTER = "quarter", _("Quarter")
        YEAR = "year", _("Year")

    name = models.CharField(_("name"), max_length=100)
    plan = models.ForeignKey("targets.Plan", on_delete=models.CASCADE, related_name="alert_rules")
    unit = models.ForeignKey(
        "org.OrgUnit", on_delete=models.CASCADE, related_name="+", verbose_name=_("subtree")
    )
    period_kind = models.CharField(
        _("period"), max_length=8, choices=PeriodKind.choices, default=PeriodKind.MONTH
    )
    condition = models.CharField(_("condition"), max_length=16, choices=Condition.choices)
    # Percent (behind_time, chance, milestone) or an amount in the metric's minor units (gap).
    threshold = models.BigIntegerField(_("threshold"), null=True, blank=True)
    at_time = models.TimeField(pgettext_lazy("deadline", "due by"), null=True, blank=True)  # daily_report
    milestone = models.DateField(_("milestone date"), null=True, blank=True)
    notify_owner = models.BooleanField(_("the responsible person"), default=True)
    notify_managers = models.BooleanField(_("their managers"), default=True)
    channels = models.ManyToManyField(Channel, blank=True, related_name="rules", verbose_name=_("channels"))
    quiet_from = models.TimeField(_("quiet from"), null=True, blank=True)
    quiet_until = models.TimeField(_("quiet until"), null=True, blank=True)
    working_days_only = models.BooleanField(_("working days only"), default=True)
    active = models.BooleanField(_("active"), default=True)
    checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = UnitScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")

    def __str__(self):
        return self.name


class AlertState(models.Model):
    """Whether a rule's condition holds for one node in one period: the de-duplication."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="states")
    node = models.CharField(max_length=24)  # tracking Node.key: "u12", "p34"
    period_start = models.DateField()
    firing = models.BooleanField(default=False)
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "node", "period_start"], name="alert_state_key")
        ]

    def __str__(self):
        return f"{self.rule_id} {self.node} {self.period_start} {'firing' if self.firing else 'clear'}"


class DeliveryQuerySet(RestrictedQuerySet):
    def restrict(self, user, action="view"):
        """What the reach allows, and always the user's own messages (a viewer has no person)."""
        allowed = super().restrict(user, action)
        return allowed | self.filter(user_id=user.pk) if user.is_authenticated else allowed

    def scope_filter(self, reach):
        # A manager sees the messages of the rules and channels of their subtrees, and their own.
        mine = Q(user__person__id=reach.person_id) if reach.person_id else Q(pk__in=[])
        return (
            (reach.units_q("rule__unit__") | reach.units_q("channel__unit__") | mine) if reach.paths else mine
        )


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    class Reason(models.TextChoices):
        ALERT = "alert", _("Alert")
        CLEAR = "clear", _("Back on track")
        REPORT = "report", _("Report")
        TEST = "test", _("Test message")

    # A group channel, or a person by e-mail or in the app.
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    via = models.CharField(_("via"), max_length=16)  # a Channel.Kind, or "app"
    rule = models.ForeignKey(AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(_("reason"), max_length=8, choices=Reason.choices)
    key = models.CharField(max_length=200, unique=True)  # the same message is never queued twice
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField()
    markdown = models.TextField()
    html = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True)
    at_mobiles = models.JSONField(default=list, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    due_at = models.DateTimeField(_("due"))
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    response = models.TextField(_("response"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "due_at"])]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")

    def __str__(self):
        return f"{self.get_reason_display()} {self.via} {self.get_status_display()}"


class NotificationQuerySet(models.QuerySet):
    def mine(self, user):
        return self.filter(user=user)


class Notification(models.Model):
    """The in-app list (站内通知): a message the app shows its user."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField(max_length=200)
    text = models.TextField()
    link = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.title


class Subscription(models.Model):
    """A user's scheduled report: 日报, 周报 or 月报 of a subtree (none: what they follow by default)."""

    class Kind(models.TextChoices):
        DAILY = "daily", pgettext_lazy("subscription", "Daily report")
        WEEKLY = "weekly", pgettext_lazy("subscription", "Weekly report")
        MONTHLY = "monthly", pgettext_lazy("subscription", "Monthly report")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions")
    kind = models.CharField(_("report"), max_length=8, choices=Kind.choices)
    plan = models.ForeignKey(
        "targets.Plan", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    unit = models.ForeignKey("org.OrgUnit", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    by_email = models.BooleanField(_("by e-mail"), default=True)
    in_app = models.BooleanField(_("in the app"), default=True)
    at_time = models.TimeField(_("at"), default="08:30")
    active = models.BooleanField(_("active"), default=True)
    last_for = models.DateField(null=True, blank=True, editable=False)  # the last day reported on

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="one_subscription_per_kind")]

    def __str__(self):
        return f"{self.user} {self.kind}"


class Recipient(models.Model):
    """How a user is reached: their language and the mobile number robots @-mention."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recipient")
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default="zh-hans")
    mobile = models.CharField(_("mobile"), max_length=20, blank=True)

    def __str__(self):
        return str(self.user)
