"""The statistics dashboard and the action form in a real browser (Debian's chromium through
Playwright) on a store holding a generated scenario; screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import date

import pytest
import uvicorn

from safeguard.outcomes import services as svc
from safeguard.outcomes.periods import Period
from safeguard.outcomes.synthetic import SNAPSHOT_2015, snapshot_scenario
from safeguard.review.auth import add_user
from safeguard.review.settings import ReviewSettings
from safeguard.store.cases import create_case
from safeguard.store.database import session_scope
from safeguard.web.app import create_app
from tests.review.helpers import PASSWORD

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM) or shutil.which("chromium") is None:
    if os.environ.get("CI"):
        pytest.fail("chromium is missing; ./run test should have installed it")
    pytest.skip(
        "Debian's chromium is not installed (./run test installs it)", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api")

from tests.web.test_browser import ARTIFACTS, CHROMIUM_ARGS, _free_port  # noqa: E402

SMALL = {k: max(2, v // 10) for k, v in SNAPSHOT_2015.items()}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("stats-browser")
    url = f"sqlite:///{root / 'store.sqlite'}"
    scenario = snapshot_scenario(SMALL, seed=11)
    with session_scope(url) as session:
        for case in scenario.cases:
            create_case(session, case, "browser")
        analyst = svc.actor_of(add_user(session, "ana", PASSWORD, "analyst"))
        svc.record_actions(session, analyst, scenario.actions, "browser scenario")
        for outcome in scenario.outcomes:
            svc.record_outcome(session, analyst, outcome)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(ReviewSettings(), url), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        yield {"url": url, "base": f"http://127.0.0.1:{port}", "period": scenario.period}
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.slow
def test_dashboard_shows_the_figures_and_charts_and_an_action_recorded_in_the_form_counts(
    served: dict,
) -> None:
    period: Period = served["period"]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1300}).new_page()
        errors: list[str] = []
        page.on(
            "response",
            lambda r: (
                errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico")
                else None
            ),
        )
        page.goto(served["base"] + "/")
        page.fill("input[name=username]", "ana")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(served["base"] + "/")
        page.click("text=Statistics")
        page.fill("input[name=from]", period.first.isoformat())
        page.fill("input[name=to]", period.last.isoformat())
        page.select_option("select[name=layout]", "snapshot")
        page.click("form.stats-filter button[type=submit]")
        page.wait_for_selector("#figures")
        for key, value in SMALL.items():
            shown = page.inner_text(f'.figure[data-key="{key}"] .value')
            assert shown == f"{value:,}", (key, shown)
        charts = page.locator("#charts svg")
        assert charts.count() == 3
        assert page.locator("#charts svg rect").count() > 10
        box = charts.first.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 150
        page.screenshot(path=str(ARTIFACTS / "stats-dashboard.png"), full_page=True)

        # one more safeguarding of two new children through the form, then the figure moves
        page.click("text=Actions")
        page.select_option("select[name=kind]", "safeguarding")
        page.select_option("select[name=target_kind]", "case")
        page.fill("input[name=target_ref]", "OP-KESTREL")
        page.fill("input[name=occurred_at]", f"{date(period.first.year, 6, 15)}T10:30")
        page.fill("input[name=force]", "WMP")
        page.fill("textarea[name=fields]", "children=2\nhow=removed_from_risk")
        page.click("form.action-form button[type=submit]")
        page.wait_for_selector("#history")
        page.screenshot(path=str(ARTIFACTS / "stats-action-recorded.png"), full_page=True)
        page.goto(f"{served['base']}/stats?from={period.first}&to={period.last}&layout=snapshot")
        shown = page.inner_text('.figure[data-key="children_safeguarded"] .value')
        assert shown == f"{SMALL['children_safeguarded'] + 2:,}"
        assert errors == [], errors
        browser.close()
