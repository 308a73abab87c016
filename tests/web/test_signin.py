"""Sign-in: throttled per client as well as per account, bounded audit, no hashing under lock."""

from __future__ import annotations

import re
import threading
from dataclasses import replace

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from safeguard.review import auth
from safeguard.store.database import session_scope
from safeguard.store.review_models import AuditEvent
from safeguard.web.deps import WRITE_LOCK
from tests.review.helpers import PASSWORD
from tests.web.conftest import Site


def _client(site: Site, address: str) -> TestClient:
    return TestClient(site.app, base_url="http://testserver", client=(address, 40000))


def _try(client: TestClient, username: str, password: str):  # noqa: ANN202
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]*)"', page.text).group(1)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def test_one_client_guessing_many_names_is_throttled_and_others_are_not(site: Site) -> None:
    site.app.state.settings = replace(
        site.app.state.settings, login_max_failures=50, login_client_failures=4
    )
    attacker = _client(site, "203.0.113.9")
    codes = [_try(attacker, f"guess{n}", "wrong").status_code for n in range(4)]
    assert codes == [200, 200, 200, 200]
    blocked = _try(attacker, "rx", PASSWORD)  # a real account, the right password: still refused
    assert blocked.status_code == 429
    assert _try(_client(site, "198.51.100.20"), "rx", PASSWORD).status_code == 303


def test_failed_sign_ins_are_summarised_in_the_audit_log(site: Site) -> None:
    site.app.state.settings = replace(
        site.app.state.settings, login_max_failures=5, login_client_failures=0
    )
    client = _client(site, "192.0.2.44")
    for n in range(40):
        _try(client, "rx" if n % 2 else f"nobody{n % 7}", "wrong")
    with session_scope(site.url) as session:
        rows = session.scalar(select(func.count()).select_from(AuditEvent))
    # one row when each name's run starts and one when it locks: 8 names, not 40 attempts
    assert rows <= 16


def test_password_hashing_runs_without_the_write_lock(site: Site, monkeypatch) -> None:
    seen: list[bool] = []
    original = auth.check_password

    def watched(stored_hash, password):  # noqa: ANN001, ANN202
        free: list[bool] = []

        def probe() -> None:
            got = WRITE_LOCK.acquire(blocking=False)
            free.append(got)
            if got:
                WRITE_LOCK.release()

        thread = threading.Thread(target=probe)
        thread.start()
        thread.join()
        seen.append(free[0])
        return original(stored_hash, password)

    monkeypatch.setattr(auth, "check_password", watched)
    client = _client(site, "192.0.2.45")
    assert _try(client, "rx", "wrong password").status_code == 200
    assert _try(client, "rx", PASSWORD).status_code == 303
    assert seen == [True, True]
