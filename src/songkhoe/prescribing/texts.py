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
        "rx_refused": (
            "Không đọc được hồ sơ người bệnh để kiểm tra đơn thuốc.",
            "The person's record could not be read to check the prescription.",
        ),  # fmt: skip
    }
)
