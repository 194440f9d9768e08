"""Reading uploaded CSV files: detect encoding, delimiter and header, then stream the rows.

Files come from spreadsheets on every continent, so messy input is the normal case: byte order
marks, cp1252 accents, semicolons, CR-only line ends, quoted newlines, blank lines, stray
non-breaking spaces. Everything here streams; nothing holds the whole file in memory.
"""

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import charset_normalizer

SAMPLE_BYTES = 64 * 1024

DELIMITERS = {",": "Comma (,)", ";": "Semicolon (;)", "\t": "Tab", "|": "Pipe (|)"}
DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|", "\\t": "\t"}

ENCODINGS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "utf-16": "UTF-16 (with BOM)",
    "utf-16-le": "UTF-16 little-endian (no BOM)",
    "utf-16-be": "UTF-16 big-endian (no BOM)",
    "utf-32": "UTF-32 (with BOM)",
    "utf-32-le": "UTF-32 little-endian (no BOM)",
    "utf-32-be": "UTF-32 big-endian (no BOM)",
    "cp1252": "Windows-1252 (Western Europe)",
    "latin-1": "ISO-8859-1 (Latin-1)",
    "cp1250": "Windows-1250 (Central Europe)",
    "cp1251": "Windows-1251 (Cyrillic)",
    "mac-roman": "Mac Roman",
    "shift_jis": "Shift JIS",
    "gb18030": "GB18030",
}
# Read from a byte order mark or valid UTF-8: anything else is a guess the user should check.
CERTAIN_ENCODINGS = frozenset(
    {"utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"}
)
# Text codecs Python has that are no file encoding (they escape or punycode text).
_NOT_FILE_ENCODINGS = frozenset(
    {"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined"}
)
# charset-normalizer guesses among look-alike single-byte Western encodings are not reliable on
# short samples; Excel on Windows writes cp1252, so that wins when it decodes the sample.
_WESTERN_LOOKALIKES = {
    "cp1250",
    "cp1252",
    "cp1254",
    "cp1257",
    "latin_1",
    "iso8859_2",
    "iso8859_9",
    "iso8859_15",
    "iso8859_10",
    "iso8859_13",
    "iso8859_14",
    "iso8859_16",
    "mac_roman",
    "mac_latin2",
    "cp850",
    "cp858",
}
# Spreadsheets protect formulas with a leading apostrophe; the export does the same.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


NO_DATA_ROWS = "The file has a header row but no data rows. Add the rows below the header."
DEFAULT_MAX_COLUMNS = 200
COLUMN_NAME_MAX = 100
# Rows with broken quoting before the file is taken to be the wrong kind of CSV altogether.
MAX_BROKEN_ROWS = 1000
SAMPLE_ROWS = 10
CHANGED_ROWS = 10
REPLACEMENT = "\ufffd"
# Bytes the encoding cannot read come back as lone surrogates (errors="surrogateescape").
_NOT_TEXT = re.compile("[\x00\udc80-\udcff]")
_UNDECODED = re.compile("[\udc80-\udcff]")


class FileProblem(Exception):
    """The file cannot be read as a CSV table; the message is for the user."""


@dataclass(frozen=True)
class Detected:
    encoding: str
    delimiter: str

    @property
    def guessed(self) -> bool:
        """Neither a byte order mark nor valid UTF-8 said which encoding it is."""
        return self.encoding not in CERTAIN_ENCODINGS


class Row(NamedTuple):
    number: int  # the line of the file where the row starts: the header is line 1
    cells: list[str]
    extra: bool  # the row has non-empty cells beyond the header's columns
    problem: str = ""  # the row cannot be read as it is (bytes that are not text, quoting)


@dataclass
class Scan:
    """What reading a whole file found: for the read step and the upload's record."""

    header: list[str]
    total: int = 0
    sample: list[Row] = field(default_factory=list)
    problem_rows: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)  # the first few
    # Rows whose text depends on the encoding: (line, as read, as UTF-8 would read it).
    changed: list[tuple[int, str, str]] = field(default_factory=list)


