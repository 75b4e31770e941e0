"""The one reader of the CSV files given to the `songkhoe` command (`ncd score`, `surveillance
detect`, `imaging evaluate --labels`), so that every one accepts and refuses the same things.

- Encoding: UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8" writes one). Anything
  else (UTF-16 from Excel's "Unicode Text", Windows-1258, ...) is refused in one line: a guessed
  encoding would garble Vietnamese names.
- Separator: `,` or `;` (Excel in a Vietnamese locale writes `;`), sniffed from the first line: the
  one that splits it into more of the expected column names, `,` on a tie (a one-column file).
  Quoting as in RFC 4180.
- Header: required. A first line that names none of the expected columns is refused, so a file
  without a header never loses its first row to it.
- Numbers (the columns a caller names): in a `;` file the decimal separator is the comma, as that
  locale writes it ("5,6" is 5.6, handed on as "5.6"); a point there is the locale's thousands
  separator ("1.234" is 1234), so a number with a point is refused rather than guessed. In a `,`
  file a number is left as written: a quoted "5,6" is not converted (in English "1,234" is 1234),
  and the column's parser refuses it as not a number.
"""

import codecs
import csv
import io
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

SEPARATORS = (",", ";")  # the first wins a tie
OTHER_ENCODINGS = (  # UTF-32 first: its little-endian mark begins with UTF-16's
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
SAVE_AS = "save it as CSV UTF-8"


class CsvInputError(ValueError):
    """A CSV file the user must fix; the message is one line beginning with the file's path."""


@dataclass(frozen=True, slots=True)
class CsvFile:
    """A CSV file read and checked: its text (without the byte-order mark), its separator and
    its header (the first record's names, stripped)."""

    path: Path
    text: str
    separator: str
    header: list[str]

    def rows(self, numbers: Collection[str] = ()) -> list[list[str]]:
        """The records after the header, as `csv` splits them. In the columns named in `numbers`
        a `;` file's decimal commas become points (see the module doc); raises CsvInputError
        naming the row (the header is row 1) and the column of a number with a point."""
        reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.separator)
        next(reader)
        records = list(reader)
        if self.separator == ";":
            columns = [i for i, name in enumerate(self.header) if name in numbers]
            for row, record in enumerate(records, start=2):
                for i in columns:
                    if i < len(record):  # a short row is the caller's to name
                        record[i] = self._decimal_comma(record[i], row, self.header[i])
        return records

    def _decimal_comma(self, cell: str, row: int, column: str) -> str:
        if "." in cell:
            raise CsvInputError(
                f"{self.path}: row {row}, column {column}: {cell!r} has a point; in a file "
                "separated by ';' write decimals with a comma (5,6) and no thousands separator"
            )
        return cell.replace(",", ".")


def _decode(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CsvInputError(f"{path}: {exc.strerror or exc}") from None
    for mark, encoding in OTHER_ENCODINGS:
        if data.startswith(mark):
            raise CsvInputError(f"{path}: the file is {encoding}, not UTF-8; {SAVE_AS}")
    if b"\0" in data:
        raise CsvInputError(f"{path}: the file holds NUL bytes (UTF-16?), not UTF-8; {SAVE_AS}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvInputError(
            f"{path}: the file is not UTF-8 (byte {data[exc.start]:#04x} at offset "
            f"{exc.start}); {SAVE_AS}"
        ) from None


def _first_record(text: str, separator: str) -> list[str]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    return [name.strip() for name in next(reader, [])]


def read_csv(path: Path, expected: Sequence[str]) -> CsvFile:
    """Read PATH (see the module doc); `expected` are the column names the caller knows, in the
    order to quote them. Raises CsvInputError, one line naming the file."""
    text = _decode(path)
    example = ", ".join(expected[:4]) + (", ..." if len(expected) > 4 else "")
    must_name = f"the first line must name the columns (expected e.g. {example})"
    if not text:
        raise CsvInputError(f"{path}: the file is empty; {must_name}")
    newline = text.find("\n")
    first_line = (text if newline < 0 else text[:newline]).partition("\r")[0]
    found = {sep: len(set(_first_record(first_line, sep)) & set(expected)) for sep in SEPARATORS}
    separator = max(SEPARATORS, key=found.__getitem__)
    if not found[separator]:
        raise CsvInputError(f"{path}: {must_name}")
    return CsvFile(path, text, separator, _first_record(text, separator))
