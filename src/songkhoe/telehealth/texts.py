"""Interface text of the telehealth pages (Vietnamese, English)."""

from songkhoe.web.i18n import register

register(
    {
        "th_nav": ("Hội chẩn từ xa", "Telehealth"),
        "th_inbox": ("Hội chẩn và chuyển tuyến", "Consultations and referrals"),
        "th_assigned": ("Ca được giao cho tôi", "Cases assigned to me"),
        "th_sent": ("Ca tôi đã gửi", "Cases I sent"),
        "th_queue": ("Hàng chờ chuyên khoa", "Specialty queue"),
        "th_referrals_in": ("Chuyển tuyến đến cơ sở", "Referrals to my facility"),
        "th_referrals_out": ("Chuyển tuyến tôi đã gửi", "Referrals I sent"),
        "th_none": ("Không có ca nào.", "No cases."),
        "th_patient": ("Người bệnh", "Patient"),
        "th_status": ("Trạng thái", "Status"),
        "th_deadline": ("Hạn phản hồi", "Respond by"),
        "th_overdue": ("Quá hạn", "Overdue"),
        "th_escalated": ("Đã chuyển chuyên gia dự phòng", "Escalated to a backup"),
        "th_new_case": ("Xin hội chẩn từ xa", "Ask a specialist"),
        "th_question": ("Câu hỏi cho chuyên gia", "Question for the specialist"),
        "th_urgency": ("Mức độ khẩn", "Urgency"),
        "th_specialty_queue": ("Chuyên khoa và cơ sở tuyến trên", "Specialty and facility"),
        "th_attachments": (
            "Đính kèm (phim X-quang, điện tim, ảnh, chỉ số)",
            "Attachments (X-rays, ECG, photos, results)",
        ),  # fmt: skip
        "th_no_queues": (
            "Chưa có hàng chờ chuyên khoa nào được cấu hình.",
            "No specialty queue is configured yet.",
        ),  # fmt: skip
        "th_send": ("Gửi", "Send"),
        "th_case": ("Ca hội chẩn", "Consultation"),
        "th_requested_by": ("Người gửi", "Sent by"),
        "th_assigned_to": ("Chuyên gia phụ trách", "Assigned specialist"),
        "th_accept": ("Nhận ca", "Accept the case"),
        "th_chat": ("Trao đổi", "Chat"),
        "th_message": ("Tin nhắn", "Message"),
        "th_video": ("Họp video (Jitsi)", "Video meeting (Jitsi)"),
        "th_recommendation": ("Ý kiến chuyên gia", "Specialist's recommendation"),
        "th_action": ("Hướng xử trí", "Recommended action"),
        "th_advice": ("Lời khuyên", "Advice"),
        "th_diagnosis": ("Chẩn đoán (ICD-10)", "Diagnosis (ICD-10)"),
        "th_refer_to": ("Chuyển đến cơ sở", "Refer to"),
        "th_recommend": ("Gửi ý kiến", "Send the recommendation"),
        "th_new_referral": ("Chuyển tuyến", "Refer"),
        "th_referral": ("Giấy chuyển tuyến", "Referral"),
        "th_summary": ("Tóm tắt bệnh án", "Case summary"),
        "th_reason": ("Lý do chuyển tuyến", "Reason for referral"),
        "th_urgent": ("Khẩn", "Urgent"),
        "th_to_facility": ("Cơ sở tiếp nhận", "Receiving facility"),
        "th_receive": ("Xác nhận người bệnh đã đến", "Record the arrival"),
        "th_outcome": ("Kết quả điều trị", "Outcome"),
        "th_record_outcome": ("Ghi kết quả và lời dặn tuyến dưới", "Record outcome and advice"),
        "th_letter": ("In giấy chuyển tuyến (PDF)", "Print the referral letter (PDF)"),
        "th_error": ("Không thực hiện được", "Could not be done"),
        "th_back": ("Quay lại", "Back"),
        "th_panel": (
            "Hội chẩn, chuyển tuyến, đơn thuốc",
            "Consultations, referrals, prescriptions",
        ),
        "th_home_panel": ("Việc hội chẩn của tôi", "My telehealth work"),
        "th_js_offline": (
            "Mất kết nối trò chuyện trực tiếp; tin nhắn vẫn gửi được.",
            "Live chat disconnected; messages still send.",
        ),  # fmt: skip
        "status_requested": ("Chờ nhận", "Waiting"),
        "status_accepted": ("Đã nhận", "Accepted"),
        "status_in-progress": ("Đang trao đổi", "In progress"),
        "status_received": ("Đã tiếp nhận", "Received"),
        "status_completed": ("Hoàn thành", "Completed"),
        "th_conflict": (
            "Ca đã thay đổi (hoặc đã kết thúc) trong lúc bạn thao tác; vui lòng tải lại trang.",
            "The case changed (or was closed) meanwhile; please reload the page.",
        ),  # fmt: skip
    }
)
