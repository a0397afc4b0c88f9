"""What is sold and where: the product tree, the region tree and customers."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from salestarget.core.tree import TreeNode, TreeQuerySet
from salestarget.org.permissions import RestrictedQuerySet, SharedQuerySet


class MasterDataQuerySet(TreeQuerySet, SharedQuerySet):
    """Products and regions are shared reference data: every signed-in user may read them."""


class Product(TreeNode):
    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    unit_price = models.BigIntegerField(_("list price (fen)"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    objects = MasterDataQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["path"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self):
        return self.name


class Region(TreeNode):
    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)
    active = models.BooleanField(_("active"), default=True)

    objects = MasterDataQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["path"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self):
        return self.name


class CustomerQuerySet(RestrictedQuerySet):
    def scope_filter(self, reach):
        # By the owner today: a customer goes with the rep who looks after it now.
        return reach.people_q("owner_id")


class Segment(models.Model):
    """A customer segment of the company's own list (migration 0003 seeds the four the app
    started with: key accounts, SMB, consumers, the public sector); imports may add more."""

    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    objects = SharedQuerySet.as_manager()

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("customer segment")
        verbose_name_plural = _("customer segments")

    def __str__(self):
        return self.name


class Customer(models.Model):
    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    segment = models.ForeignKey(
        Segment,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
        verbose_name=_("segment"),
    )
    region = models.ForeignKey(
        Region,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
        verbose_name=_("region"),
    )
    owner = models.ForeignKey(
        "org.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
        verbose_name=_("account owner"),
    )
    first_deal_date = models.DateField(_("first deal"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self):
        return self.name
