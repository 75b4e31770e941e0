"""Danger-sign triage, run on every question before any answer.

The rules follow the danger signs of: WHO IMCI chart booklet 2014 (general danger signs in a
child: not able to drink or breastfeed, vomits everything, convulsions, lethargic or
unconscious; any fever in an infant under 2–3 months; severe dehydration); Bộ Y tế QĐ
2760/QĐ-BYT 2019 (dengue warning signs); QĐ 1003/QĐ-BYT 2012 (hand-foot-mouth disease from
grade 2: startles, somnolence, tremor, ataxia, persistent vomiting, high fever); WHO CVD fact
sheet (heart attack, stroke: FAST); WHO suicide fact sheet; WHO antenatal care 2016 (danger
signs in pregnancy); WHO recommendations on maternal and newborn care for a positive postnatal
experience 2022 (danger signs after birth). Sources of the `see_clinician` rules: WHO TB
screening (cough ≥ 2 weeks), Bộ Y tế QĐ 3192/QĐ-BYT 2010 and ISH 2020 (blood pressure ≥ 180/110:
grade 3; with symptoms of acute organ damage a hypertensive emergency).

Text is matched without diacritics (users type both ways), after chat spellings are expanded
("ko", "k", "hok", "hông" → "không"; "dc" → "được"; ...). A symptom preceded, within its clause,
by a negation and only filler words ("bị", "có", "còn", "thấy", ...) does not count: "không đau
ngực", "chưa bị co giật", "hết khó thở", "đã khỏi sốt". A negated "no longer" is a double
negative and counts: "chưa hết khó thở", "không khỏi đau ngực"; so does a sign that ended a
moment ago: "vừa hết co giật". Words that are a negation only in some readings ("k" as in
vitamin K, "hông" the hip, "hết" as in "nôn hết", "chua" for "chữa", "khoi" for "khói") count as
one only where a negation can stand: at the start of a clause or after a subject, an adverb or
"bị/có/thấy". "không" after "có ..." in the same clause ends a yes/no question ("bé có sao không
khó thở quá") and negates nothing after it. A negation carries over "hay"/"hoặc" to a danger
sign right after it when a negated sign stands before ("không khó thở hay tím tái"), never over
"và" or a comma ("không sốt, khó thở"). A sign to prevent ("cách phòng tai biến", "để tránh co
giật") is negated too. Anything else counts, so that an unclear sentence errs towards care,
never away from it.
"""

import re
from dataclasses import dataclass, field

from songkhoe.chatbot.text import fold

EMERGENCY, SEE_CLINICIAN, SELF_CARE = "emergency", "see_clinician", "self_care"
LEVELS = (SELF_CARE, SEE_CLINICIAN, EMERGENCY)  # in increasing urgency

TOKEN = re.compile(r"\d+(?:\.\d+)?|[^\W_]+|/|[.,;:!?\n]+")
DECIMAL = re.compile(r"(\d)[,.](\d)")
BOUNDARY = "|"
# Chat and teen spellings, as typed, and the word they stand for; not after a number ("50k",
# "3 kg" are amounts).
STRONG_SHORT = "ko kô khg khum hk hok"
WEAK_SHORT = "k kh kg hông hem"
SPELLINGS = {
    **dict.fromkeys(f"{STRONG_SHORT} {WEAK_SHORT}".split(), "không"),
    **dict.fromkeys("dc đc dk đk".split(), "được"),
    **{"j": "gì", "mk": "mình", "mik": "mình", "ng": "người", "nc": "nước", "mún": "muốn"},
    **{"wa": "quá", "e": "em", "t": "tôi", "r": "rồi", "ms": "mới", "ck": "chồng", "vk": "vợ"},
    **{"bj": "bị", "z": "vậy", "vs": "với"},
}
# Negations as written. Strong ones always negate (but see QUESTION); weak ones are also other
# words and negate only after a word of NEGATION_SLOT; so does "no longer" (RESOLVED).
STRONG_NEGATIONS = frozenset(f"không khong chưa chẳng {STRONG_SHORT}".split())
WEAK_NEGATIONS = frozenset(f"chua chang {WEAK_SHORT}".split())
RESOLVED = frozenset("hết het khỏi khoi".split())
NEGATION_SLOT = frozenset(
    "tôi toi tui tao mình minh em anh chị chi con bé be cháu chau nó no bố bo mẹ me ba bà má "
    "ma ông ong vợ vo chồng chong cô co chú chu bác bac dì cậu cau người nguoi ai "
    "vẫn van cũng cung còn đã da lại lai thì thi mà nhưng nhung giờ gio nay rồi roi đang dang "
    "vừa vua mới moi sẽ se hoàn hoan toàn toan hầu hau bị bi có thấy thay hề he".split()
)
NEGATION_SLOT |= STRONG_NEGATIONS | WEAK_NEGATIONS
# "cách phòng tai biến", "để tránh co giật": a danger sign to prevent is not present.
PREVENTION = frozenset("phòng phong ngừa ngua tránh tranh".split())
PREVENTION_SLOT = frozenset(
    "cách cach để de giúp giup nhằm nham muốn muon pháp phap sao thuốc thuoc dự du".split()
)
QUESTION = frozenset({"có", "co"})  # "có ... không?" asks, it does not negate
JUST = frozenset({"vua", "moi"})  # folded: "vừa hết co giật" ended a moment ago, it counts
OR = frozenset({"hay", "hoac"})  # folded
# Words that may stand between a negation and the symptom, as written ("cổ" is not "có").
FILLERS = frozenset(
    "bị bi có co còn con thấy thay hề he phải phai là la cảm cam giác giac dấu hiệu hieu "
    "triệu trieu chứng chung gì gi bao giờ gio nào nao ý y định dinh được duoc đã da từng "
    "tung".split()
)
GAP = r"(?: [a-z0-9]+){0,2}"  # up to two words, never across a clause boundary
NEGATION, FILLER, OTHER = "negation", "filler", "other"
NO_LONGER, OR_WORD = "no_longer", "or"