def clean(value: str) -> str:
    """A cell as imported: surrounding whitespace (non-breaking spaces too) removed, and the
    apostrophe that neutralises a formula (as our export writes it) taken off."""
    value = value.strip()
    if value.startswith("'") and value.lstrip("'").startswith(FORMULA_TRIGGERS):
        value = value[1:]
    return value


def neutralise(value: str) -> str:
    """The inverse of the apostrophe rule in `clean`: cells a spreadsheet would run as a
    formula get a leading apostrophe (and so do cells that already look neutralised)."""
    if value.lstrip("'").startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def encoding_label(encoding: str) -> str:
    return ENCODINGS.get(encoding, encoding)


def delimiter_label(delimiter: str) -> str:
    return DELIMITERS.get(delimiter, repr(delimiter))


def parse_delimiter(value: str) -> str:
    """A delimiter given by name or as the character; FileProblem when not supported."""
    value = DELIMITER_NAMES.get(value.strip().lower(), value) if value.strip() else value
    if value not in DELIMITERS:
        raise FileProblem("The delimiter must be a comma, semicolon, tab or pipe.")
    return value


def check_encoding(value: str) -> str:
    """A text encoding by any of its names (the canonical one unless it is offered as is);
    FileProblem for an unknown name or a codec that does not turn bytes into text."""
    try:
        info = codecs.lookup(value)
    except LookupError:
        raise FileProblem(
            f"“{value}” is not an encoding we know. Use a text encoding such as utf-8, "
            "utf-16 or cp1252."
        ) from None
    # Python marks the codecs that turn bytes into text (str.encode refuses the others).
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_FILE_ENCODINGS:
        raise FileProblem(
            f"“{value}” is not a text encoding, so it cannot read a CSV file. Use a text "
            "encoding such as utf-8, utf-16 or cp1252."
        )
    return value if value in ENCODINGS else info.name


