"""Trees (org units, products, regions) stored with a materialised path.

A path such as ``/1/7/42/`` makes "this node and everything below it" a single indexed
``path__startswith`` filter, which is what row scoping and rollups ask for on every request.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _


class TreeQuerySet(models.QuerySet):
    def subtree_of(self, nodes) -> TreeQuerySet:
        """Nodes at or below any of ``nodes``."""
        q = models.Q()
        for node in nodes:
            q |= models.Q(path__startswith=node.path)
        return self.filter(q) if q else self.none()


class TreeNode(models.Model):
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent"),
    )
    path = models.CharField(max_length=255, editable=False, db_index=True, default="")
    depth = models.PositiveSmallIntegerField(editable=False, default=0)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        # The path holds the node's own id, so it is known only after the first INSERT.
        with transaction.atomic():
            super().save(*args, **kwargs)
            old_path, self.path = self.path, self._computed_path()
            self.depth = self.path.count("/") - 2
            type(self).objects.filter(pk=self.pk).update(path=self.path, depth=self.depth)
            if old_path and old_path != self.path:
                self._move_descendants(old_path)

    def clean(self):
        super().clean()
        node = self.parent
        while node is not None:
            if self.pk is not None and node.pk == self.pk:
                raise ValidationError(
                    {"parent": _("A node cannot be placed below itself or its own descendant.")}
                )
            node = node.parent

    def _computed_path(self) -> str:
        return (self.parent.path if self.parent_id else "/") + f"{self.pk}/"

    def _move_descendants(self, old_path: str) -> None:
        for node in (
            type(self).objects.filter(path__startswith=old_path).exclude(pk=self.pk).order_by("depth")
        ):
            node.path = self.path + node.path[len(old_path) :]
            node.depth = node.path.count("/") - 2
            type(self).objects.filter(pk=node.pk).update(path=node.path, depth=node.depth)

    def ancestors(self, include_self: bool = True):
        ids = [int(x) for x in self.path.strip("/").split("/") if x]
        if not include_self:
            ids = ids[:-1]
        return type(self).objects.filter(pk__in=ids).order_by("depth")

    def descendants(self, include_self: bool = True):
        qs = type(self).objects.filter(path__startswith=self.path)
        return qs if include_self else qs.exclude(pk=self.pk)

    def is_descendant_of(self, other) -> bool:
        return self.path.startswith(other.path)
