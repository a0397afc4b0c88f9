"""Typed factories for tests (factory-boy)."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model

from salestarget.catalog.models import Customer, Product, Region
from salestarget.org.models import Membership, OrgUnit, Person


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests-only")


class OrgUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrgUnit

    code = factory.Sequence(lambda n: f"U{n:03d}")
    name = factory.Sequence(lambda n: f"单元{n}")
    kind = OrgUnit.Kind.TEAM


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    code = factory.Sequence(lambda n: f"P{n:04d}")
    name = factory.Sequence(lambda n: f"销售{n}")
    tier = Person.Tier.B
    hire_date = dt.date(2022, 3, 1)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    role = Membership.Role.MEMBER
    valid_from = dt.date(2022, 3, 1)


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region

    code = factory.Sequence(lambda n: f"R{n:03d}")
    name = factory.Sequence(lambda n: f"区域{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    code = factory.Sequence(lambda n: f"SKU{n:04d}")
    name = factory.Sequence(lambda n: f"产品{n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    code = factory.Sequence(lambda n: f"C{n:05d}")
    name = factory.Sequence(lambda n: f"客户{n}有限公司")