@dataclass(frozen=True, slots=True)
class Flag:
    """A danger sign found in a question."""

    id: str
    level: str
    label: str  # what was found, in Vietnamese
    advice: str  # what to do now, in Vietnamese


@dataclass(frozen=True, slots=True)
class Triage:
    level: str
    flags: tuple[Flag, ...] = field(default=())

    def to_json(self) -> dict:
        return {
            "level": self.level,
            "flags": [{"id": f.id, "level": f.level, "label": f.label} for f in self.flags],
        }


class Question:
    """A question as the rules see it: folded tokens with clause boundaries ('|'), chat
    spellings expanded, and the role of each token for negation (see the module docstring)."""

    def __init__(self, text: str) -> None:
        written = [
            BOUNDARY if t[0] in ".,;:!?\n" else t
            for t in TOKEN.findall(DECIMAL.sub(r"\1.\2", text.lower()))
        ]
        amounts = [i > 0 and written[i - 1][0].isdigit() for i in range(len(written))]
        self.raw = [
            w if amount else SPELLINGS.get(w, w) for w, amount in zip(written, amounts, strict=True)
        ]
        self.folded = [t if t == BOUNDARY else fold(t) for t in self.raw]
        self.negations = [  # spelled as a negation, whatever its role here
            not amount and (w in STRONG_NEGATIONS or w in WEAK_NEGATIONS)
            for w, amount in zip(written, amounts, strict=True)
        ]
        self.roles = [self._role(i, w) for i, w in enumerate(written)]
        self.string = " " + " ".join(self.folded) + " "
        self.starts: dict[int, int] = {}  # char offset of each token in `string` -> index
        offset = 1
        for i, token in enumerate(self.folded):
            self.starts[offset] = i
            offset += len(token) + 1

    def _role(self, i: int, written: str) -> str:
        before = self.raw[i - 1] if i else BOUNDARY
        slot = before == BOUNDARY or before in NEGATION_SLOT
        if self.negations[i] and (slot or written in STRONG_NEGATIONS and not self._asks(i)):
            return NEGATION
        if written in RESOLVED and slot:
            return NO_LONGER
        if written in PREVENTION and (before in PREVENTION_SLOT or before in PREVENTION):
            return NEGATION
        if self.raw[i] in FILLERS:
            return FILLER
        return OR_WORD if self.folded[i] in OR else OTHER

    def _asks(self, i: int) -> bool:
        """Whether the clause of token `i` has a "có" before it (a yes/no question)."""
        while i > 0 and self.raw[i - 1] != BOUNDARY:
            i -= 1
            if self.raw[i] in QUESTION:
                return True
        return False

    def negated(self, index: int) -> bool:
        """Whether the token at `index` is negated (see the module docstring)."""
        i = index - 1
        if i >= 0 and self.roles[i] == OR_WORD and self._negated_sign_before(i):
            return True
        while i >= 0:
            role = self.roles[i]
            if role == NEGATION:
                return True
            if role == NO_LONGER:
                return not self._negation_before(i) and self.folded[i - 1] not in JUST
            if role != FILLER:
                return False
            i -= 1
        return False

    def _negation_before(self, i: int) -> bool:
        """Whether a negation, in any reading, stands before token `i` with only fillers
        between ("chưa hết", "không thấy khỏi": a double negative)."""
        i -= 1
        while i >= 0 and self.raw[i] in FILLERS:
            i -= 1
        return i >= 0 and self.negations[i]

    def _negated_sign_before(self, j: int) -> bool:
        """Whether the words just before token `j` ("hay", "hoặc") are a negated danger sign."""
        for k in range(j - 1, max(j - 7, -1), -1):
            if self.folded[k] == BOUNDARY:
                return False
            span = " " + " ".join(self.folded[k:j]) + " "
            if ANY_SIGN.match(span, 1) and self.negated(k):
                return True
        return False

    def has(
        self, pattern: re.Pattern, *, negation: bool = True, not_written: frozenset = frozenset()
    ) -> bool:
        """Whether `pattern` (compiled by `phrase`) matches from some token on, that token not
        negated (when `negation`) and the matched words not written as one of `not_written`
        (spellings with diacritics that are another word, e.g. "từ từ" for "tu tu")."""
        for offset, index in self.starts.items():
            match = pattern.match(self.string, offset)
            if match is None or (negation and self.negated(index)):
                continue
            words = match.group(0).count(" ") + 1
            if " ".join(self.raw[index : index + words]) not in not_written:
                return True
        return False


