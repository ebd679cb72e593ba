"""End to end in Chromium: sign in, set up a sync on PostgreSQL through the forms, run it,
watch it finish, find a rejected row by key, and check that a viewer cannot change anything.

Screenshots of every page land in ``test-artifacts/web-screenshots/<test name>/``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from browser_harness import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, chromium_missing_reason, serve
from web_fixtures import ADMIN, PASSWORD, VIEWER

from syncline.api import create_app
from syncline.catalog import Catalog
from syncline.settings import Settings

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is a test extra: pip install -e '.[test]'"
)

MISSING = chromium_missing_reason()

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(MISSING is not None, reason=str(MISSING))]

SYNC_HEADING = re.compile("Sync customers-to-serving")

CUSTOMERS = [
    (1, "ada@example.com", "Ada"),
    (2, "bob@example.com", "Bob"),
    (3, "cy@example.com", "Cyrillus"),
    (4, "di@example.com", "Di"),
    (5, "eve@example.com", "Evangeline"),
]
"""The source rows; the destination's name column takes 5 characters, so 3 and 5 are rejected."""


@pytest.fixture
def warehouse(make_postgres_database: Callable[[], str]) -> str:
    """A PostgreSQL database with a ``customers`` table and a narrow ``customers_out``."""
    url = make_postgres_database()
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={name}") as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, name TEXT)")
        with db.cursor() as cursor:
            cursor.executemany("INSERT INTO customers VALUES (%s, %s, %s)", CUSTOMERS)
        db.execute(
            "CREATE TABLE customers_out (id BIGINT PRIMARY KEY, email TEXT, name VARCHAR(5), "
            "origin TEXT, greeting TEXT)"
        )
    return name


@pytest.fixture
def base_url(web_catalog: Catalog, tmp_path: Path) -> Iterator[str]:
    """The whole product (API, UI, workers, scheduler) served on loopback."""
    app = create_app(web_catalog, Settings(home=tmp_path, file_roots=(tmp_path,)), background=True)
    with serve(app) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[object]:
    """Headless Chromium from Debian, reaching loopback only."""
    with playwright_api.sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


class Session:
    """One person's browser tab on the UI, keeping a screenshot of each page."""

    def __init__(self, browser: object, base_url: str, shots: Path) -> None:
        context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        context.route(re.compile(r"^(?!http://127\.0\.0\.1:\d+/).*"), lambda route: route.abort())
        self.page = context.new_page()
        self.page.set_default_timeout(10_000)
        self.shots = shots
        self.count = 0
        shots.mkdir(parents=True, exist_ok=True)

    def shot(self, name: str) -> None:
        self.count += 1
        self.page.screenshot(path=str(self.shots / f"{self.count:02d}-{name}.png"), full_page=True)

    def sign_in(self, email: str) -> None:
        self.page.goto("/")
        self.shot("sign-in")
        self.page.get_by_label("E-mail").fill(email)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(re.compile(r"/$"))


def _shots(request: pytest.FixtureRequest) -> Path:
    return SCREENSHOTS / request.node.name


