"""The workstation in a real browser (Debian's chromium through Playwright), on an ingested benign
demo exhibit: sign in, blurred cards, an audited reveal, keyboard grading, consensus of three
reviewers, a supervisor resolving a disagreement, and the summary matching the CLI report.
Screenshots go to test-artifacts/."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from PIL import Image
from sqlalchemy import select
from typer.testing import CliRunner

from safeguard.banks.bank_files import import_bank_file
from safeguard.cli.main import app as cli
from safeguard.demo.corpus import DemoCorpus
from safeguard.review.auth import add_user
from safeguard.review.previews import prepare_case
from safeguard.review.settings import ReviewSettings
from safeguard.store.cases import create_case
from safeguard.store.database import session_scope
from safeguard.store.models import Case
from safeguard.store.previews import get_preview
from safeguard.store.review_models import THUMB, AuditEvent, ReviewOutcome
from safeguard.store.users import assign
from safeguard.triage.ingest import IngestOptions, ingest_exhibit
from safeguard.web.app import create_app
from tests.review.helpers import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
    if os.environ.get("CI"):
        pytest.fail("chromium is missing; ./run test should have installed it")
    pytest.skip(
        "Debian's chromium is not installed (./run test installs it)", allow_module_level=True
    )

sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, demo_corpus: DemoCorpus) -> Iterator[dict]:
    """An ingested demo store with four people, served by uvicorn on a free local port."""
    root = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{root / 'store.sqlite'}"
    old_url, old_index = (
        os.environ.get("SAFEGUARD_DATABASE_URL"),
        os.environ.get("SAFEGUARD_INDEX_DIR"),
    )
    os.environ["SAFEGUARD_INDEX_DIR"] = str(root / "indexes")
    corpus = demo_corpus
    with session_scope(url) as session:
        create_case(session, "OP-BROWSER", "Browser test")
    import_bank_file(corpus.bank_csv, "demo", database_url=url)
    ingest_exhibit(
        "OP-BROWSER", "EX1", corpus.exhibit_dir, IngestOptions(workers=1), database_url=url
    )
    prepare_case("OP-BROWSER", url)
    with session_scope(url) as session:
        case = session.scalar(select(Case).where(Case.reference == "OP-BROWSER"))
        for name, role in (("rev1", "reviewer"), ("rev2", "reviewer"), ("rev3", "reviewer")):
            assign(session, add_user(session, name, PASSWORD, role), case)
        assign(session, add_user(session, "sup", PASSWORD, "supervisor"), case)
        case_id = case.id
    settings = ReviewSettings(votes_required=3, break_after_reveals=3, break_after_minutes=60)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, url), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        yield {"url": url, "base": f"http://127.0.0.1:{port}", "case_id": case_id}
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        for name, value in (
            ("SAFEGUARD_DATABASE_URL", old_url),
            ("SAFEGUARD_INDEX_DIR", old_index),
        ):
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def sign_in(browser, served: dict, username: str):  # noqa: ANN001, ANN201
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(served["base"] + "/")
    assert page.url.endswith("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(served["base"] + "/")
    return page


def open_queue(page, served: dict):  # noqa: ANN001, ANN201
    page.goto(f"{served['base']}/cases/{served['case_id']}/queue")
    page.wait_for_selector("article.card.focused")
    return page


def grade_card(page, key: str, letter: str) -> None:  # noqa: ANN001
    card = page.locator(f'article.card[data-key="{key}"]')
    card.locator(".info").click()
    page.keyboard.press(letter)
    card.wait_for(state="detached")


def outcome_states(url: str) -> dict[int, tuple[str, str | None, str | None]]:
    with session_scope(url) as session:
        rows = session.execute(
            select(
                ReviewOutcome.media_id,
                ReviewOutcome.state,
                ReviewOutcome.category,
                ReviewOutcome.method,
            )
        ).all()
    return {m: (s, c, method) for m, s, c, method in rows}


def high_frequency(image: Image.Image) -> float:
    a = np.asarray(image.convert("L"), dtype=np.float64)
    a = (a - a.mean()) * np.outer(np.hanning(a.shape[0]), np.hanning(a.shape[1]))
    power = np.abs(np.fft.fft2(a)) ** 2
    fy, fx = np.meshgrid(np.fft.fftfreq(a.shape[0]), np.fft.fftfreq(a.shape[1]), indexing="ij")
    return float(power[np.hypot(fx, fy) > 1 / 16].sum() / power.sum())


def test_review_from_sign_in_to_consensus_and_moderation(browser, served: dict) -> None:
    url = served["url"]
    # rev1: blurred cards, an audited reveal, then keyboard grading.
    page = open_queue(sign_in(browser, served, "rev1"), served)
    cards = page.locator("article.card")
    assert cards.count() >= 3
    keys = [cards.nth(i).get_attribute("data-key") for i in range(3)]
    first = cards.nth(0)
    img = first.locator(".preview img").first
    src = img.get_attribute("src")
    assert src.startswith("/api/") and "blurred" in src
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    page.screenshot(path=str(ARTIFACTS / "queue-blurred.png"), full_page=False)
    served_bytes = page.request.get(served["base"] + src).body()
    shown = Image.open(io.BytesIO(served_bytes))
    rgb = np.asarray(shown.convert("RGB"), dtype=np.int16)
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    media_id = int(first.locator(".preview").get_attribute("data-media"))
    with session_scope(url) as session:
        thumb = Image.open(io.BytesIO(get_preview(session, media_id, THUMB)))
    assert high_frequency(shown) < 0.05 * high_frequency(thumb)

    page.keyboard.press("r")
    page.wait_for_function("img => img.src.startsWith('data:image/jpeg')", arg=img.element_handle())
    assert page.inner_text("#exposure-today") == "1"
    page.screenshot(path=str(ARTIFACTS / "queue-revealed.png"))
    with session_scope(url) as session:
        reveals = session.scalars(select(AuditEvent.body).where(AuditEvent.action == "reveal"))
        assert [json.loads(b)["detail"]["media_id"] for b in reveals] == [media_id]

    page.keyboard.press("f")  # the larger view, in an overlay; Escape closes it
    page.wait_for_selector("#viewer img", state="visible")
    page.keyboard.press("Escape")
    page.wait_for_selector("#viewer", state="hidden")
    assert page.inner_text("#exposure-today") == "1"  # a reveal and a full view of one item
    with session_scope(url) as session:
        assert session.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "full_view")
        ).all()

    grade_card(page, keys[0], "a")  # the group: agreed by all three below
    grade_card(page, keys[1], "b")  # the disagreement below
    assert page.locator(f'article.card[data-key="{keys[0]}"]').count() == 0

    # rev2 agrees on the first card and disagrees on the second; rev3 agrees on the first.
    page2 = open_queue(sign_in(browser, served, "rev2"), served)
    grade_card(page2, keys[0], "a")
    grade_card(page2, keys[1], "c")
    page3 = open_queue(sign_in(browser, served, "rev3"), served)
    grade_card(page3, keys[0], "a")

    disputed = keys[1]
    states = outcome_states(url)
    finals = {m for m, o in states.items() if o == ("final", "A", "consensus")}
    disputes = {m for m, o in states.items() if o[0] == "disputed"}
    assert finals and disputes

    # The supervisor sees the disagreement and decides.
    sup = sign_in(browser, served, "sup")
    sup.goto(f"{served['base']}/cases/{served['case_id']}/moderation")
    card = sup.locator(f'article.card[data-key="{disputed}"]')
    assert card.locator("tr[data-category=B]").count() == 1
    assert card.locator("tr[data-category=C]").count() == 1
    sup.screenshot(path=str(ARTIFACTS / "moderation.png"))
    card.locator("select[name=category]").select_option("B")
    card.locator("input[name=victim_identified]").check()
    card.locator("button[type=submit]").click()
    sup.wait_for_selector(f'article.card[data-key="{disputed}"]', state="detached")
    states = outcome_states(url)
    assert all(states[m] == ("final", "B", "moderation") for m in disputes)
    assert all(states[m] == ("final", "A", "consensus") for m in finals)

    # The summary shows the numbers of `safeguard report`.
    sup.goto(f"{served['base']}/cases/{served['case_id']}")
    sup.screenshot(path=str(ARTIFACTS / "summary.png"), full_page=True)
    os.environ["SAFEGUARD_DATABASE_URL"] = url
    result = CliRunner().invoke(cli, ["report", "OP-BROWSER", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    for kind in ("images", "videos"):
        rows = report[kind]["by_category"]
        for row in rows:
            tr = sup.locator(f'tr[data-kind="{kind}"][data-category="{row["category"]}"]')
            assert tr.locator("td.unique").inner_text() == str(row["unique_items"]), row
            assert tr.locator("td.files").inner_text() == str(row["files"]), row
        assert sup.locator(f'tr[data-kind="{kind}"]').count() == len(rows)
    assert sup.inner_text("#summary-sentence") == report["summary"]
    categories = {r["category"]: r["unique_items"] for r in report["images"]["by_category"]}
    assert categories["A"] >= len(finals) and categories["B"] >= len(disputes)
    assert report["exhibits"][0]["graded_by_review"] == len(finals) + len(disputes)


def test_the_break_prompt_and_the_team_exposure(browser, served: dict) -> None:
    page = open_queue(sign_in(browser, served, "rev3"), served)
    assert page.locator("#break-prompt").is_hidden()
    cards = page.locator("article.card")
    for i in range(3):
        cards.nth(i).locator(".info").click()
        page.keyboard.press("r")
        page.wait_for_function(f"() => document.querySelectorAll('img.revealed').length >= {i + 1}")
    page.wait_for_selector("#break-prompt", state="visible")
    page.screenshot(path=str(ARTIFACTS / "break-prompt.png"))
    page.click("#break-prompt button[type=submit]")
    page.wait_for_selector("article.card.focused")
    assert page.locator("#break-prompt").is_hidden()
    assert int(page.inner_text("#exposure-today")) == 3
    sup = sign_in(browser, served, "sup")
    sup.goto(f"{served['base']}/team")
    assert sup.inner_text('tr[data-user="rev3"] td.today') == "3"
    assert sup.inner_text('tr[data-user="rev2"] td.today') == "0"
