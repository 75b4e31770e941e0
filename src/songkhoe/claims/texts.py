"""Interface text of the insurance accountant's pages (Vietnamese, English)."""

from songkhoe.web.i18n import register

register(
    {
        "bh_nav": ("Hồ sơ BHYT", "Insurance claims"),
        "bh_title": ("Hồ sơ BHYT tháng", "Insurance claims of"),
        "bh_role": ("Kế toán bảo hiểm y tế", "Health-insurance accountant"),
        "bh_month": ("Tháng quyết toán", "Settlement month"),
        "bh_facility": ("Mã cơ sở (Organization)", "Facility (Organization id)"),
        "bh_state": ("Trạng thái", "State"),
        "bh_all_states": ("Tất cả", "All"),
        "bh_show": ("Xem", "Show"),
        "bh_previous": ("Tháng trước", "Previous month"),
        "bh_next": ("Tháng sau", "Next month"),
        "bh_state_built": ("Đã lập", "Built"),
        "bh_state_failed_check": ("Lỗi kiểm tra", "Failed the check"),
        "bh_state_sent": ("Đã gửi", "Sent"),
        "bh_state_accepted": ("Đã tiếp nhận", "Received"),
        "bh_state_rejected": ("Bị từ chối", "Rejected"),
        "bh_hint_built": ("Chưa gửi cổng giám định: gửi hồ sơ này.", "Not sent yet: send it."),
        "bh_hint_sent": (
            "Đã gửi nhưng chưa có trả lời của cổng: gửi lại.",
            "Sent, but the gateway has not answered: send it again.",
        ),
        "bh_hint_accepted": ("Cổng giám định đã tiếp nhận.", "The gateway received it."),
        "bh_hint_failed_check": (
            "Sửa hồ sơ theo các lỗi trên rồi lập lại.",
            "Correct the record as the lines say, then build it again.",
        ),
        "bh_hint_rejected": (
            "Sửa theo thông báo của cổng rồi lập và gửi lại.",
            "Correct it as the gateway says, then build and send it again.",
        ),
        "bh_fix": ("Cần sửa", "To fix"),
        "bh_transaction": ("Mã giao dịch", "Transaction"),
        "bh_visit": ("Ngày khám", "Visit"),
        "bh_total": ("Tổng chi phí", "Total cost"),
        "bh_fund": ("Quỹ BHYT", "Fund pays"),
        "bh_claims": ("Danh sách hồ sơ", "Claims"),
        "bh_no_claims": ("Không có hồ sơ nào.", "No claims."),
        "bh_summary": (
            "Danh sách đề nghị thanh toán gửi BHXH (theo mẫu C79-HD)",
            "The list filed with BHXH (after form C79-HD)",
        ),
        "bh_summary_rule": (
            "Gồm các hồ sơ Đã tiếp nhận (cổng giám định đã nhận). Số hồ sơ:",
            "Holds the claims the gateway received. Claims:",
        ),
        "bh_left_out": ("Chưa tính (trạng thái khác):", "Not counted (other states):"),
        "bh_hidden": (
            "hồ sơ của tháng này thuộc người bệnh ngoài địa bàn bạn được xem: danh sách và bảng "
            "tổng hợp chưa đủ. Quản trị hệ thống hoặc lệnh `songkhoe bhyt summary` lập được bản "
            "đầy đủ.",
            "claims of this month are of people outside your place: the list and the summary are "
            "incomplete. An administrator, or `songkhoe bhyt summary`, can make the full one.",
        ),
        "bh_not_accountant": (
            "Trang này dành cho kế toán bảo hiểm y tế của cơ sở.",
            "This page is for the facility's health-insurance accountant.",
        ),
        "bh_no_facility": (
            "Tài khoản của bạn không gắn với một cơ sở khám chữa bệnh hay một xã.",
            "Your account is not at a facility or a commune.",
        ),
        "bh_other_facility": (
            "Bạn chỉ xem được hồ sơ của cơ sở mình.",
            "You may see only your own facility's claims.",
        ),
        "bh_bad_month": ("Tháng phải có dạng YYYY-MM.", "The month must be YYYY-MM."),
        "bh_unknown_facility": ("Không có cơ sở này.", "No such facility."),
        "bh_pick_facility": ("Chọn cơ sở để xem.", "Choose a facility."),
        "bh_incomplete": (
            "Không lập được bảng tổng hợp: có hồ sơ của tháng bạn không xem được.",
            "The summary cannot be made: some of the month's claims are hidden from you.",
        ),
        "bh_summary_failed": ("Không lập được bảng tổng hợp:", "The summary cannot be made:"),
        "bh_summary_mismatch": (
            "Không lập được bảng tổng hợp: số liệu của một hồ sơ không khớp (xem trang Hồ sơ "
            "BHYT).",
            "The summary cannot be made: a claim's amounts do not add up (see the claims page).",
        ),
    }
)