def test_set_up_run_and_inspect_a_sync_on_postgres(
    browser: object, base_url: str, warehouse: str, request: pytest.FixtureRequest
) -> None:
    admin = Session(browser, base_url, _shots(request))
    page = admin.page
    expect = playwright_api.expect
    admin.sign_in(ADMIN)
    expect(page.get_by_role("heading", name="No syncs yet")).to_be_visible()
    admin.shot("overview-empty")

    # A source, tested before it is saved.
    page.goto("/sources/new")
    page.get_by_label("Type").select_option("postgres")
    expect(page.get_by_role("group", name="Connection settings (postgres)")).to_be_visible()
    page.get_by_label("Name").fill("Warehouse")
    page.get_by_label("Slug").fill("warehouse")
    page.locator("[name='config.host']").fill("127.0.0.1")
    page.locator("[name='config.user']").fill("postgres")
    page.locator("[name='config.database']").fill(warehouse)
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result")).to_contain_text("Connection OK")
    admin.shot("source-form")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")

    # A model, previewed before it is saved.
    page.goto("/models/new")
    page.get_by_label("Name").fill("Customers")
    page.get_by_label("Slug").fill("customers")
    page.get_by_label("Source", exact=True).select_option(label="Warehouse")
    page.get_by_label("SQL", exact=True).fill("SELECT id, email, name FROM customers")
    page.get_by_label("Primary key column").fill("id")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("table.preview tbody tr")).to_have_count(len(CUSTOMERS))
    expect(page.locator("#preview")).to_contain_text("email")
    admin.shot("model-preview")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")

    # A destination in the same database.
    page.goto("/destinations/new")
    page.get_by_label("Type").select_option("postgres")
    expect(page.get_by_role("group", name="Connection settings (postgres)")).to_be_visible()
    page.get_by_label("Name").fill("Serving")
    page.get_by_label("Slug").fill("serving")
    page.locator("[name='config.database']").fill(warehouse)
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result")).to_contain_text("Connection OK")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")

    # The sync: a first try with a guard out of range shows the problem beside the field.
    page.goto("/syncs/new")
    page.get_by_label("Slug").fill("customers-to-serving")
    page.get_by_label("Model", exact=True).select_option(label="Customers")
    expect(page.locator("#columns")).to_contain_text("Model columns: id, email, name")
    page.get_by_label("Destination", exact=True).select_option(label="Serving (postgres)")
    page.locator("[name=object]").fill("public.customers_out")
    page.locator("[name=object]").blur()
    expect(page.locator("#fields")).to_contain_text("origin (text), greeting (text)")
    page.get_by_label(re.compile("Stop a run that removes")).fill("150")
    page.get_by_role("button", name="Save sync").click()
    expect(page.locator("#guards-error")).to_contain_text("enter a number from 0 to 100")
    admin.shot("sync-form-error")
    page.get_by_label(re.compile("Stop a run that removes")).fill("50")
    page.locator("input[name=map_from]").nth(0).fill("email")
    page.locator("input[name=map_to]").nth(0).fill("email")
    page.get_by_role("button", name="Add a mapping row").click()
    expect(page.locator("input[name=map_from]")).to_have_count(4)
    page.locator("input[name=map_from]").nth(1).fill("name")
    page.locator("input[name=map_to]").nth(1).fill("name")
    # A static value and a template: choosing the kind redraws the row with its inputs.
    rows = page.locator(".mapping-row")
    rows.nth(2).get_by_label("Kind").select_option("static")
    rows.nth(2).get_by_label("Value", exact=True).fill("crm")
    rows.nth(2).get_by_label("Field", exact=True).fill("origin")
    rows.nth(3).get_by_label("Kind").select_option("template")
    rows.nth(3).get_by_label("Template", exact=True).fill("Hi {{ name }}")
    rows.nth(3).get_by_label("Field", exact=True).fill("greeting")
    page.get_by_role("button", name="Add a mapping row").click()
    expect(rows).to_have_count(5)
    rows.nth(4).get_by_role("button", name="Remove").click()
    expect(rows).to_have_count(4)
    admin.shot("sync-form-mappings")
    page.get_by_role("button", name="Save sync").click()
    expect(page.get_by_role("heading", name=SYNC_HEADING)).to_be_visible()
    expect(page.get_by_text("column email → email")).to_be_visible()
    expect(page.get_by_text("the value 'crm' → origin")).to_be_visible()
    admin.shot("sync")

    # Run it while a lock holds the destination table, so the run page shows it live;
    # then let it go and watch the page follow it to the end without reloading.
    with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={warehouse}") as lock:
        lock.execute("LOCK TABLE customers_out IN ACCESS EXCLUSIVE MODE")
        page.get_by_role("button", name="Run now").click()
        expect(page.get_by_role("heading", name=re.compile(r"Run #\d+"))).to_be_visible()
        page.evaluate("window.__sameDocument = true")
        expect(page.get_by_text("updating every second")).to_be_visible()
        expect(page.locator(".timeline li.now")).to_have_text(re.compile("processing"))
        admin.shot("run-live")
    expect(page.get_by_role("heading", name="Rejected rows (2)")).to_be_visible(timeout=30_000)
    assert page.evaluate("window.__sameDocument === true"), "the run page reloaded"
    expect(page.get_by_text("updating every second")).to_have_count(0)
    expect(page.locator("#run-summary")).to_contain_text("warning")
    admin.shot("run-finished")

    page.get_by_label("Find a row by primary key").fill("5")
    expect(page.locator("table.rejected tbody tr")).to_have_count(1)
    row = page.locator("table.rejected tbody tr").first
    expect(row).to_contain_text("Evangeline")
    expect(row).to_contain_text("added")
    admin.shot("run-row-search")

    page.goto("/")
    expect(page.get_by_role("link", name="customers-to-serving")).to_be_visible()
    admin.shot("overview")

    # On a phone the page fits the screen; only the wide table scrolls, inside its box.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    admin.shot("overview-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={warehouse}") as db:
        sent = db.execute("SELECT id, origin, greeting FROM customers_out ORDER BY id").fetchall()
    assert sent == [(1, "crm", "Hi Ada"), (2, "crm", "Hi Bob"), (4, "crm", "Hi Di")]

    # A viewer sees the same sync but has nothing to press, and a forged post is refused.
    viewer = Session(browser, base_url, _shots(request) / "viewer")
    viewer.sign_in(VIEWER)
    viewer.page.get_by_role("link", name="customers-to-serving").click()
    expect(viewer.page.get_by_role("heading", name=SYNC_HEADING)).to_be_visible()
    expect(viewer.page.get_by_role("button", name="Run now")).to_have_count(0)
    expect(viewer.page.get_by_role("link", name="Edit")).to_have_count(0)
    viewer.shot("sync-as-viewer")
    sync_path = viewer.page.url.split("127.0.0.1", 1)[1].split("/", 1)[1]
    status = viewer.page.evaluate(
        """async (path) => {
            const token = document.querySelector('input[name=csrf_token]').value;
            const body = new URLSearchParams({csrf_token: token});
            const answer = await fetch('/' + path + '/trigger/run', {method: 'POST', body});
            return answer.status;
        }""",
        sync_path,
    )
    assert status == 403
    viewer.page.goto("/sources")
    viewer.page.get_by_role("link", name="Warehouse").click()
    expect(viewer.page.get_by_role("button", name="Save")).to_have_count(0)
    expect(viewer.page.get_by_label("Name")).to_be_disabled()
    viewer.shot("source-as-viewer")
