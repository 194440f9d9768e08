import re

import pytest
from playwright.sync_api import expect

from segments.models import Segment
from tests.uploads.conftest import FILES


@pytest.fixture
def upload_dir(settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    return settings.UPLOAD_DIR


def test_upload_an_invalid_file_then_a_fixed_one_through_all_five_steps(marketer_page, upload_dir):
    page = marketer_page
    page.locator("summary", has_text="Data").click()
    page.get_by_role("link", name="Upload", exact=True).click()
    expect(page.get_by_role("heading", name="Upload a CSV file")).to_be_visible()

    # 1. Choose: a file with the same column twice.
    page.get_by_label("Target channel").select_option("email")
    page.get_by_label("CSV file").set_input_files(str(FILES / "duplicate_headers.csv"))
    page.get_by_role("button", name="Read the file").click()
    # 2. Read: the problem is explained, there is no way forward with this file.
    expect(page.locator("#file-problem")).to_contain_text("appears twice (columns 1 and 3)")
    expect(page.get_by_role("link", name="Next: map the columns")).to_have_count(0)

    # The fix: another file.
    page.get_by_role("link", name="Choose another file").click()
    expect(page.get_by_label("Target channel")).to_have_value("email")
    page.get_by_label("CSV file").set_input_files(str(FILES / "cp1252_semicolons.csv"))
    page.get_by_role("button", name="Read the file").click()
    expect(page.locator("dl.details")).to_contain_text("Windows-1252")
    expect(page.locator("dl.details")).to_contain_text("Semicolon")
    expect(page.locator(".upload-sample")).to_contain_text("Café crème")

    # An override that reads it wrongly, then back (htmx swaps the region).
    page.get_by_label("Delimiter").select_option(",")
    page.get_by_role("button", name="Read again").click()
    expect(page.locator("dl.details")).to_contain_text("Comma")
    page.get_by_label("Delimiter").select_option(";")
    page.get_by_role("button", name="Read again").click()
    expect(page.locator("dl.details")).to_contain_text("Columns")
    expect(page.locator("dl.details")).to_contain_text("3: Nom du segment, Identifiant, URL")
    page.get_by_role("link", name="Next: map the columns").click()

    # 3. Map: suggested from the header; a fixed status for every row.
    expect(page.locator("#id_name_source")).to_have_value("column:Nom du segment")
    expect(page.locator("#id_external_id_source")).to_have_value("column:Identifiant")
    fixed = page.locator("#id_is_active_static")
    expect(fixed).to_be_hidden()
    page.locator("#id_is_active_source").select_option("static")
    expect(fixed).to_be_visible()
    fixed.fill("nope")
    expect(page.locator("#mapped-sample")).to_contain_text("Use true/false")
    fixed.fill("no")
    expect(page.locator("#mapped-sample")).to_contain_text("Inactive")
    page.get_by_role("button", name="Next: check the file (dry run)").click()

    # 4. Preview: the dry run's counts, nothing written yet.
    expect(page).to_have_url(re.compile(r"/data/uploads/\d+/$"))
    expect(page.locator('[data-count="created"]')).to_have_text("3")
    expect(page.locator('[data-count="invalid"]')).to_have_text("0")
    assert Segment.objects.count() == 0

    # 5. Upload and Import.
    page.get_by_role("button", name="Upload and Import").click()
    expect(page.get_by_role("status").filter(has_text="Import finished")).to_contain_text(
        "3 created, 0 updated, 0 unchanged"
    )
    assert sorted(Segment.objects.values_list("name", "is_active")) == [
        ("Café crème", False),
        ("Müller & Söhne", False),
        ("Prix en €", False),
    ]

    # The Data page lists both uploads.
    page.get_by_role("link", name="Upload history").first.click()
    expect(page.locator("#upload-history tbody tr")).to_have_count(2)
    expect(page.locator("#upload-history")).to_contain_text("Imported")


def test_a_refused_import_goes_on_with_the_valid_rows_only(
    marketer_page, live_server, upload_dir, tmp_path
):
    page = marketer_page
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(b"name,id,active\nOne,1,yes\nTwo,2,maybe\nThree,3,no\n")
    page.goto(f"{live_server.url}/data/upload/")
    page.get_by_label("Target channel").select_option("email")
    page.get_by_label("CSV file").set_input_files(str(mixed))
    page.get_by_role("button", name="Read the file").click()
    expect(page.locator("dl.details")).to_contain_text("Data rows")
    page.get_by_role("link", name="Next: map the columns").click()
    page.get_by_role("button", name="Next: check the file (dry run)").click()
    expect(page.locator('[data-count="invalid"]')).to_have_text("1")

    # All or nothing: refused, nothing written, and the counts say what would have been.
    page.get_by_role("button", name="Upload and Import").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was imported: 1 row is invalid")
    expect(page.locator(".upload-counts")).to_contain_text("Would create")
    assert Segment.objects.count() == 0
    expect(page.get_by_role("link", name="Download the invalid rows").first).to_be_visible()

    # The way on, on the same file and mapping.
    page.get_by_role("button", name="Import the valid rows only").click()
    expect(page.get_by_role("status").filter(has_text="Import finished")).to_contain_text(
        "2 created, 0 updated, 0 unchanged, 1 invalid row skipped"
    )
    assert sorted(Segment.objects.values_list("name", flat=True)) == ["One", "Three"]
