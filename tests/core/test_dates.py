"""One date-and-time format everywhere, with the time zone where a time matters."""

import re
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.template import Context, Template
from django.test import override_settings
from django.utils import timezone

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# What a template may pass to |date: the shared formats, or machine-readable and calendar
# parts that are not a date and time shown to a person ("c" for <time datetime>, "Ymd" to
# compare days, "Y-m-d", "Y-m" and the month's last day "Y-m-t" in links, month names).
ALLOWED = {
    "DATETIME_FORMAT",
    "DATE_FORMAT",
    "TIME_FORMAT",
    "c",
    "e",
    "Y-m-d",
    "Y-m-t",
    "Y-m",
    "Ymd",
    "F Y",
}
DATE_FILTER = re.compile(r"""\|date:["']([^"']*)["']""")


def _render(source: str, **context) -> str:
    return Template(source).render(Context(context))


def test_a_time_reads_the_same_everywhere_with_its_time_zone():
    moment = datetime(2026, 12, 1, 14, 5, tzinfo=UTC)
    assert _render('{{ t|date:"DATETIME_FORMAT" }}', t=moment) == "1 Dec 2026, 14:05 UTC"
    assert _render("{{ t }}", t=moment) == "1 Dec 2026, 14:05 UTC"  # a plain {{ }} too
    assert _render('{{ t|date:"DATE_FORMAT" }}', t=moment) == "1 Dec 2026"


@override_settings(TIME_ZONE="Europe/Paris")
def test_times_are_shown_in_the_configured_time_zone():
    moment = datetime(2026, 12, 1, 14, 5, tzinfo=UTC)
    with timezone.override("Europe/Paris"):
        assert _render('{{ t|date:"DATETIME_FORMAT" }}', t=moment) == "1 Dec 2026, 15:05 CET"


def test_no_template_writes_a_date_format_of_its_own():
    found = []
    for path in TEMPLATES.rglob("*.html"):
        for fmt in DATE_FILTER.findall(path.read_text()):
            if fmt not in ALLOWED:
                found.append(f"{path.relative_to(TEMPLATES)}: |date:{fmt!r}")
        if "naturaltime" in path.read_text():
            found.append(f"{path.relative_to(TEMPLATES)}: naturaltime")
    assert not found, found