def phrase(*alternatives: str) -> re.Pattern:
    """A pattern matching any of the folded `alternatives` (regular expressions over tokens
    joined by single spaces; GAP allows two words in between) as whole tokens."""
    return re.compile(r"(?<= )(?:" + "|".join(alternatives) + r")(?= )")


@dataclass(frozen=True, slots=True)
class Rule:
    """A danger sign: any of `signs`, not negated; with `context`, also one of those anywhere
    (a topic such as fever or pregnancy, negated or not)."""

    id: str
    level: str
    label: str
    advice: str
    signs: re.Pattern
    context: re.Pattern | None = None
    not_written: frozenset[str] = frozenset()

    def check(self, q: Question) -> bool:
        if self.context is not None and not q.has(self.context, negation=False):
            return False
        return q.has(self.signs, not_written=self.not_written)


CALL = "Gọi ngay 115 hoặc đưa người bệnh đến cơ sở y tế gần nhất."  # said once, before advice
CHILD = phrase(
    "be",
    "tre",
    "chau",
    "em be",
    "so sinh",
    "thang tuoi",
    "tuan tuoi",
    "dua nho",
    r"con (?:toi|minh|em|nha|gai|trai|be|nho|\d+)",
    r"(?<=^ )con",
)
FEVER = phrase(
    "sot",
    r"(?:nguoi|tran|than|co the|tay chan)(?: thay| hoi| bi){0,2} nong",
    "nong ran",
    "nong hon",
    "than nhiet cao",
    "nong sot",
)
DENGUE = phrase("sot xuat huyet", "sxh", "dengue", "muoi van")
DIARRHOEA = phrase("tieu chay", "di ngoai", "ia chay", "di cau", "phan long", "di ia")
PREGNANT = phrase(
    "co thai",
    "mang thai",
    "co bau",
    "ba bau",
    "mang bau",
    "dang bau",
    "thai phu",
    "thai nhi",
    "thai ky",
    "thai may",
    r"thai \d+ tuan",
    r"bau \d+ (?:thang|tuan)",
)
POSTPARTUM = phrase(
    r"sau (?:sinh|sanh|de|mo de)", r"(?:vua|moi) (?:sinh|de) xong", "san phu", "hau san"
)
HFMD = phrase("tay chan mieng", "chan tay mieng", "tcm")

