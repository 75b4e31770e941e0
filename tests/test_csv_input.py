"""The one reader of the command line's CSV inputs: encodings, separators, the header, decimal
commas; and every CSV input of the `songkhoe` command goes through it."""

from pathlib import Path

import pytest

from songkhoe.cli import main
from songkhoe.csv_input import CsvInputError, read_csv
from songkhoe.imaging.commands import read_labels

EXPECTED = ("sex", "age", "sbp", "bmi", "dbp")


def _write(tmp_path: Path, data: str | bytes, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


@pytest.mark.parametrize("separator", [",", ";"])
@pytest.mark.parametrize("bom", ["", "\ufeff"])
def test_separator_sniffed_from_the_header_with_or_without_bom(
    tmp_path: Path, separator: str, bom: str
) -> None:
    text = bom + separator.join(["id", "sex", " age ", "note"]) + "\r\n"
    text += separator.join(["p1", "male", "58", '"Lê, Văn; A"']) + "\r\n"
    table = read_csv(_write(tmp_path, text), EXPECTED)
    assert table.separator == separator
    assert table.header == ["id", "sex", "age", "note"]
    assert table.rows() == [["p1", "male", "58", "Lê, Văn; A"]]


def test_decimal_comma_in_a_semicolon_file_only_in_number_columns(tmp_path: Path) -> None:
    path = _write(tmp_path, "id;bmi;age;note\nx,1;27,5;-0,5;3,5\ny;1e3;;\n")
    assert read_csv(path, EXPECTED).rows(numbers=("bmi", "age")) == [
        ["x,1", "27.5", "-0.5", "3,5"],
        ["y", "1e3", "", ""],
    ]


@pytest.mark.parametrize("cell", ["27.5", "1.234", "1.234,5"])
def test_a_point_in_a_semicolon_file_is_refused_not_guessed(tmp_path: Path, cell: str) -> None:
    path = _write(tmp_path, f"age;bmi\n50;22\n60;{cell}\n")
    with pytest.raises(CsvInputError) as refused:
        read_csv(path, EXPECTED).rows(numbers=("bmi",))
    assert str(refused.value).startswith(f"{path}: row 3, column bmi: '{cell}' has a point")


def test_a_quoted_decimal_comma_in_a_comma_file_is_left_as_written(tmp_path: Path) -> None:
    """There "5,6" may be 5.6 or (English) 56: the reader does not convert it; the column's parser
    then refuses it as not a number (see the command tests)."""
    path = _write(tmp_path, 'age,bmi\n50,"27,5"\n')
    assert read_csv(path, EXPECTED).rows(numbers=("bmi",)) == [["50", "27,5"]]


@pytest.mark.parametrize(
    ("text", "separator"),
    [("sex\nmale\n", ","), ("sex;age,x\n", ";"), ("sex,age;x\n", ","), ('"sex";"age"\n', ";")],
)
def test_the_separator_that_names_more_columns_wins(
    tmp_path: Path, text: str, separator: str
) -> None:
    assert read_csv(_write(tmp_path, text), EXPECTED).separator == separator


@pytest.mark.parametrize(
    "text",
    ["p1,male,58,140\n", "p1;male;58;140\n", "Sex,Age\nmale,58\n", "\n\nsex,age\n"],
)
def test_a_first_line_naming_no_expected_column_is_refused(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(CsvInputError) as refused:
        read_csv(path, EXPECTED)
    assert str(refused.value) == (
        f"{path}: the first line must name the columns (expected e.g. sex, age, sbp, bmi, ...)"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("sex,age\n".encode("utf-16"), "is UTF-16, not UTF-8"),
        ("sex,age\n".encode("utf-16-be"), "holds NUL bytes"),
        ("sex,age\n".encode("utf-32"), "is UTF-32, not UTF-8"),
        ("name,sex\nLê,male\n".encode("cp1258"), "is not UTF-8 (byte 0xea at offset 10)"),
        (b"", "is empty"),
        (b"\xef\xbb\xbf", "is empty"),
    ],
)
def test_other_encodings_and_empty_files_are_refused(
    tmp_path: Path, data: bytes, message: str
) -> None:
    path = _write(tmp_path, data)
    with pytest.raises(CsvInputError) as refused:
        read_csv(path, EXPECTED)
    assert str(refused.value).startswith(f"{path}: ") and message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_missing_file_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(CsvInputError, match="No such file"):
        read_csv(tmp_path / "absent.csv", EXPECTED)


COMMANDS = {
    "ncd score": ["ncd", "score", "{input}", "--output", "{output}"],
    "surveillance detect": [
        "surveillance", "detect", "{input}", "--method", "ears-c1", "--output", "{output}",
    ],
    "imaging evaluate": [
        "imaging", "evaluate", "--labels", "{input}", "--images", "{folder}", "--model", "none",
    ],
}  # fmt: skip
HEADERS = {
    "ncd score": "age,sbp\n50,120\n",
    "surveillance detect": "date,count\n2024-01-01,1\n2024-01-08,2\n",
    "imaging evaluate": "image,label\na.png,1\n",
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("problem", ["utf-16", "no header"])
def test_every_csv_input_of_the_command_line_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, problem: str
) -> None:
    text = HEADERS[command]
    if problem == "utf-16":
        path, expected = _write(tmp_path, text.encode("utf-16")), "is UTF-16, not UTF-8"
    else:
        path, expected = _write(tmp_path, text.split("\n", 1)[1]), "the first line must name"
    output = tmp_path / "out.csv"
    args = [a.format(input=path, output=output, folder=tmp_path) for a in COMMANDS[command]]
    with pytest.raises(SystemExit) as done:
        main(args)
    out, err = capsys.readouterr()
    assert done.value.code == 2
    assert err.startswith(f"songkhoe: error: {path}: ") and expected in err
    assert len(err.splitlines()) == 1 and out == ""
    assert not output.exists()


def test_imaging_labels_with_semicolons_a_bom_and_a_blank_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "\ufeffimage;label\r\na.png;1\r\n\r\nb.dcm;0\r\n")
    assert read_labels(path) == [("a.png", 1), ("b.dcm", 0)]
