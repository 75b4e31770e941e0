"""Interface text of the prescription pages (Vietnamese, English)."""

from songkhoe.web.i18n import register

register(
    {
        "rx_new": ("Kê đơn thuốc điện tử", "New e-prescription"),
        "rx_drug": ("Thuốc", "Medicine"),
        "rx_dose": ("Liều mỗi lần", "Dose"),
        "rx_per_day": ("Số lần/ngày", "Times a day"),
        "rx_days": ("Số ngày", "Days"),
        "rx_note": ("Cách dùng thêm", "Instructions"),
        "rx_check": ("Kiểm tra đơn", "Check"),
        "rx_sign": ("Ký đơn", "Sign"),
        "rx_warnings": ("Cảnh báo cần xem xét", "Warnings to review"),
        "rx_no_warnings": ("Không có cảnh báo.", "No warnings."),
        "rx_acknowledge": ("Tôi đã xem xét cảnh báo này", "I have reviewed this warning"),
        "rx_source": ("Nguồn", "Source"),
        "rx_diagnosis": (
            "Chẩn đoán (mã ICD-10, cách nhau bởi dấu phẩy)",
            "Diagnoses (ICD-10 codes, comma-separated)",
        ),  # fmt: skip
        "rx_advice": ("Lời dặn", "Advice"),
        "rx_prescription": ("Đơn thuốc", "Prescription"),
        "rx_code": ("Mã đơn thuốc", "Prescription code"),
        "rx_quantity": ("Số lượng", "Quantity"),
        "rx_usage": ("Cách dùng", "How to take"),
        "rx_pdf": ("Tải PDF", "Download PDF"),
        "rx_export": ("Xuất JSON đơn thuốc quốc gia", "National e-prescription JSON"),
        "rx_print": ("In", "Print"),
        "rx_prescriptions": ("Đơn thuốc đã kê", "Prescriptions"),
        "rx_patient": ("Người bệnh", "Patient"),
        "rx_diagnoses": ("Chẩn đoán", "Diagnoses"),
        "rx_back": ("Quay lại hồ sơ", "Back to the record"),
        "rx_not_prescriber": (
            "Chỉ bác sĩ, y sĩ (trạm y tế xã) và bác sĩ chuyên khoa được kê đơn thuốc.",
            "Only physicians, assistant physicians (commune stations) and specialists prescribe.",
        ),  # fmt: skip
        "rx_national": ("Hệ thống đơn thuốc quốc gia", "National e-prescription system"),
        "rx_national_send": (
            "Gửi lên hệ thống đơn thuốc quốc gia",
            "Send to the national system",
        ),  # fmt: skip
        "rx_national_resend": ("Gửi lại đơn đã sửa", "Send the corrected prescription again"),
        "rx_national_check": ("Kiểm tra trạng thái", "Check the status"),
        "rx_national_doctor_code": (
            "Mã liên thông bác sĩ (tài khoản của bác sĩ trên hệ thống quốc gia)",
            "Your prescriber code (your account at the national system)",
        ),  # fmt: skip
        "rx_national_password": (
            "Mật khẩu trên hệ thống quốc gia (chỉ dùng cho lần gửi này, không lưu lại)",
            "Your password at the national system (used for this send only, never stored)",
        ),  # fmt: skip
        "rx_national_state": ("Trạng thái", "State"),
        "rx_national_state_none": ("Chưa gửi", "Not sent"),
        "rx_national_state_sent": ("Đã gửi, chưa có kết quả", "Sent, no answer yet"),
        "rx_national_state_accepted": ("Đã được tiếp nhận", "Received"),
        "rx_national_state_rejected": ("Bị từ chối", "Rejected"),
        "rx_national_state_failed": ("Gửi không thành công", "Not delivered"),
        "rx_national_message": ("Thông báo của hệ thống", "The system's message"),
        "rx_national_fix": (
            "Sửa hồ sơ người bệnh hoặc đơn thuốc theo thông báo trên, rồi gửi lại.",
            "Correct the person's record or the prescription as the message says, then send "
            "it again.",
        ),  # fmt: skip
        "rx_national_history": ("Các lần gửi", "Sends"),
        "rx_national_error": ("Chưa thực hiện được", "Not done"),
        "rx_national_off": (
            "Chưa cấu hình kết nối với hệ thống đơn thuốc quốc gia.",
            "The connection to the national e-prescription system is not configured.",
        ),  # fmt: skip
        "rx_refused": (
            "Không đọc được hồ sơ người bệnh để kiểm tra đơn thuốc.",
            "The person's record could not be read to check the prescription.",
        ),  # fmt: skip
    }
)