RULES: tuple[Rule, ...] = (
    Rule(
        "chest_pain",
        EMERGENCY,
        "Đau ngực",
        "Ngừng mọi gắng sức, ngồi hoặc nằm nghỉ, không tự đi bộ hay lái xe.",
        phrase(
            rf"(?:dau|tuc|nang|that|buot|nhoi|bop|tuc tho){GAP} (?:nguc|vung tim|tim)",
            r"nguc(?: [a-z0-9]+){0,3} (?:dau|tuc|nang|bo chat|that lai|bi bop|nhoi)",
            "nhoi mau co tim",
            "con dau that",
        ),
    ),
    Rule(
        "stroke",
        EMERGENCY,
        "Dấu hiệu đột quỵ (méo miệng, yếu nửa người, nói khó)",
        "Ghi lại giờ bắt đầu có triệu chứng; để người bệnh nằm nghiêng, không cho ăn uống, "
        "không cạo gió hay chích máu.",
        phrase(
            r"meo (?:mieng|mat|mom)",
            r"lech (?:mat|mieng|mom)",
            r"mieng (?:bi )?(?:meo|lech)",
            rf"(?:yeu|liet|te|khong cu dong duoc|khong nhac duoc|roi){GAP} "
            r"(?:nua nguoi|nua than|nua mat|(?:mot|1) ben)",
            r"liet (?:tay|chan|mat)",
            r"(?:tay|chan)(?: [a-z0-9]+){0,3} (?:yeu|liet|te bi) (?:mot ben|nua nguoi|dot ngot)",
            r"noi (?:hoi |bi )?(?:ngong|kho|lap|lam bam|khong ro)",
            r"cam (?:dua|coc|ly|bat)(?: [a-z]+){0,3} (?:roi|rot|tuot)",
            r"(?:roi|rot|tuot) (?:dua|coc|ly|bat)",
            r"(?:liu|cung) luoi",
            r"nhan trung (?:lech|meo)",
            r"khong noi duoc",
            r"dot quy",
            r"tai bien",
            r"trung phong",
            r"dot ngot (?:khong nhin thay|mu|mat thi luc)",
            r"(?:mat|nhin) mo (?:han|dot ngot|(?:mot|1) ben)",
            r"mu (?:mot|1) ben",
            rf"dau dau{GAP} (?:du doi|bua bo|kinh khung|chua tung)",
        ),
    ),
    Rule(
        "breathing",
        EMERGENCY,
        "Khó thở",
        "Cho người bệnh ngồi dậy, nới lỏng quần áo, tránh khói bụi.",
        phrase(
            r"kho tho",
            r"tho (?:kho|gap|doc|rit|khong noi|khong ra hoi|hut hoi|co keo|phi pho|khong duoc)",
            r"khong (?:the )?tho (?:duoc|noi)",
            r"khong the tho",
            r"tho khong kip",
            r"khong kip tho",
            r"co rut(?: long)? nguc",
            r"canh mui phap phong",
            r"tho hon hen",
            r"(?:ngop|ngat ngat) tho",
            r"len con (?:hen|suyen)",
            r"ngat tho",
            r"nghet tho",
            r"ngung tho",
            r"tim tai",
            r"(?:moi|mat|da|tay chan|dau ngon)(?: [a-z]+)? tim(?! mach)",
            r"tim (?:moi|mat|tai|ngat|ca nguoi)",
            r"rut lom",
            r"hut hoi",
            r"bi hoc",
            r"hoc (?:xuong|di vat|keo|hat|thuc an|do an)",
        ),
    ),
    Rule(
        "seizure",
        EMERGENCY,
        "Co giật",
        "Đặt người bệnh nằm nghiêng trên chỗ phẳng, không cho gì vào miệng, không giữ chặt "
        "chân tay; ghi lại thời gian cơn giật.",
        phrase(
            r"co (?:giat|giut)",
            r"len con (?:giat|giut)",
            r"(?:giat|giut) (?:kinh|tay chan|lien tuc)",
            r"kinh phong",
            r"gong cung",
            r"dong kinh",
            r"sui bot mep",
            r"tron mat",
            r"len kinh",
        ),
    ),
    Rule(
        "unconscious",
        EMERGENCY,
        "Lơ mơ, li bì hoặc bất tỉnh",
        "Đặt người bệnh nằm nghiêng an toàn, không cho ăn uống, theo dõi nhịp thở.",
        phrase(
            r"bat tinh",
            r"ngat(?! mui)(?: xiu)?",
            r"(?<!mot )(?<!chut )(?<!ti )(?<!1 )(?<!xiu )(?<!doi )(?<!cho )xiu(?! xiu| nua)",
            r"lim (?:di|han)",
            r"(?:ngu|nam|met) lim",
            r"lay (?:goi )?khong (?:day|tinh)",
            r"(?:mat|nguoi|be|ong|ba) lo do",
            r"met la(?: (?:di|nguoi|han|\|)|(?= $))",
            r"me sang",
            r"noi (?:lam nham|sang)",
            r"khong (?:con )?nhan ra (?:ai|nguoi)",
            r"nga quy",
            r"guc xuong",
            r"hon me",
            r"me man",
            r"lo mo",
            r"li bi",
            r"ly bi",
            r"lu du",
            r"kho danh thuc",
            r"goi khong (?:tinh|day|tra loi|biet)",
            r"lu lan",
            r"khong tinh tao",
        ),
        not_written=frozenset({"xíu"}),
    ),
    Rule(
        "dengue_warning",
        EMERGENCY,
        "Dấu hiệu cảnh báo sốt xuất huyết",
        "Đây là dấu hiệu cảnh báo của sốt xuất huyết (QĐ 2760/QĐ-BYT), có thể xảy ra cả khi đã "
        "hết sốt. Cho uống oresol trên đường đi, không dùng aspirin, ibuprofen.",
        phrase(
            r"dau bung",
            r"non",
            r"oi (?:nhieu|lien tuc|ra|moi|tat ca|het|mua)",
            r"chay mau",
            r"xuat huyet (?:niem mac|am dao|tieu hoa)",
            r"phan den",
            r"tieu (?:it|ra mau)",
            r"vat va",
            r"but rut",
            r"(?:lu du|li bi|met la(?: (?:di|nguoi|han|\|)|(?= $)))",
            r"gan to",
            r"(?:chan tay|tay chan) (?:lanh|lanh ngat)",
            r"tieu cau giam",
            r"ra mau am dao",
            r"rong kinh",
        ),
        context=DENGUE,
    ),
    Rule(
        "fever_warning",
        EMERGENCY,
        "Sốt kèm dấu hiệu cảnh báo (sốt xuất huyết, nhiễm trùng nặng)",
        "Sốt kèm các dấu hiệu này cần được khám cấp cứu (QĐ 2760/QĐ-BYT). Không dùng aspirin, "
        "ibuprofen.",
        phrase(
            r"non (?:nhieu|lien tuc|moi thu|tat ca|het|ra mau|ra het)",
            r"oi (?:nhieu|lien tuc|het|ra mau)",
            r"chay mau (?:cam|mui|chan rang|loi|nhieu)",
            r"but rut",
            r"(?:chan rang|loi) chay mau",
            r"non ra mau",
            r"phan den",
            r"vat va",
            r"(?:chan tay|tay chan) (?:lanh|lanh ngat)",
            r"tieu it",
            rf"dau bung{GAP} (?:vung gan|duoi suon|ben phai|du doi|nhieu|lien tuc)",
            r"cung co",
            r"co cung",
            r"ban (?:xuat huyet|tim)",
        ),
        context=FEVER,
    ),
    Rule(
        "child_danger",
        EMERGENCY,
        "Trẻ bỏ bú, không uống được hoặc nôn tất cả (dấu hiệu nguy hiểm IMCI)",
        "Đưa trẻ đến cơ sở y tế ngay; nếu trẻ còn bú được thì vẫn cho bú trên đường đi.",
        phrase(
            r"bo bu",
            r"(?:khong|ko|chua) (?:chiu |the |)bu",
            r"bu (?:kem|it|khong duoc)",
            r"tho ren",
            r"vang (?:da|mat)(?: [a-z]+){0,3} (?:ban chan|ban tay)",
            r"khong (?:an uong|uong|an) (?:duoc|gi)",
            r"khong an(?: [a-z]+)? khong uong",
            r"(?:an|uong|bu) (?:gi|vao(?: la| lai)?) (?:non|oi)",
            r"thop phong",
            r"khong uong duoc",
            r"non (?:tat ca|het|moi thu|ra het|sach)",
            r"oi (?:tat ca|het|moi thu|ra het)",
            r"bo an bo uong",
        ),
        context=CHILD,
    ),
    Rule(
        "severe_dehydration",
        EMERGENCY,
        "Dấu hiệu mất nước nặng",
        "Cho uống oresol từng thìa trên đường đi nếu người bệnh còn uống được.",
        phrase(
            r"mat nuoc nang",
            rf"veo da{GAP} (?:rat cham|lau|mat rat cham)",
            r"khong (?:di )?(?:tieu|dai)(?: [a-z0-9]+){0,2} (?:gio|tieng|ngay)",
            r"(?:ca ngay|ca dem|tu sang|tu hom qua|tu toi qua|\d+ (?:gio|tieng)(?: nay| roi)?) "
            r"(?:khong|chua) (?:di )?(?:tieu|dai)",
            r"khong uong duoc",
            r"uong (?:rat )?kem",
            r"uong khong duoc",
            r"mat trung sau",
        ),
        context=DIARRHOEA,
        not_written=frozenset({"uống kẽm"}),
    ),
    Rule(
        "bleeding",
        EMERGENCY,
        "Chảy máu nhiều, nôn hoặc ho ra máu",
        "Ép chặt lên chỗ chảy máu bằng vải sạch; để người bệnh nằm nghỉ.",
        phrase(
            r"chay mau(?: [a-z]+){0,2} (?:nhieu|khong cam|khong ngung|khong dung|xoi xa|lenh lang"
            r"|o at|qua nhieu|mai)",
            r"(?:non|oi) ra (?:ba|nhu ba) ca phe",
            r"mat (?:nhieu )?mau nhieu",
            r"bang huyet",
            r"ra (?:nhieu )?mau (?:nhieu|o at|am dao nhieu|cuc)",
            r"(?:non|oi|ho|khac) ra mau",
            r"di ngoai ra mau (?:nhieu|tuoi|den)",
            r"phan den",
            r"mau chay (?:nhieu|khong cam)",
        ),
    ),
    Rule(
        "pregnancy_danger",
        EMERGENCY,
        "Dấu hiệu nguy hiểm khi mang thai",
        "Nằm nghỉ nghiêng trái và đến ngay cơ sở có khả năng đỡ đẻ, cấp cứu sản khoa.",
        phrase(
            r"ra (?:it |nhieu )?mau",
            r"ra huyet",
            r"ra nuoc",
            r"vo oi",
            rf"dau bung{GAP} (?:du doi|nhieu|lien tuc|quan)",
            rf"dau dau{GAP} (?:nhieu|du doi)",
            r"nhin mo",
            r"phu (?:mat|tay|mat tay)",
            rf"thai{GAP} (?:it may|khong may|khong dap|khong cu dong|dap yeu|may it)",
            r"khong thay thai may",
        ),
        context=PREGNANT,
    ),
    Rule(
        "postpartum_danger",
        EMERGENCY,
        "Dấu hiệu nguy hiểm sau sinh",
        "Sốt, ra máu nhiều, sản dịch hôi, đau đầu hay đau bụng dữ dội sau sinh cần được khám "
        "ngay (WHO, chăm sóc sau sinh 2022).",
        phrase(
            r"sot",
            r"san dich hoi",
            r"ra (?:nhieu )?mau (?:nhieu|cuc|o at)",
            rf"dau dau{GAP} (?:nhieu|du doi)",
            r"nhin mo",
            rf"dau bung{GAP} (?:du doi|nhieu|lien tuc)",
        ),
        context=POSTPARTUM,
    ),
    Rule(
        "hfmd_severe",
        EMERGENCY,
        "Dấu hiệu tay chân miệng nặng (từ độ 2, QĐ 1003/QĐ-BYT)",
        "Đưa trẻ đến bệnh viện ngay; trên đường đi theo dõi nhịp thở, cho trẻ nằm nghiêng.",
        phrase(
            r"giat minh",
            r"choi voi",
            r"ngu ga",
            r"run (?:tay|chan|chi|nguoi|tay chan)",
            r"di (?:loang choang|lao dao|xieu veo)",
            r"non (?:nhieu|lien tuc)",
            r"sot (?:cao|lien tuc|khong ha|tren 2 ngay|hon 2 ngay)",
            r"tho (?:nhanh|bat thuong)",
            r"va mo hoi",
            r"quay khoc (?:lien tuc|suot|ca dem)",
            r"(?:yeu|liet) (?:tay|chan)",
        ),
        context=HFMD,
    ),
    Rule(
        "self_harm",
        EMERGENCY,
        "Ý nghĩ tự tử hoặc tự làm hại bản thân",
        "Không để người đó ở một mình; cất xa thuốc, thuốc trừ sâu, dao, dây; lắng nghe, không "
        "phán xét.",
        phrase(
            r"(?<!uong )(?<!tho )(?<!an )(?<!di )(?<!nhai )tu tu(?! thoi)",
            r"tu sat",
            r"muon chet",
            r"song khong bang chet",
            r"(?:khong|ko|chang) (?:con |)(?:muon|thiet) song",
            r"chan song",
            r"ket lieu",
            r"tu (?:lam hai|lam dau|cat tay)",
            r"treo co",
            r"nhay (?:cau|lau|song)",
            r"song (?:khong con|chang con|chang co) y nghia",
            r"muon bien mat vinh vien",
        ),
        not_written=frozenset({"từ từ"}),
    ),
    Rule(
        "poisoning_injury",
        EMERGENCY,
        "Ngộ độc, phản vệ hoặc tai nạn nặng",
        "Mang theo vỏ thuốc, hóa chất hoặc thức ăn nghi ngờ; không tự gây nôn khi chưa được "
        "hướng dẫn.",
        phrase(
            r"ngo doc",
            r"uong nham",
            r"uong (?:ca |nhieu |het )?(?:vi |lo |hop )?thuoc ngu",
            r"uong (?:ca|het|nguyen)(?: mot)? (?:vi|lo|hop|nam|chai|tui|ve) thuoc",
            r"(?:uong|nuot|an)(?: [a-z]+){0,2} (?:nuoc tay|chat tay|thuoc tay|hoa chat|axit|xut"
            r"|dau hoa|xang|pin|nam cham)",
            r"ong (?:vo ve|bap cay|dat)",
            r"ong (?:dot|chich|dat)(?: [a-z]+){0,2} nhieu",
            r"chet duoi",
            r"(?:nga|te|rot|roi) xuong (?:ao|ho|song|gieng|suoi)",
            r"xe (?:tong|dam|can|cuon)",
            r"qua lieu",
            r"uong (?:thuoc|chai)(?: [a-z]+)? (?:sau|tru sau|chuot|diet co|tru co)",
            r"thuoc (?:tru sau|diet chuot|chuot|diet co)",
            r"phan ve",
            r"sung (?:moi|luoi|hong|mat mui)",
            r"dien giat",
            r"duoi nuoc",
            r"ran(?: [a-z]+)? (?:can|doc)",
            r"bong (?:nang|rong|dien|hoa chat|nuoc soi|xang)",
            r"chan thuong (?:dau|so nao|nang)",
            r"dap dau",
            r"tai nan (?:giao thong|nang|xe|lao dong)",
        ),
    ),
    Rule(
        "severe_pain",
        EMERGENCY,
        "Đau bụng dữ dội",
        "Không ăn uống, không tự uống thuốc giảm đau.",
        phrase(
            rf"dau bung{GAP} (?:du doi|qua|khong chiu noi|quan quai|dao dam)",
            r"dau quan (?:bung|ruot)",
        ),
    ),
)


