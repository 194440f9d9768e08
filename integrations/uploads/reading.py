"""Reading uploaded CSV files: detect encoding, delimiter and header, then stream the rows.

Files come from spreadsheets on every continent, so messy input is the normal case: byte order
marks, cp1252 accents, semicolons, CR-only line ends, quoted newlines, blank lines, stray
non-breaking spaces. Everything here streams; nothing holds the whole file in memory.
"""

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
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
    "cp1252": "Windows-1252 (Western Europe)",
    "latin-1": "ISO-8859-1 (Latin-1)",
    "cp1250": "Windows-1250 (Central Europe)",
    "cp1251": "Windows-1251 (Cyrillic)",
    "mac-roman": "Mac Roman",
    "shift_jis": "Shift JIS",
    "gb18030": "GB18030",
}
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


class FileProblem(Exception):
    """The file cannot be read as a CSV table; the message is for the user."""


@dataclass(frozen=True)
class Detected:
    encoding: str
    delimiter: str


class Row(NamedTuple):
    number: int  # spreadsheet row number: the header is row 1
    cells: list[str]
    extra: bool  # the row has non-empty cells beyond the header's columns


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
    try:
        return codecs.lookup(value).name if value not in ENCODINGS else value
    except LookupError:
        raise FileProblem(f"“{value}” is not an encoding Python knows.") from None


def detect_encoding(sample: bytes, *, complete: bool) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else charset-normalizer's best guess."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:
        raise FileProblem(
            "The file contains NUL bytes, so it is not a plain-text CSV file. "
            "If it is a spreadsheet, save it as “CSV UTF-8” and upload that."
        )
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
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


def _sample_text(path: Path, encoding: str) -> str:
    with open(path, "rb") as fh:
        raw = fh.read(SAMPLE_BYTES)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        return decoder.decode(raw, final=len(raw) < SAMPLE_BYTES)
    except UnicodeDecodeError as exc:
        raise FileProblem(
            f"The file cannot be read as {encoding_label(encoding)} (byte {exc.start + 1} "
            "is not valid). Choose another encoding."
        ) from None
    except UnicodeError:  # e.g. UTF-16 without a byte order mark
        raise FileProblem(
            f"The file cannot be read as {encoding_label(encoding)}. Choose another encoding."
        ) from None


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


def detect(path: Path) -> Detected:
    """Encoding and delimiter of a file, or FileProblem with a message for the user."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if not sample.strip(b" \t\r\n\xef\xbb\xbf"):
        raise FileProblem("The file is empty. Choose a CSV file with a header row and data.")
    encoding = detect_encoding(sample, complete=size <= SAMPLE_BYTES)
    return Detected(encoding=encoding, delimiter=detect_delimiter(_sample_text(path, encoding)))


class CsvFile:
    """A CSV file read with a given encoding and delimiter.

    `header()` validates the header row; `rows()` streams the data rows (blank lines skipped)
    and raises FileProblem for NUL characters, undecodable bytes or more than `max_rows` rows.
    """

    def __init__(self, path: Path, *, encoding: str, delimiter: str, max_rows: int):
        self.path = path
        self.encoding = encoding
        self.delimiter = delimiter
        self.max_rows = max_rows

    def _records(self) -> Iterator[tuple[int, list[str]]]:
        try:
            with open(self.path, encoding=self.encoding, errors="strict", newline="") as fh:
                reader = csv.reader(fh, delimiter=self.delimiter, strict=False)
                number = 0
                for record in reader:
                    number += 1  # blank lines count, as rows do in a spreadsheet
                    if not any(cell.strip() for cell in record):
                        continue  # blank lines, including trailing ones
                    for cell in record:
                        if "\x00" in cell:
                            raise FileProblem(
                                f"Row {number} contains a NUL character, so the file is not "
                                "plain text (or the encoding is wrong)."
                            )
                    yield number, record
        except UnicodeDecodeError as exc:
            raise FileProblem(
                f"The file cannot be read as {encoding_label(self.encoding)}: {exc.reason} "
                f"at byte {exc.start + 1} of a block. Choose another encoding."
            ) from None
        except UnicodeError:  # e.g. UTF-16 chosen for a file without a byte order mark
            raise FileProblem(
                f"The file cannot be read as {encoding_label(self.encoding)}. "
                "Choose another encoding."
            ) from None
        except csv.Error as exc:
            raise FileProblem(f"The file is not valid CSV: {exc}.") from None

    def header(self) -> list[str]:
        for _number, record in self._records():
            return self._check_header(record)
        raise FileProblem("The file is empty. Choose a CSV file with a header row and data.")

    @staticmethod
    def _check_header(record: list[str]) -> list[str]:
        names = [cell.strip() for cell in record]
        # Excel leaves empty columns at the end of a row it once touched: ignore those.
        while names and not names[-1]:
            names.pop()
        seen: dict[str, int] = {}
        for position, name in enumerate(names, start=1):
            if not name:
                raise FileProblem(
                    f"Column {position} of the header row has no name. Give every column a "
                    "name, or remove the empty column."
                )
            key = name.casefold()
            if key in seen:
                raise FileProblem(
                    f"The column name “{name}” appears twice (columns {seen[key]} and "
                    f"{position}). Rename one of them."
                )
            seen[key] = position
        return names

    def rows(self) -> Iterator[Row]:
        """Data rows, with cells padded to the header's width."""
        records = self._records()
        header = None
        for _number, record in records:
            header = self._check_header(record)
            break
        if header is None:
            raise FileProblem("The file is empty. Choose a CSV file with a header row and data.")
        width = len(header)
        for count, (number, record) in enumerate(records, start=1):
            if count > self.max_rows:
                raise FileProblem(
                    f"The file has more than {self.max_rows:,} rows, the most one upload "
                    "can take. Split it into smaller files."
                )
            length = len(record)
            if length == width:
                yield Row(number, record, False)
            elif length < width:
                yield Row(number, record + [""] * (width - length), False)
            else:
                extra = any(c.strip() for c in record[width:])
                yield Row(number, record[:width], extra)

    def scan(self) -> tuple[list[str], int, list[Row]]:
        """Header, number of data rows and the first 10 rows; FileProblem for a file with no
        data rows or any problem found while reading it all."""
        header = self.header()
        sample: list[Row] = []
        total = 0
        for row in self.rows():
            total += 1
            if len(sample) < 10:
                sample.append(row)
        if total == 0:
            raise FileProblem(NO_DATA_ROWS)
        return header, total, sample
