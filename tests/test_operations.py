"""Running the server safely (issue 10, "Operations"): login throttling, TLS behind a proxy,
private data files, and no database writes on read requests."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

LOGIN = "/accounts/login/"
LOCKED_ZH = "登录失败次数过多"
LOCKED_EN = "Too many failed sign-in attempts"
WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE")


# --- 1. Login throttling ---------------------------------------------------------------------


def post_login(client, username, password, address="10.0.0.1", **extra):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, **extra)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.django_db
def test_thirty_wrong_passwords_then_the_right_one_is_refused_with_a_message(client, company):
    for _ in range(30):
        assert post_login(client, "rep_sh1", "wrong").status_code in (200, 429)
    response = post_login(client, "rep_sh1", company.password)
    assert not signed_in(client)
    assert response.status_code == 429
    page = response.content.decode()
    # The app's own login page, in its layout, with the reason: not a bare 403.
    assert LOCKED_ZH in page and "st-login-card" in page and "navbar" in page
    assert 'name="password"' in page


@pytest.mark.django_db
def test_the_lockout_message_is_translated(client, company):
    for _ in range(6):
        post_login(client, "rep_sh1", "wrong", HTTP_ACCEPT_LANGUAGE="en")
    response = post_login(client, "rep_sh1", company.password, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 429 and LOCKED_EN in response.content.decode()


@pytest.mark.django_db
def test_fewer_failures_than_the_limit_still_sign_in_and_clear_own_typos(client, company):
    for _ in range(4):
        post_login(client, "rep_sh1", "wrong")
    assert post_login(client, "rep_sh1", company.password).status_code == 302
    assert signed_in(client)
    client.logout()
    # The typos from this address were cleared by the successful sign-in.
    for _ in range(4):
        post_login(client, "rep_sh1", "wrong")
    assert post_login(client, "rep_sh1", company.password).status_code == 302


@pytest.mark.django_db
def test_one_account_is_protected_from_a_spread_attack(client, company):
    """Failures from many addresses add up for the account."""
    for n in range(30):
        post_login(client, "rep_sh1", "wrong", address=f"10.1.0.{n + 1}")
    response = post_login(client, "rep_sh1", company.password, address="10.9.9.9")
    assert response.status_code == 429 and not signed_in(client)
    # Other accounts are not affected.
    assert post_login(client, "rep_sh2", company.password, address="10.9.9.9").status_code == 302


@pytest.mark.django_db
def test_one_address_is_stopped_from_trying_many_accounts(client, company, settings):
    """Spraying: a few tries each on many accounts from one address stops the address."""
    per_address = settings.SALESTARGET_LOGIN_FAILURES_PER_ADDRESS
    per_account = settings.AXES_FAILURE_LIMIT
    assert per_address > per_account
    n = 0
    while n < per_address:
        post_login(client, f"guess{n // 2}", "wrong", address="10.2.0.1")  # 2 tries per account
        n += 1
    # An account that was never tried, with the right password, from that address: refused.
    response = post_login(client, "rep_hz", company.password, address="10.2.0.1")
    assert response.status_code == 429 and not signed_in(client)
    # The same account from another address is fine: no account was locked.
    assert post_login(client, "rep_hz", company.password, address="10.2.0.2").status_code == 302


@pytest.mark.django_db
def test_unlock_command_lets_the_account_sign_in_again(client, company):
    from django.core.management import call_command

    for _ in range(10):
        post_login(client, "rep_sh1", "wrong")
    assert post_login(client, "rep_sh1", company.password).status_code == 429
    call_command("unlock", "rep_sh1", stdout=io.StringIO())
    assert post_login(client, "rep_sh1", company.password).status_code == 302
    assert signed_in(client)


@pytest.mark.django_db
def test_unlock_command_frees_an_address(client, company, settings):
    from django.core.management import call_command

    for n in range(settings.SALESTARGET_LOGIN_FAILURES_PER_ADDRESS):
        post_login(client, f"guess{n}", "wrong", address="10.3.0.1")
    assert post_login(client, "rep_sh1", company.password, address="10.3.0.1").status_code == 429
    call_command("unlock", "--address", "10.3.0.1", stdout=io.StringIO())
    assert post_login(client, "rep_sh1", company.password, address="10.3.0.1").status_code == 302


@pytest.mark.django_db
def test_axes_reset_also_unlocks(client, company):
    from django.core.management import call_command

    for _ in range(10):
        post_login(client, "rep_sh1", "wrong")
    assert post_login(client, "rep_sh1", company.password).status_code == 429
    call_command("axes_reset", stdout=io.StringIO())
    assert post_login(client, "rep_sh1", company.password).status_code == 302


@pytest.mark.django_db
def test_the_admin_login_is_throttled_too(client, company):
    for _ in range(10):
        client.post("/admin/login/", {"username": "admin", "password": "wrong"}, REMOTE_ADDR="10.4.0.1")
    response = client.post(
        "/admin/login/", {"username": "admin", "password": company.password}, REMOTE_ADDR="10.4.0.1"
    )
    assert response.status_code == 429 and not signed_in(client)


@pytest.mark.django_db
def test_client_login_without_a_request_still_works(client, company):
    """Test helpers call authenticate() without a request; they are not throttled or broken."""
    assert client.login(username="rep_sh1", password=company.password)
    assert not client.login(username="rep_sh1", password="wrong")


def test_client_address_behind_a_proxy(rf, settings):
    from salestarget.accounts.auth import client_ip

    settings.SALESTARGET_PROXY_COUNT = 0
    request = rf.post(LOGIN, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert client_ip(request) == "127.0.0.1"  # not behind a proxy: the header is the client's word
    settings.SALESTARGET_PROXY_COUNT = 1
    # nginx appends the address it saw: the right-most entry; whatever the client put before is ignored.
    request = rf.post(LOGIN, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    assert client_ip(request) == "203.0.113.7"
    request = rf.post(LOGIN, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="not-an-address")
    assert client_ip(request) == "127.0.0.1"
    request = rf.post(LOGIN, REMOTE_ADDR="")  # a Unix socket: no usable address
    assert client_ip(request) is None


# --- 2. TLS behind a reverse proxy -------------------------------------------------------------


def transport(**env) -> dict:
    """The transport settings that the environment ``env`` (and nothing else) gives."""
    from salestarget import config

    return config.load(env).transport.django_settings()


def test_transport_settings_by_default_are_plain_http():
    s = transport()
    assert s["SESSION_COOKIE_SECURE"] is False and s["CSRF_COOKIE_SECURE"] is False
    assert s["SECURE_PROXY_SSL_HEADER"] is None
    assert s["SECURE_HSTS_SECONDS"] == 0 and s["SECURE_SSL_REDIRECT"] is False
    assert s["USE_X_FORWARDED_HOST"] is False and s["SALESTARGET_PROXY_COUNT"] == 0
    assert s["SESSION_COOKIE_SAMESITE"] == "Lax" and s["CSRF_COOKIE_SAMESITE"] == "Lax"


def test_behind_tls_marks_cookies_secure_and_trusts_the_proxy():
    s = transport(SALESTARGET_BEHIND_TLS="true")
    assert s["SESSION_COOKIE_SECURE"] is True and s["CSRF_COOKIE_SECURE"] is True
    assert s["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert s["SECURE_HSTS_SECONDS"] == 31536000
    assert s["SALESTARGET_PROXY_COUNT"] == 1
    s = transport(
        SALESTARGET_BEHIND_TLS="true",
        SALESTARGET_HSTS_SECONDS="3600",
        SALESTARGET_SSL_REDIRECT="true",
        SALESTARGET_USE_X_FORWARDED_HOST="true",
    )
    assert s["SECURE_HSTS_SECONDS"] == 3600 and s["SECURE_SSL_REDIRECT"] and s["USE_X_FORWARDED_HOST"]


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"SALESTARGET_HSTS_SECONDS": "-1"}, "SALESTARGET_HSTS_SECONDS"),
        ({"SALESTARGET_SSL_REDIRECT": "true"}, "SALESTARGET_SSL_REDIRECT"),
        ({"SALESTARGET_BEHIND_TLS": "sure"}, "SALESTARGET_BEHIND_TLS"),
        ({"SALESTARGET_PROXY_COUNT": "-1"}, "SALESTARGET_PROXY_COUNT"),
    ],
)
def test_bad_transport_settings_name_themselves(env, setting):
    from salestarget.config import ConfigError

    with pytest.raises(ConfigError, match=setting):
        transport(**env)


def test_the_settings_module_applies_the_tls_settings(tmp_path):
    env = {**os.environ, "SALESTARGET_HOME": str(tmp_path), "SALESTARGET_BEHIND_TLS": "true"}
    code = (
        "import json; from salestarget import settings as s; print(json.dumps([s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_PROXY_SSL_HEADER, s.SECURE_HSTS_SECONDS]))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert json.loads(out.stdout) == [True, True, ["HTTP_X_FORWARDED_PROTO", "https"], 31536000], out.stderr


@pytest.mark.django_db
def test_behind_tls_responses_carry_hsts_and_secure_cookies(client, company, settings):
    for name, value in transport(SALESTARGET_BEHIND_TLS="true").items():
        setattr(settings, name, value)
    https = {"HTTP_X_FORWARDED_PROTO": "https"}
    response = client.get(LOGIN, **https)
    assert response["Strict-Transport-Security"] == "max-age=31536000"
    assert response.cookies["csrftoken"]["secure"] is True
    response = post_login(client, "rep_sh1", company.password, **https)
    assert response.status_code == 302
    assert response.cookies["sessionid"]["secure"] is True
    assert response.cookies["sessionid"]["httponly"] is True
    assert response.cookies["sessionid"]["samesite"] == "Lax"
    # A request that did not come through the TLS proxy gets no HSTS header.
    assert "Strict-Transport-Security" not in client.get(LOGIN)


# --- 3. Private data files ---------------------------------------------------------------------

START_THE_APP = textwrap.dedent(
    """
    import json, os, stat
    import salestarget.wsgi  # what gunicorn loads: makes the data directory ready, sets Django up
    from django.conf import settings
    from django.core import signing
    from django.db import connection
    from salestarget.actuals.uploads import upload_root
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE probe (x integer)")
        cursor.execute("INSERT INTO probe VALUES (1)")
    signing.dumps("the first signature makes the secret key")
    upload_root().joinpath("first").mkdir(mode=0o700, parents=True)  # as the first upload does
    home = settings.HOME
    db = connection.settings_dict["NAME"]
    paths = {
        "home": home, "db": db, "wal": db + "-wal", "shm": db + "-shm",
        "secret_key": home / "secret_key", "uploads": settings.MEDIA_ROOT,
    }
    print(json.dumps({k: oct(stat.S_IMODE(os.stat(p).st_mode)) for k, p in paths.items()}))
    """
)


def start_the_app(home: Path) -> dict:
    env = {
        k: v for k, v in os.environ.items() if k not in ("SALESTARGET_SECRET_KEY", "SALESTARGET_DATABASE_URL")
    }
    env["SALESTARGET_HOME"] = str(home)
    out = subprocess.run(
        [sys.executable, "-c", START_THE_APP],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        umask=0o022,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_a_new_data_directory_is_private(tmp_path):
    modes = start_the_app(tmp_path / "data")
    assert modes == {
        "home": "0o700",
        "db": "0o600",
        "wal": "0o600",
        "shm": "0o600",
        "secret_key": "0o600",
        "uploads": "0o700",
    }


def test_an_existing_open_data_directory_is_tightened(tmp_path):
    home = tmp_path / "data"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    (home / "salestarget.sqlite3").touch()
    (home / "salestarget.sqlite3").chmod(0o644)
    modes = start_the_app(home)
    assert modes["home"] == "0o700" and modes["db"] == "0o600"


def test_the_secret_key_is_never_readable_by_others(tmp_path, monkeypatch):
    """Written with mode 0600 from the start, not tightened after the fact."""
    from salestarget import config

    monkeypatch.setattr(Path, "chmod", lambda self, mode: None)
    monkeypatch.setattr(os, "chmod", lambda path, mode, **kw: None)
    old = os.umask(0)
    try:
        key = config.generated_secret_key(tmp_path)
    finally:
        os.umask(old)
    config.generated_secret_key.cache_clear()
    assert len(key) > 40 and config.generated_secret_key(tmp_path) == key
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


READ_THE_SETTINGS = textwrap.dedent(
    """
    import json, os, warnings
    from pathlib import Path
    warnings.simplefilter("error")  # whitenoise warns about a missing STATIC_ROOT, for one
    home = Path(os.environ["SALESTARGET_HOME"])

    def files():
        return sorted(str(p.relative_to(home)) for p in home.rglob("*")) if home.exists() else None

    import django
    import salestarget.settings
    os.environ["DJANGO_SETTINGS_MODULE"] = "salestarget.settings"
    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import Client
    WSGIHandler()  # every middleware, whitenoise's included
    static = Client().get("/static/salestarget/app.css")
    after_reading = files()
    from django.core import signing
    signing.dumps("first use")
    print(json.dumps({"read": after_reading, "used": files(), "static": static.status_code}))
    """
)


@pytest.mark.parametrize("existing", [False, True], ids=["no-folder", "empty-folder"])
def test_reading_the_settings_writes_nothing(tmp_path, existing):
    """Importing the settings and setting Django up create no folder and no file: the data
    directory is made by the commands that use it, the secret key when it is first needed."""
    home = tmp_path / "home"
    if existing:
        home.mkdir()
    env = {
        k: v for k, v in os.environ.items() if k not in ("SALESTARGET_SECRET_KEY", "SALESTARGET_DATABASE_URL")
    }
    env["SALESTARGET_HOME"] = str(home)
    out = subprocess.run(
        [sys.executable, "-c", READ_THE_SETTINGS], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["read"] == ([] if existing else None)
    assert result["used"] == ["secret_key"]
    assert result["static"] == 200  # served from the app's own folder, no STATIC_ROOT needed


# --- 4. No writes on read requests -------------------------------------------------------------


def writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITE_VERBS)]


@pytest.mark.django_db
def test_a_token_read_writes_nothing(client, company):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from salestarget.accounts.models import ApiToken

    token, raw = ApiToken.issue(company.rep_sh1.user, "bi")
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/v1/accounts/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert client.head("/api/v1/accounts/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code in (
            200,
            405,
        )
    assert response.status_code == 200
    assert writes(ctx.captured_queries) == []
    token.refresh_from_db()
    assert token.last_used_at is None


@pytest.mark.django_db
def test_a_token_write_records_its_use(client, company):
    from salestarget.accounts.models import ApiToken

    token, raw = ApiToken.issue(company.rep_sh1.user, "erp")
    client.post(
        "/api/v1/actuals/facts/bulk",
        "{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.django_db
def test_signed_in_pages_write_nothing(client, company):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(company.lead_sh.user)
    for url in ("/", "/org/", "/api/v1/accounts/me", "/api/v1/org/units"):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200, url
        assert writes(ctx.captured_queries) == [], url


READERS_DURING_A_WRITE = textwrap.dedent(
    """
    import json, os, sqlite3, threading, time, django
    os.environ["DJANGO_SETTINGS_MODULE"] = "salestarget.settings"
    from salestarget import settings as s

    class NoMigrations(dict):  # tables straight from the models: quick, and enough here
        def __contains__(self, item):
            return True
        def __getitem__(self, item):
            return None

    s.MIGRATION_MODULES = NoMigrations()
    s.DATABASES["default"]["OPTIONS"]["timeout"] = 0.5  # the import holds the lock longer than this
    s.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    s.ALLOWED_HOSTS = ["testserver"]
    django.setup()
    from django.core.management import call_command
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from salestarget.accounts.models import ApiToken

    call_command("migrate", run_syncdb=True, verbosity=0)
    user = get_user_model().objects.create_user("bi", password="x", is_superuser=True)
    _token, raw = ApiToken.issue(user, "bi")
    db = connection.settings_dict["NAME"]
    assert Client().get("/api/v1/accounts/me").status_code == 401  # imports the URLs and the API
    connection.close()

    locked = threading.Event()
    def importer():  # a long import: one write transaction held for 2 s
        con = sqlite3.connect(db, timeout=5, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        con.execute("UPDATE accounts_apitoken SET name = 'x'")
        locked.set()
        time.sleep(2)
        con.execute("COMMIT")
        con.close()

    statuses = []
    def reader():
        from django.db import connections
        client = Client(raise_request_exception=False)
        deadline = time.monotonic() + 1.8
        while time.monotonic() < deadline:
            response = client.get("/api/v1/accounts/me", HTTP_AUTHORIZATION="Bearer " + raw)
            statuses.append(response.status_code)
        connections.close_all()

    writer = threading.Thread(target=importer)
    writer.start()
    locked.wait(5)
    readers = [threading.Thread(target=reader) for _ in range(6)]
    for t in readers:
        t.start()
    for t in readers + [writer]:
        t.join()
    print(json.dumps(statuses))
    """
)


def test_token_readers_do_not_fail_while_an_import_holds_the_write_lock(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SALESTARGET_DATABASE_URL"}
    env["SALESTARGET_HOME"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", READERS_DURING_A_WRITE], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    statuses = json.loads(out.stdout.strip().splitlines()[-1])
    assert statuses, "no request was made"
    assert set(statuses) == {200}, f"{len([s for s in statuses if s != 200])} of {len(statuses)} failed"
