"""The 63 provinces before the 2025 merger, by their GSO codes (Quyết định 124/2004/QĐ-TTg).

These codes live on in the citizen identity number: its first 3 digits are the birth-place
province code (Thông tư 59/2021/TT-BCA, Điều 7, Phụ lục), "0" + the 2-digit code, whatever the
province has become since.
"""

FORMER_PROVINCE_CODES: tuple[str, ...] = (
    "01", "02", "04", "06", "08", "10", "11", "12", "14", "15", "17", "19", "20", "22", "24",
    "25", "26", "27", "30", "31", "33", "34", "35", "36", "37", "38", "40", "42", "44", "45",
    "46", "48", "49", "51", "52", "54", "56", "58", "60", "62", "64", "66", "67", "68", "70",
    "72", "74", "75", "77", "79", "80", "82", "83", "84", "86", "87", "89", "91", "92", "93",
    "94", "95", "96",
)  # fmt: skip
CCCD_PROVINCE_CODES = frozenset(f"0{code}" for code in FORMER_PROVINCE_CODES)