def _number(token: str) -> float:
    words = {"mot": 1, "hai": 2, "ba": 3}
    return float(words.get(token, token))


# An age: "bé 2 tháng", "con tôi 2 tháng", "bé gái nhà tôi 20 ngày", "con được 20 ngày",
# "6 tuần tuổi" (a bare "2 ngày" is a duration).
OWNER = r"(?:be|con|chau|em be|tre)"
OWNER_WORD = r"(?: (?:toi|minh|em|gai|trai|nha|nho|noi|ngoai|cua|be|moi|duoc|vua))"
AGE = re.compile(
    rf"(?<= )(?:({OWNER}{OWNER_WORD}{{0,3}}|duoc|moi|nha toi|nha em) )?(\d+|mot|hai|ba) "
    r"(ngay|tuan|thang)( tuoi)?(?= )"
)
INFANT_WORDS = phrase("so sinh", "moi sinh", "moi de", "con do", "em be do")
TEMPERATURE = re.compile(r"(?<= )(3[5-9]|4[0-3])(?:\.(\d))?(?= do| c | doc|$| )")
VALUE = r"(\d{1,3}(?:\.\d)?)"
# A reading, "185/100", "190 trên 110" or in cmHg as often said, "18/10"; not a date ("ngày 18/10").
READING = re.compile(rf"(?<= )(?<!ngay )(?<!hom ){VALUE} (?:/|tren) {VALUE}(?= )")
READING_CONTEXT = phrase("huyet ap", "ha", "may do", "do duoc", "tam thu")
# One number named as a blood pressure: "huyết áp tâm thu 200", "HA lên 20", "tâm trương 120".
SINGLE = re.compile(
    r"(?<= )(huyet ap|ha|tam thu|tam truong|so tren|so duoi)((?: (?:cua|toi|minh|em|me|bo|ba|ong"
    r"|anh|chi|do|duoc|dang|la|co|khi|luc|sang|nay|hom|chieu|dem|len|cao|tang|vot|tam|thu|truong"
    rf"|so|tren|duoi|gan|hon|khoang|muc|nhat)){{0,4}}) {VALUE}(?= )(?! (?:/|tren) )"
    r"(?! (?:nam|thang|tuan|ngay|tuoi|lan|vien|mg|ml|g|kg|phut|gio|tieng|nguoi|loai) )"
)
# Symptoms of acute organ damage with a very high pressure, as patients present them in
# hypertensive crises (Zampaglione et al., Hypertension 1996;27:144-7).
ORGAN_DAMAGE = phrase(
    r"(?:dau|nhuc|choang) (?:dau|vang)",
    r"(?:nhin|mat) mo",
    r"mo mat",
    r"(?:hoa|chong) mat",
    r"(?:buon )?non",
    r"oi",
    r"chay mau (?:cam|mui)",
    r"(?:dau|tuc) nguc",
    r"kho tho",
    r"(?:te|yeu|liet) (?:tay|chan|mat|nua|mot ben)",
    r"lu lan",
    r"noi kho",
    r"vat va",
)