def _nul_pattern(sample: bytes) -> str | None:
    """UTF-16 or UTF-32 without a byte order mark: mostly-ASCII text has zero bytes at fixed
    positions of every character."""
    quarters = [sample[i::4].count(0) for i in range(4)]
    length = max(1, len(sample) // 4)
    if min(quarters[1:]) > 0.8 * length and quarters[0] < 0.2 * length:
        return "utf-32-le"
    if min(quarters[:3]) > 0.8 * length and quarters[3] < 0.2 * length:
        return "utf-32-be"
    even, odd = quarters[0] + quarters[2], quarters[1] + quarters[3]
    half = max(1, len(sample) // 2)
    if odd > 0.8 * half and even < 0.2 * half:
        return "utf-16-le"
    if even > 0.8 * half and odd < 0.2 * half:
        return "utf-16-be"
    return None


def detect_encoding(sample: bytes, *, complete: bool) -> str:
    """UTF-8 (with or without BOM), UTF-16 or UTF-32 (with a BOM, or ASCII-heavy without),
    mostly-UTF-8 (a few bad bytes are flagged on their rows, not a reason to re-read the
    whole file in another encoding), else charset-normalizer's best guess."""
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"  # before UTF-16: the UTF-32 LE mark starts with the UTF-16 LE one
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if sample.count(0) > len(sample) // 10:
        found = _nul_pattern(sample)
        if found:
            return found
        raise FileProblem(
            "This is not a text file, so it cannot be a CSV file. If it is a spreadsheet, "
            "save it as “CSV UTF-8” and upload that."
        )
    text = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape").decode(
        sample, final=complete
    )
    bad = len(_UNDECODED.findall(text))
    if not bad:
        return "utf-8"
    if sum(1 for ch in text if ord(ch) > 0x7F) - bad >= bad:
        return "utf-8"  # more valid UTF-8 letters than bad bytes: UTF-8 with a few flaws
    if _looks_western(sample):
        return "cp1252"
    best = charset_normalizer.from_bytes(sample).best()
    if best is None:
        raise FileProblem(
            "This does not look like a text file. Upload a CSV file (spreadsheets can be "
            "saved as “CSV UTF-8”)."
        )
    if best.encoding in _WESTERN_LOOKALIKES or best.encoding.startswith("mac_"):
        try:
            sample.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            pass
    return codecs.lookup(best.encoding).name


def _looks_western(sample: bytes) -> bool:
    """Mostly ASCII with a few accented letters that cp1252 can decode: what Excel on a
    Western-European Windows writes. (Cyrillic or Asian text is mostly non-ASCII bytes, and
    charset-normalizer guesses wildly on a handful of accents, e.g. Korean for “Été”.)"""
    try:
        text = sample.decode("cp1252")
    except UnicodeDecodeError:
        return False
    if any(ord(ch) < 32 and ch not in "\t\r\n" for ch in text):
        return False
    letters = sum(1 for ch in text if ch.isalpha())
    high = sum(1 for byte in sample if byte >= 0x80)
    return letters > 0 and high / letters < 0.3


def _cannot_read(encoding: str) -> FileProblem:
    return FileProblem(
        f"The file cannot be read as {encoding_label(encoding)}. Choose another encoding."
    )


def _sample_text(path: Path, encoding: str) -> str:
    with open(path, "rb") as fh:
        raw = fh.read(SAMPLE_BYTES)
    decoder = codecs.getincrementaldecoder(encoding)(errors="surrogateescape")
    try:
        return decoder.decode(raw, final=len(raw) < SAMPLE_BYTES)
    except UnicodeError:  # e.g. UTF-16 without a byte order mark, or a stray ASCII byte
        raise _cannot_read(encoding) from None


def detect_delimiter(text: str) -> str:
    """The candidate that splits the header into the most columns, consistently with the
    next lines; a comma when nothing splits."""
    lines = [line for line in io.StringIO(text, newline="").read().splitlines() if line.strip()]
    head = lines[:20]
    if not head:
        return ","
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            rows = list(csv.reader(io.StringIO("\n".join(head)), delimiter=delimiter))
        except csv.Error:
            continue
        if not rows:
            continue
        width = len(rows[0])
        if width < 2:
            continue
        consistent = sum(1 for r in rows if len(r) == width)
        score = (consistent, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def detect(path: Path, *, encoding: str | None = None) -> Detected:
    """Encoding and delimiter of a file, or FileProblem with a message for the user. An
    encoding the user gave is used as is: only the delimiter is detected then."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if encoding:
        encoding = check_encoding(encoding)
    elif not sample.strip(b" \t\r\n\xef\xbb\xbf"):
        raise FileProblem("The file is empty. Choose a CSV file with a header row and data.")
    else:
        encoding = detect_encoding(sample, complete=size <= SAMPLE_BYTES)
    return Detected(encoding=encoding, delimiter=detect_delimiter(_sample_text(path, encoding)))


class _Lines:
    """The file's lines for csv.reader, keeping those of the record being read, so that a
    record with broken quoting is reported by its first line and the lines after that are
    read again (an unclosed quote must not swallow the rest of the file)."""

    def __init__(self, text: Iterator[str]):
        self.text = text
        self.again: list[str] = []  # lines to hand out again, last first
        self.current: list[str] = []  # the lines of the record being read
        self.start = 1  # the line where the record being read starts
        self.not_text = False  # the record has a NUL or bytes the encoding cannot read

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self.again.pop() if self.again else next(self.text)
        self.current.append(line)
        if not line.isascii() or "\x00" in line:
            self.not_text = self.not_text or bool(_NOT_TEXT.search(line))
        return line

    def record_done(self) -> None:
        self.start += len(self.current)
        self.current.clear()
        self.not_text = False

    def record_broken(self) -> list[str]:
        """Forget the broken record but its first line; the others are read again."""
        lines = self.current[:]
        self.current.clear()
        self.again.extend(reversed(lines[1:]))
        self.start += 1
        self.not_text = False
        return lines[:1]


def _line_of(cells: list[str], start: int, pattern: re.Pattern) -> int:
    """The line where the first match of `pattern` in a record's cells is."""
    line = start
    for cell in cells:
        found = pattern.search(cell)
        if found:
            return line + line_breaks(cell[: found.start()])
        line += line_breaks(cell)
    return start


def line_breaks(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")


class CsvFile:
    """A CSV file read with a given encoding and delimiter.

    `header()` validates the header row; `rows()` streams the data rows (blank lines skipped).
    Quoting is strict: a row whose quotes do not close is a row with a problem, reported at its
    first line, and the lines after it are read again. A row with a NUL or bytes the encoding
    cannot read has a problem too (its cells show � for the bytes). FileProblem for a file that
    cannot be read at all, or has more than `max_rows` rows or `max_columns` columns.
    """

    def __init__(
        self,
        path: Path,
        *,
        encoding: str,
        delimiter: str,
        max_rows: int,
        max_columns: int = DEFAULT_MAX_COLUMNS,
    ):
        self.path = path
        self.encoding = encoding
        self.delimiter = delimiter
        self.max_rows = max_rows
        self.max_columns = max_columns
        self.bytes_read = 0  # how far the last read got, for progress

    def _label(self) -> str:
        return encoding_label(self.encoding)

    def _problem(self, cells: list[str], start: int) -> tuple[list[str], str]:
        if any("\x00" in cell for cell in cells):
            line = _line_of(cells, start, re.compile("\x00"))
            return [c.replace("\x00", REPLACEMENT) for c in cells], (
                f"The file has characters that are not text at line {line}."
            )
        line = _line_of(cells, start, _UNDECODED)
        return [_UNDECODED.sub(REPLACEMENT, c) for c in cells], (
            f"The file has characters that are not valid {self._label()} at line {line} "
            "(shown as �)."
        )

    def _broken(self, exc: csv.Error, line: str, number: int) -> tuple[list[str], str]:
        try:
            cells = next(csv.reader([line.rstrip("\r\n")], delimiter=self.delimiter), [])
        except csv.Error:  # a line longer than a value may be
            cells = [line[:1000]]
        cells = [_UNDECODED.sub(REPLACEMENT, c.replace("\x00", REPLACEMENT)) for c in cells]
        message = str(exc)
        if "unexpected end of data" in message:
            why = (
                f"A quote opened at line {number} is never closed, so the rest of the file "
                "would have become one value. Close the quote or remove it."
            )
        elif "field larger than field limit" in message:
            why = (
                f"A value starting at line {number} is longer than "
                f"{csv.field_size_limit():,} characters: probably a quote that is not closed."
            )
        else:
            why = (
                f"A quoted value at line {number} is followed by other text before the next "
                "delimiter. Put the whole value inside the quotes."
            )
        return cells, why

    def _records(self) -> Iterator[tuple[int, list[str], str]]:
        """(first line, cells, problem) of every non-blank record."""
        lines = None
        try:
            with open(self.path, "rb") as raw:
                text = io.TextIOWrapper(
                    raw, encoding=self.encoding, errors="surrogateescape", newline=""
                )
                lines = _Lines(text)
                broken = 0
                while True:
                    reader = csv.reader(lines, delimiter=self.delimiter, strict=True)
                    try:
                        for record in reader:
                            start, not_text = lines.start, lines.not_text
                            lines.record_done()
                            if not start % 1000:
                                self.bytes_read = raw.tell()
                            if not any(cell.strip() for cell in record):
                                continue  # blank lines, including trailing ones
                            if not_text:
                                yield start, *self._problem(record, start)
                            else:
                                yield start, record, ""
                        return
                    except csv.Error as exc:
                        broken += 1
                        if broken > MAX_BROKEN_ROWS:
                            raise FileProblem(
                                f"More than {MAX_BROKEN_ROWS:,} rows have quotes that do not "
                                "close. Check the delimiter, and that every opening quote is "
                                "closed."
                            ) from None
                        start = lines.start
                        [first] = lines.record_broken()
                        yield start, *self._broken(exc, first, start)
        except UnicodeDecodeError:
            line = lines.start + len(lines.current) if lines else 1
            raise FileProblem(
                f"The file cannot be read as {self._label()} at line {line}. "
                "Choose another encoding."
            ) from None
        except UnicodeError:  # e.g. UTF-16 chosen for a file without a byte order mark
            raise _cannot_read(self.encoding) from None

    def header(self) -> list[str]:
        for _number, record, problem in self._records():
            return self._check_header(record, problem)
        raise FileProblem("The file is empty. Choose a CSV file with a header row and data.")

    def _check_header(self, record: list[str], problem: str = "") -> list[str]:
        if problem:
            raise FileProblem(f"The header row cannot be read. {problem}")
        names = [cell.strip() for cell in record]
        # Excel leaves empty columns at the end of a row it once touched: ignore those.
        while names and not names[-1]:
            names.pop()
        if len(names) > self.max_columns:
            raise FileProblem(
                f"The file has {len(names):,} columns; an upload can take at most "
                f"{self.max_columns:,}. Keep the columns you want to import (for example "
                "name, Segment ID, link and status) and upload it again."
            )
        seen: dict[str, int] = {}
        for position, name in enumerate(names, start=1):
            if not name:
                raise FileProblem(
                    f"Column {position} of the header row has no name. Give every column a "
                    "name, or remove the empty column."
                )
            if len(name) > COLUMN_NAME_MAX:
                raise FileProblem(
                    f"The name of column {position} is {len(name):,} characters long; the "
                    f"most is {COLUMN_NAME_MAX}. Is the first row really the header?"
                )
            key = name.casefold()
            if key in seen:
                raise FileProblem(
                    f"The column name “{name}” appears twice (columns {seen[key]} and "
                    f"{position}). Rename one of them."
                )
            seen[key] = position
        return names

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """(line, every cell as read) of the data rows: for handing rows back to the user."""
        records = self._records()
        next(records, None)  # the header
        for number, record, _problem in records:
            yield number, record

    def rows(self) -> Iterator[Row]:
        """Data rows, with cells padded to the header's width."""
        records = self._records()
        header = None
        for _number, record, problem in records:
            header = self._check_header(record, problem)
            break
        if header is None:
            raise FileProblem("The file is empty. Choose a CSV file with a header row and data.")
        width = len(header)
        for count, (number, record, problem) in enumerate(records, start=1):
            if count > self.max_rows:
                raise FileProblem(
                    f"The file has more than {self.max_rows:,} rows, the most one upload "
                    "can take. Split it into smaller files."
                )
            length = len(record)
            if length == width:
                yield Row(number, record, False, problem)
            elif length < width:
                yield Row(number, record + [""] * (width - length), False, problem)
            else:
                extra = any(c.strip() for c in record[width:])
                yield Row(number, record[:width], extra, problem)

    def scan(self, on_progress: Callable[[int], None] | None = None) -> Scan:
        """The whole file read once: header, number of data rows, the first rows, the rows
        that cannot be read as they are, and (for an encoding that was guessed) the rows
        whose text depends on it. FileProblem for a file with no data rows or any problem
        that makes the whole file unusable. `on_progress` hears the bytes read so far."""
        found = Scan(header=self.header())
        guessed = self.encoding not in CERTAIN_ENCODINGS
        for row in self.rows():
            found.total += 1
            if len(found.sample) < SAMPLE_ROWS:
                found.sample.append(row)
            if row.problem:
                found.problem_rows += 1
                if len(found.problems) < 5:
                    found.problems.append((row.number, row.problem))
            if guessed and len(found.changed) < CHANGED_ROWS:
                text = self.delimiter.join(row.cells)
                if not text.isascii():
                    try:
                        raw = text.encode(self.encoding, "surrogateescape")
                    except UnicodeEncodeError:  # a � put in for bytes that are not text
                        raw = text.encode(self.encoding, "replace")
                    found.changed.append((row.number, text, raw.decode("utf-8", "replace")))
            if on_progress and found.total % 2000 == 0:
                on_progress(self.bytes_read)
        if found.total == 0:
            raise FileProblem(NO_DATA_ROWS)
        return found
