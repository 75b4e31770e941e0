"""Interface text of the pages about people (Vietnamese, English)."""

from songkhoe.web.i18n import register

register(
    {
        "register_person": ("Đăng ký người dân", "Register a person"),
        "sex_other": ("Khác", "Other"),
        "sex_unknown": ("Không rõ", "Unknown"),
        "contact": ("Liên hệ", "Contact"),
        "family_name": ("Họ", "Family name"),
        "given_names": ("Tên đệm và tên", "Middle and given names"),
        "address_line": ("Số nhà, thôn/tổ dân phố", "House, village"),
        "ethnic_group": ("Dân tộc", "Ethnic group"),
        "occupation": ("Nghề nghiệp", "Occupation"),
        "commune": ("Xã/phường", "Commune"),
        "commune_code": ("Mã xã/phường (5 chữ số)", "Commune code (5 digits)"),
        "cccd_hint": ("12 chữ số, ví dụ 027160000001", "12 digits, e.g. 027160000001"),
        "bhyt_hint": ("15 ký tự, ví dụ GD4270000000001", "15 characters, e.g. GD4270000000001"),
        "cccd_province": (
            "3 chữ số đầu phải là mã tỉnh nơi đăng ký khai sinh.",
            "The first 3 digits must be a birth-province code.",
        ),
        "cccd_century": (
            "Chữ số thứ 4 (thế kỷ và giới tính) không khớp với năm sinh.",
            "The 4th digit (century and sex) does not match the birth year.",
        ),
        "cccd_year": (
            "Chữ số thứ 5-6 phải là 2 số cuối của năm sinh.",
            "Digits 5-6 must be the last two digits of the birth year.",
        ),
        "cccd_sex": (
            "Chữ số thứ 4 (thế kỷ và giới tính) không khớp với giới tính.",
            "The 4th digit (century and sex) does not match the sex.",
        ),
        "cccd_taken": (
            "Số CCCD này đã được đăng ký cho một người khác.",
            "This citizen ID is already registered for someone.",
        ),
        "bhyt_taken": (
            "Số thẻ BHYT này đã được đăng ký cho một người khác.",
            "This insurance card is already registered for someone.",
        ),
        "same_person": (
            "Đã có người cùng họ tên và ngày sinh. Kiểm tra lại, hoặc đánh dấu xác nhận "
            "đây là người khác.",
            "Someone with the same name and date of birth exists. Check, or confirm "
            "that this is another person.",
        ),
        "confirm_new": ("Tôi xác nhận đây là một người khác", "I confirm this is another person"),
        "unknown_commune": (
            "Mã xã/phường không có trong danh mục 2025.",
            "This commune code is not on the 2025 map.",
        ),
        "outside_place": (
            "Xã/phường này không thuộc địa bàn của bạn.",
            "This commune is outside your area.",
        ),
    }
)