def _infant(q: Question) -> bool:
    """Whether the question is about a baby under 3 months (weeks < 13, days < 90)."""
    if q.has(INFANT_WORDS, negation=False):
        return True
    for match in AGE.finditer(q.string):
        owner, number, unit, aged = match.groups()
        if not (owner or aged):
            continue
        limit = {"thang": 3, "tuan": 13, "ngay": 90}[unit]
        if _number(number) < limit:
            return True
    return False


def _temperatures(q: Question) -> list[float]:
    found = []
    for match in TEMPERATURE.finditer(q.string):
        value = float(f"{match.group(1)}.{match.group(2) or 0}")
        after = q.string[match.end() : match.end() + 5]
        before = q.string[max(0, match.start() - 20) : match.start()]
        if after.startswith(" do") or "sot" in before or "nhiet" in before:
            found.append(value)
    return found


def _mmhg(value: str, diastolic: bool) -> float:
    """A pressure in mmHg; below 30 (systolic) or 20 (diastolic) it was said in cmHg."""
    number = float(value)
    return number * 10 if number < (20 if diastolic else 30) else number


def _very_high_pressure(q: Question) -> bool:
    """Whether a blood pressure of grade 3 is given: systolic ≥ 180 or diastolic ≥ 110 mmHg
    (QĐ 3192/QĐ-BYT 2010; ISH 2020, Unger et al., Hypertension 2020;75:1334-57), read from a
    reading "185/100" or from one number named as a pressure ("huyết áp tâm thu 200")."""
    if q.has(READING_CONTEXT, negation=False):
        for match in READING.finditer(q.string):
            if _mmhg(match.group(1), False) >= 180 or _mmhg(match.group(2), True) >= 110:
                return True
    for match in SINGLE.finditer(q.string):
        diastolic = re.search(r"truong|duoi", match.group(1) + match.group(2)) is not None
        if _mmhg(match.group(3), diastolic) >= (110 if diastolic else 180):
            return True
    return False


