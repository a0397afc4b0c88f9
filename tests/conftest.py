"""Shared fixtures: a small company with every role the scoping rules distinguish.

公司 HQ (vp manages)
├── 华东 EAST (director_east manages)
│   ├── 上海组 SH (lead_sh manages; rep_sh1, rep_sh2)
│   └── 杭州组 HZ (rep_hz)
└── 华南 SOUTH
    └── 深圳组 SZ (lead_sz manages; rep_sz)
"""

from __future__ import annotations

import datetime as dt
import os
from types import SimpleNamespace

import pytest

from tests.factories import (
    MembershipFactory,
    OrgUnitFactory,
    PersonFactory,
    ProductFactory,
    RegionFactory,
    UserFactory,
)

# Playwright's sync API runs an event loop in the test thread; Django's ORM guard would
# otherwise refuse the test's own database calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "pw-for-tests-only"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """SQLite tests run on a file, as the product does, not on Django's shared in-memory
    database: the live server's request threads and the job worker then hold connections of
    their own (WAL, busy timeout) instead of sharing one, which raced ("database table is
    locked") when a page read the job table while the worker wrote it. The file lives on
    tmpfs when there is one, so the suite is no slower; one per xdist worker."""
    import shutil
    import tempfile
    from pathlib import Path

    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.sqlite3":
        yield
        return
    shm = Path("/dev/shm")
    where = Path(tempfile.mkdtemp(prefix="salestarget-test-", dir=shm if shm.is_dir() else None))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    db.setdefault("TEST", {})["NAME"] = str(where / f"test-{worker}.sqlite3")
    yield
    shutil.rmtree(where, ignore_errors=True)


@pytest.fixture(autouse=True)
def default_language():
    """Every test starts in the product's default language (zh-Hans). Translation state is
    per thread, so a test that activates English (or requests an English page through the
    test client, whose LocaleMiddleware activates it) would otherwise leave it to whichever
    test the same worker runs next."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Argon2 is deliberately slow; tests that are not about hashing use a fast hasher.
    (tests/test_security.py checks that the real settings hash with Argon2.)"""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed_standard_metrics() -> None:
    """The metrics a data migration seeds: a transactional test's flush removes them."""
    import importlib

    from django.apps import apps

    importlib.import_module("salestarget.metrics.migrations.0002_seed_standard_metrics").seed(apps, None)


@pytest.fixture
def company(db):
    from salestarget.org.models import Membership, OrgUnit

    hq = OrgUnitFactory(code="HQ", name="示例公司", kind=OrgUnit.Kind.COMPANY)
    east = OrgUnitFactory(code="EAST", name="华东", kind=OrgUnit.Kind.REGION, parent=hq)
    south = OrgUnitFactory(code="SOUTH", name="华南", kind=OrgUnit.Kind.REGION, parent=hq)
    sh = OrgUnitFactory(code="SH", name="上海组", parent=east)
    hz = OrgUnitFactory(code="HZ", name="杭州组", parent=east)
    sz = OrgUnitFactory(code="SZ", name="深圳组", parent=south)

    def person(username, name, unit, role=Membership.Role.MEMBER):
        user = UserFactory(username=username)
        p = PersonFactory(name=name, user=user)
        MembershipFactory(person=p, unit=unit, role=role, valid_from=dt.date(2022, 1, 1))
        return p

    ns = SimpleNamespace(
        hq=hq,
        east=east,
        south=south,
        sh=sh,
        hz=hz,
        sz=sz,
        vp=person("vp", "王总", hq, Membership.Role.MANAGER),
        director_east=person("director_east", "李华东", east, Membership.Role.MANAGER),
        lead_sh=person("lead_sh", "张上海", sh, Membership.Role.MANAGER),
        rep_sh1=person("rep_sh1", "陈一", sh),
        rep_sh2=person("rep_sh2", "陈二", sh),
        rep_hz=person("rep_hz", "周杭", hz),
        lead_sz=person("lead_sz", "刘深圳", sz, Membership.Role.MANAGER),
        rep_sz=person("rep_sz", "黄深", sz),
        admin=UserFactory(username="admin", is_superuser=True, is_staff=True),
        china=RegionFactory(code="CN", name="中国"),
        product=ProductFactory(code="P1", name="智能网关"),
        password=PASSWORD,
    )
    ns.shanghai = RegionFactory(code="SHA", name="上海", parent=ns.china)
    ns.guangdong = RegionFactory(code="GD", name="广东", parent=ns.china)
    return ns


@pytest.fixture
def login(client):
    """Log the test client in as a username from the ``company`` fixture."""

    def _login(username: str):
        client.logout()
        assert client.login(username=username, password=PASSWORD)
        return client

    return _login
