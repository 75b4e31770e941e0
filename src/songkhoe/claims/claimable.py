"""Whether a visit is a BHYT claim at all, before its amounts are worked out.

Each reason is one fixed line (the export counts visits by it), Vietnamese first, then English,
with its source:
- no card, or a card not valid on the visit's day (the day of ``visit.arrived``): the fund pays
  only while the card is valid, GT_THE_TU to GT_THE_DEN inclusive (Luật BHYT 25/2008/QH12 Art. 16
  on the card's validity; QĐ 130/QĐ-BYT XML1 #18-#19);
- a check-up, not treatment: "khám sức khỏe" is not paid (Luật BHYT Art. 23.3; read in the
  consolidated text, article "2.2.LQ.23"), whether the visit says so by its purpose or by
  MA_LOAI_KCB 15 "Khám sức khoẻ định kỳ" (claims.codes);
- no main diagnosis: XML1 #26 MA_BENH_CHINH is required (one ICD-10 code);
- care the fund pays 0 % of: self-referred outpatient care at provincial or central level
  (Art. 22.3 names inpatient care only; claims.benefit says until when).
"""

from songkhoe.claims.benefit import visit_amounts
from songkhoe.claims.codes import PERIODIC_CHECKUP
from songkhoe.claims.visit import Purpose, Visit


def not_claimable(visit: Visit) -> str | None:
    """None when the visit is a claim; else one line naming why. A visit whose data cannot be
    priced (a malformed card, an unknown MA_LOAI_KCB, a bad row) raises the ValueError of
    ``claims.benefit.visit_amounts`` instead: that is bad input, not a legal reason."""
    day = visit.arrived.date()
    card = visit.card
    if card is None:
        return (
            "Không có thẻ BHYT còn giá trị sử dụng (Luật BHYT Điều 16) — "
            "no BHYT card in force on the visit's date"
        )
    if not card.valid_from <= day <= card.valid_to:
        return (
            "Thẻ BHYT không có giá trị vào ngày khám (Luật BHYT Điều 16) — "
            "the card is not valid on the visit's date"
        )
    if visit.purpose is Purpose.CHECKUP or visit.kind == PERIODIC_CHECKUP:
        return (
            "Khám sức khỏe không thuộc phạm vi quỹ BHYT chi trả (Luật BHYT Điều 23 khoản 3) — "
            "check-up, not treatment"
        )
    if visit.main_diagnosis is None:
        return (
            "Thiếu chẩn đoán chính (MA_BENH_CHINH, QĐ 130/QĐ-BYT bảng XML1 #26) — no main diagnosis"
        )
    amounts = visit_amounts(visit)
    if amounts.rate == 0:
        return (
            "Tự đi khám ngoại trú không đúng tuyến: quỹ BHYT chi trả 0 % (Luật BHYT Điều 22 "
            "khoản 3) — outpatient out of network, the fund pays 0 %"
        )
    return None