INFANT_FEVER = Flag(
    "infant_fever",
    EMERGENCY,
    "Trẻ dưới 3 tháng tuổi bị sốt hoặc hạ thân nhiệt",
    "Ở trẻ dưới 3 tháng, sốt có thể là nhiễm khuẩn nặng (WHO IMCI). Đưa trẻ đến cơ sở y tế "
    "ngay, vẫn cho bú trên đường đi, không tự cho uống thuốc hạ sốt.",
)
HIGH_FEVER = Flag(
    "high_fever",
    SEE_CLINICIAN,
    "Sốt cao từ 39°C",
    "Hãy đến trạm y tế xã hoặc cơ sở y tế để được khám trong hôm nay.",
)
VERY_HIGH_PRESSURE = Flag(
    "very_high_blood_pressure",
    SEE_CLINICIAN,
    "Huyết áp rất cao (từ 180/110 mmHg)",
    "Cần được nhân viên y tế khám ngay trong ngày (QĐ 3192/QĐ-BYT); gọi 115 nếu kèm đau ngực, "
    "khó thở, đau đầu dữ dội, nhìn mờ, yếu nửa người.",
)
HYPERTENSIVE_EMERGENCY = Flag(
    "hypertensive_emergency",
    EMERGENCY,
    "Huyết áp rất cao kèm triệu chứng (nghi cơn tăng huyết áp cấp cứu)",
    "Huyết áp từ 180/110 mmHg kèm đau đầu, nhìn mờ, đau ngực, khó thở hay yếu tê chân tay là "
    "cấp cứu (ISH 2020). Ngồi nghỉ, không tự uống thêm thuốc hạ áp liều cao.",
)
COLD = phrase("nguoi lanh", "ha than nhiet", "lanh ngat", "than nhiet thap")


