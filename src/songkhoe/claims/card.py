"""The 15-character BHYT card number (mã số ghi trên thẻ BHYT, Quyết định 1351/QĐ-BHXH of
16/11/2015 and its amendments): 2 letters of the benefit group (mã đối tượng), 1 digit of the
benefit level (mức hưởng, 1-5), 2 digits of the province that issued the card, 10 digits of the
social-insurance number (mã số BHXH). Cards of the 2021 form (Quyết định 1666/QĐ-BHXH) print the
10-digit number alone, but the claims XML still carries the 15 characters (QĐ 130/QĐ-BYT, XML1
`MA_THE_BHYT`: "mỗi mã thẻ gồm có 15 ký tự").

The province is the GSO code of one of the 63 provinces before the 2025 merger
(`songkhoe.places.former_provinces`; QĐ 130 writes the same 2 digits as the last two of the
province's administrative code, e.g. Hà Nội 01, for a temporary card's MA_DKBD).

The group codes are those of Quyết định 1351/QĐ-BHXH: CC to LS (with their levels) as a
hospital's published table lists them against the earlier QĐ 1071/QĐ-BHXH (Bệnh viện Ung bướu Đà
Nẵng, "Chế độ thanh toán", benhvienungbuoudanang.tk/che-do-thanh-toan-bv); PV, HS, SV, GB, GD as
the same list is reproduced in the card checks of public HIS code, not read in the decision
itself; QN, CA, CY, HC, LS, XK are also named in QĐ 130/QĐ-BYT's own note on MA_THE_BHYT (cards
issued by the BHXH of the Ministries of Defence and Public Security). The meaning of each level
is Điều 2 of QĐ 1351, as PetroTimes summarises it ("Giải mã ký hiệu đặc biệt trên thẻ bảo hiểm y
tế", 12/03/2024). The level a group is printed with changes over time (near-poor households CN:
3 in the table above, 2 from 01/01/2026 under Nghị quyết 261/2025/QH15 and Công văn 38/BYT-BH,
as a public claims checker reports; not read in the originals), so a card's level is not checked
against its group.
"""

from dataclasses import dataclass

from songkhoe.places.former_provinces import FORMER_PROVINCE_CODES

CARD_LENGTH = 15

BENEFIT_GROUPS: dict[str, str] = {
    # paid by employee and employer
    "DN": "employees of enterprises",
    "HX": "employees of cooperatives",
    "CH": "employees of state agencies and public service units",
    "NN": "employees of foreign and international organisations in Vietnam",
    "TK": "employees of other organisations",
    "HC": "civil servants and public employees",
    "XK": "part-time commune officials",
    # paid by the social-insurance fund
    "HT": "retirement pension or monthly incapacity allowance",
    "TB": "monthly allowance for a work accident or occupational disease",
    "NO": "on sickness leave",
    "CT": "aged 80 or more, monthly survivor allowance",
    "XB": "retired commune officials on a monthly social-insurance allowance",
    "TN": "unemployment benefit",
    "CS": "retired rubber-plantation workers on a monthly allowance",
    # paid by the state budget
    "QN": "military personnel",
    "CA": "police personnel",
    "CY": "cipher personnel",
    "XN": "retired commune officials on a monthly state allowance",
    "MS": "former incapacity-allowance recipients on a monthly state allowance",
    "CC": "persons with meritorious services to the revolution",
    "CK": "other persons with meritorious services",
    "CB": "veterans",
    "KC": "participants in the resistance wars",
    "HD": "deputies of the National Assembly and People's Councils",
    "TE": "children under 6",
    "BT": "monthly social-protection allowance",
    "HN": "poor households",
    "DT": "ethnic minorities in areas of economic hardship",
    "DK": "residents of areas of extreme economic hardship",
    "XD": "residents of island communes and districts",
    "TS": "relatives of martyrs",
    "TC": "relatives of persons with meritorious services",
    "TQ": "relatives of military personnel",
    "TA": "relatives of police personnel",
    "TY": "relatives of cipher personnel",
    "HG": "organ donors",
    "LS": "foreign students on Vietnamese state scholarships",
    "PV": "carers of persons with meritorious services",
    # supported by the state budget
    "CN": "near-poor households",
    "HS": "pupils",
    "SV": "students",
    "GB": "agricultural households of average living standard",
    # households
    "GD": "household participants",
}  # fmt: skip

BENEFIT_LEVELS: dict[int, str] = {
    1: "100 % of covered costs, without the payment-rate limits of drugs, supplies and services",
    2: "100 % of covered costs, within the payment-rate limits",
    3: "95 % of covered costs (100 % at commune level and under 15 % of the base salary)",
    4: "80 % of covered costs (100 % at commune level and under 15 % of the base salary)",
    5: "100 % of costs, also outside the covered scope",
}


@dataclass(frozen=True)
class Card:
    """A card number cut into its four parts."""

    group: str
    level: int
    province: str
    social_insurance_number: str

    @property
    def number(self) -> str:
        """The 15 characters, as written in the claims XML."""
        return f"{self.group}{self.level}{self.province}{self.social_insurance_number}"


def card_problem(number: str) -> str | None:
    """What is wrong with a card number, in one line; None if it is well formed."""
    if len(number) != CARD_LENGTH:
        return f"BHYT card: {CARD_LENGTH} characters expected, got {len(number)}"
    group, level, province, social = number[:2], number[2], number[3:5], number[5:]
    if group not in BENEFIT_GROUPS:
        return f"unknown benefit group {group!r}"
    if level not in "12345":
        return "benefit level must be 1 to 5"
    if province not in FORMER_PROVINCE_CODES:
        return f"province code {province!r} is not one of the 63 pre-2025 provinces"
    if not (social.isascii() and social.isdigit()):
        return f"social-insurance number must be 10 digits, got {social!r}"
    return None


def parse_card(number: str) -> Card:
    """The parts of a card number; ValueError naming the fault if it is not well formed."""
    problem = card_problem(number)
    if problem is not None:
        raise ValueError(problem)
    return Card(number[:2], int(number[2]), number[3:5], number[5:])
