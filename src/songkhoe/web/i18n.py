"""Interface text in Vietnamese (first) and English (second).

Each domain registers its own text with `register`. The language comes from the `lang` cookie
(set by the switch in the page header), else from the
browser's Accept-Language, else Vietnamese.
"""

from fastapi import Request

LANGUAGES = ("vi", "en")
MESSAGES: dict[str, tuple[str, str]] = {
    "app": ("Sống Khỏe", "Sống Khỏe"),
    "login": ("Đăng nhập", "Log in"),
    "logout": ("Đăng xuất", "Log out"),
    "username": ("Tên đăng nhập", "Username"),
    "password": ("Mật khẩu", "Password"),
    "wrong_login": ("Sai tên đăng nhập hoặc mật khẩu.", "Wrong username or password."),
    "throttled": (
        "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {wait}.",
        "Too many failed logins. Please try again in {wait}.",
    ),
    "wait_seconds": ("{n} giây", "{n} s"),
    "wait_minutes": ("{n} phút", "{n} min"),
    "expired_form": (
        "Biểu mẫu đã hết hạn, vui lòng thử lại.",
        "The form has expired, please try again.",
    ),
    "database_unavailable": (
        "Không kết nối được cơ sở dữ liệu. Vui lòng thử lại sau ít giây.",
        "The database cannot be reached. Please try again in a few seconds.",
    ),
    "home": ("Trang chủ", "Home"),
    "people": ("Người dân", "People"),
    "search_people": (
        "Tìm theo tên, số CCCD, số thẻ BHYT hoặc số điện thoại",
        "Search by name, ID card, insurance card or phone number",
    ),
    "search": ("Tìm", "Search"),
    "no_results": ("Không tìm thấy ai.", "Nobody found."),
    "name": ("Họ tên", "Name"),
    "birth_date": ("Ngày sinh", "Date of birth"),
    "sex": ("Giới", "Sex"),
    "male": ("Nam", "Male"),
    "female": ("Nữ", "Female"),
    "cccd": ("Số CCCD", "Citizen ID"),
    "bhyt": ("Số thẻ BHYT", "Insurance card"),
    "phone": ("Điện thoại", "Phone"),
    "address": ("Địa chỉ", "Address"),
    "conditions": ("Bệnh đang điều trị", "Conditions"),
    "medications": ("Thuốc đang dùng", "Medications"),
    "blood_pressure": ("Huyết áp gần đây", "Recent blood pressure"),
    "none_recorded": ("Chưa có.", "None recorded."),
    "access_log": ("Ai đã xem hồ sơ này", "Who looked at this record"),
    "when": ("Thời gian", "When"),
    "who": ("Người truy cập", "Who"),
    "action": ("Thao tác", "Action"),
    "outcome": ("Kết quả", "Outcome"),
    "allowed": ("Được phép", "Allowed"),
    "refused": ("Bị từ chối", "Refused"),
    "not_found": ("Không tìm thấy hồ sơ này.", "This record was not found."),
    "forbidden": ("Bạn không có quyền xem trang này.", "You may not see this page."),
    "aggregates_only": (
        "Tài khoản quản lý xem số liệu tổng hợp, không xem hồ sơ cá nhân.",
        "Manager accounts see aggregates, not personal records.",
    ),
    "your_place": ("Địa bàn", "Your area"),
    "role": ("Vai trò", "Role"),
    "people_count": ("Số người dân quản lý", "People registered"),
    "language": ("English", "Tiếng Việt"),
}


def register(messages: dict[str, tuple[str, str]]) -> None:
    """Add a domain's interface text (key: (Vietnamese, English)); a key may not be redefined
    with other text."""
    for key, texts in messages.items():
        if MESSAGES.setdefault(key, texts) != texts:
            raise ValueError(f"interface text {key!r} is already defined differently")


def language(request: Request) -> str:
    chosen = request.cookies.get("lang")
    if chosen in LANGUAGES:
        return chosen
    accepted = request.headers.get("accept-language", "")
    return "en" if accepted.lower().startswith("en") else "vi"


def translator(lang: str):
    index = LANGUAGES.index(lang)
    return lambda key: MESSAGES[key][index]