def _numeric_flags(q: Question) -> list[Flag]:
    flags = []
    temperatures = _temperatures(q)
    fever = q.has(FEVER) or any(t >= 37.5 for t in temperatures)
    if _infant(q) and (fever or q.has(COLD) or any(t < 35.5 for t in temperatures)):
        flags.append(INFANT_FEVER)
    elif any(t >= 39 for t in temperatures):
        flags.append(HIGH_FEVER)
    if _very_high_pressure(q):
        flags.append(HYPERTENSIVE_EMERGENCY if q.has(ORGAN_DAMAGE) else VERY_HIGH_PRESSURE)
    return flags


def _see(rule_id: str, label: str, advice: str, *signs: str, context=None) -> Rule:
    return Rule(rule_id, SEE_CLINICIAN, label, advice, phrase(*signs), context)


VISIT = "Hãy đến trạm y tế xã để được khám sớm."
SEE_RULES: tuple[Rule, ...] = (
    _see(
        "long_cough",
        "Ho kéo dài, cần khám sàng lọc lao",
        "Ho từ 2 tuần trở lên cần được xét nghiệm đờm và chụp X-quang phổi. " + VISIT,
        r"ho(?: [a-z0-9]+){0,3} (?:2|hai|3|ba|4|bon|nhieu) tuan",
        r"ho (?:keo dai|lau ngay|dai dang|man tinh|ca thang|hang thang|ca tuan)",
        r"(?:do|ra) mo hoi (?:dem|trom|ban dem)",
        r"sut can",
    ),
    _see(
        "long_fever",
        "Sốt kéo dài hoặc nghi sốt xuất huyết, tay chân miệng",
        "Cần được khám và hẹn theo dõi hằng ngày. " + VISIT,
        r"sot(?: [a-z0-9]+){0,2} (?:3|4|5|6|7|ba|bon|nam|sau|bay|nhieu) ngay",
        r"sot (?:keo dai|cao|lien tuc|khong ha|khong giam|mai khong)",
        r"(?:bi|mac|nghi|nhiem) (?:benh )?(?:sot xuat huyet|sxh|tay chan mieng|chan tay mieng)",
    ),
    _see(
        "dehydration",
        "Tiêu chảy có dấu hiệu mất nước hoặc có máu",
        "Cần được bù nước bằng oresol và theo dõi tại trạm y tế. " + VISIT,
        r"mat trung",
        r"khat nuoc",
        r"uong hao huc",
        r"quay khoc",
        rf"veo da{GAP} (?:cham|lau)",
        r"(?:phan|di ngoai|ia|di cau) (?:co |ra |lan )?mau",
        r"tieu it",
        r"(?:14 ngay|2 tuan|hai tuan|keo dai)",
        r"mat nuoc",
        context=DIARRHOEA,
    ),
    _see(
        "other_visit",
        "Cần được nhân viên y tế khám",
        VISIT,
        r"(?:loet|vet thuong|vet xuoc)(?: [a-z]+){0,3} (?:chan|ban chan|ngon chan)"
        r"(?: [a-z]+){0,4} (?:sung|mu|hoi|lau lanh|tim|den)",
        r"cuc (?:u |cung |)(?:o |trong )?vu",
        r"u vu",
        r"(?:cho|meo|chuot) can",
        r"kho khe",
        r"tram cam",
        r"buon chan keo dai",
    ),
)


# Any danger sign or fever, for a negation carried over "hay"/"hoặc" (Question.negated).
ANY_SIGN = re.compile(
    "(?:" + "|".join(p.pattern for p in (FEVER, *(r.signs for r in (*RULES, *SEE_RULES)))) + ") $"
)


def triage(text: str) -> Triage:
    """The triage level of a question and the danger signs found in it."""
    q = Question(text)
    flags = [
        Flag(rule.id, rule.level, rule.label, rule.advice)
        for rule in (*RULES, *SEE_RULES)
        if rule.check(q)
    ]
    flags.extend(_numeric_flags(q))
    level = max((f.level for f in flags), key=LEVELS.index, default=SELF_CARE)
    flags.sort(key=lambda f: -LEVELS.index(f.level))
    return Triage(level, tuple(flags))
