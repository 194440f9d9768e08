"""Every page at a laptop's 1280 px and a phone's 390 px, in one browser session: no serious or
critical accessibility finding (axe-core), no sideways scroll on the phone, and a screenshot of
each into build/screenshots/ (which `make test` prints) for a person to look through."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import expect

from campaigns.models import Campaign
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, make_campaign
from tests.security.conftest import build_world

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
WIDTHS = {"desktop": 1280, "phone": 390}
BLOCKING = {"serious", "critical"}
# Words a marketer's page never shows: template syntax that leaked, or an operator's command.
# (The upload flow's words are its own page's business.)
TEMPLATE_SYNTAX = ("{#", "#}", "{%", "{{")
NOT_FOR_MARKETERS = (*TEMPLATE_SYNTAX, "manage.py")


@pytest.fixture
def world(transactional_db, settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    world = build_world()
    marketer = world.users["marketer"]
    marketer.set_password(PASSWORD)
    marketer.save()
    # Something for the home page to flag: a campaign this week that uses an inactive segment.
    inactive = world.audience.exclusion_segments.get()
    make_campaign(
        world.channels["email"],
        name="Winter sale",
        status=Campaign.Status.SCHEDULED,
        send_at=timezone.now() + timedelta(days=2),
        audience=world.audience,
        include=[world.segment],
        exclude=[inactive],
    )
    return world


def pages(world) -> dict[str, str]:
    """Each page a Marketer can open, by a name for its screenshot."""
    email = world.channels["email"].slug
    segment, audience, campaign = world.segment.pk, world.audience.pk, world.campaign.pk
    upload = world.upload.pk
    return {
        "home": "/",
        "segments": f"/channels/{email}/segments/",
        "segment-detail": f"/channels/{email}/segments/{segment}/",
        "segment-add": f"/channels/{email}/segments/add/",
        "segment-edit": f"/channels/{email}/segments/{segment}/edit/",
        "segment-delete": f"/channels/{email}/segments/{segment}/delete/",
        "audiences": f"/channels/{email}/audiences/",
        "audience-detail": f"/channels/{email}/audiences/{audience}/",
        "audience-new": f"/channels/{email}/audiences/new/",
        "audience-edit": f"/channels/{email}/audiences/{audience}/edit/",
        "audience-delete": f"/channels/{email}/audiences/{audience}/delete/",
        "audience-clone": f"/channels/{email}/audiences/{audience}/clone/",
        "campaigns": "/campaigns/",
        "campaign-calendar": "/campaigns/calendar/",
        "campaign-detail": f"/campaigns/{campaign}/",
        "campaign-new": "/campaigns/new/",
        "campaign-edit": f"/campaigns/{campaign}/edit/",
        "campaign-delete": f"/campaigns/{campaign}/delete/",
        "campaign-duplicate": f"/campaigns/{campaign}/duplicate/",
        "uploads": "/data/",
        "upload": "/data/upload/",
        "upload-read": f"/data/uploads/{upload}/read/",
        "upload-failed": f"/data/uploads/{world.failed_upload.pk}/",
        "klaviyo": "/integrations/klaviyo/",
        "klaviyo-run": f"/integrations/klaviyo/runs/{world.run.pk}/",
        "password-change": "/accounts/password_change/",
        "not-found": "/no/such/page/",
    }


# Buttons, menu headers and form fields a thumb must hit: at least 44 px high on a phone
# (links inside a sentence are exempt, as WCAG's target-size rule has it).
SMALL_TARGETS = """() => [...document.querySelectorAll(
  'button, summary, select, .button, '
  + 'input:not([type=checkbox]):not([type=radio]):not([type=hidden])'
)].filter(el => {
  if (el.closest('[aria-hidden=true]')) return false;  // a default button for Enter, unseen
  const box = el.getBoundingClientRect();
  return box.width > 0 && box.height > 0 && box.height < 43.5;
}).slice(0, 5).map(el => (el.textContent.trim() || el.name || el.tagName).slice(0, 30))"""

# Pages of someone not logged in (visited after the session's cookies are cleared).
PUBLIC_PAGES = {
    "login": "/accounts/login/",
    "password-reset": "/accounts/password_reset/",
    "password-reset-done": "/accounts/password_reset/done/",
}


def _findings(axe: Axe, page) -> list[str]:
    found = []
    for v in axe.run(page).response["violations"]:
        if v["impact"] in BLOCKING:
            where = ", ".join(str(node["target"]) for node in v["nodes"][:3])
            found.append(f"{v['id']} ({v['impact']}): {v['help']} — {where}")
    return found


def test_every_page_is_accessible_fits_a_phone_and_is_photographed(page, world):
    axe = Axe()
    problems: list[str] = []
    sweeps = [(pages(world), True), (PUBLIC_PAGES, False)]
    for visits, logged_in in sweeps:
        if logged_in:
            log_in(page, world.users["marketer"].username)
        else:
            page.context.clear_cookies()
        problems += _sweep(page, axe, visits)
    assert not problems, "\n".join(problems)


def _sweep(page, axe: Axe, visits: dict[str, str]) -> list[str]:
    problems = []
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        folder = SCREENSHOTS / label
        folder.mkdir(parents=True, exist_ok=True)
        for name, url in visits.items():
            page.goto(url)
            expect(page.locator("h1").first).to_be_visible()
            problems += [f"{label} {url}: {finding}" for finding in _findings(axe, page)]
            if width == 1280:
                text = page.locator("body").inner_text()
                words = NOT_FOR_MARKETERS if not url.startswith("/data/") else TEMPLATE_SYNTAX
                problems += [f"{url} shows {w!r}" for w in words if w in text]
            if width < 1280:
                scroll, inner = page.evaluate(
                    "() => [document.scrollingElement.scrollWidth, window.innerWidth]"
                )
                if scroll > inner:
                    problems.append(f"{label} {url}: {scroll} px wide in a {inner} px window")
                small = page.evaluate(SMALL_TARGETS)
                if small:
                    problems.append(f"{label} {url}: touch targets under 44 px: {small}")
            page.screenshot(path=folder / f"{name}.png", full_page=True)
    return problems


def test_the_phone_menu_opens_and_closes_with_the_keyboard(page, world):
    page.set_viewport_size({"width": 390, "height": 800})
    log_in(page, world.users["marketer"].username)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    toggle = page.get_by_role("button", name="Menu")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(nav).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    nav.get_by_role("link", name="Campaigns").click()
    expect(page).to_have_url(re.compile(r"/campaigns/$"))
    expect(nav).to_be_hidden()  # a new page starts with the menu closed
    page.get_by_role("button", name="Menu").click()
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
