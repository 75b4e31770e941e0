"""Interface text of the ECG pages (Vietnamese, English)."""

from songkhoe.web.i18n import register

register(
    {
        "ecg_nav": ("Điện tâm đồ", "ECG"),
        "ecg_panel": ("Điện tâm đồ (ECG)", "Electrocardiograms (ECG)"),
        "ecg_ai_label": ("AI hỗ trợ — bác sĩ xác nhận", "AI supports — a doctor confirms"),
        "ecg_upload": ("Tải điện tâm đồ lên", "Upload an ECG"),
        "ecg_files": (
            "Tệp ghi (WFDB .hea với .mat/.dat, hoặc .zip; DICOM; CSV)",
            "Recording files (WFDB .hea with .mat/.dat, or a .zip; DICOM; CSV)",
        ),
        "ecg_send": ("Tải lên và phân tích", "Upload and analyse"),
        "ecg_no_file": ("Hãy chọn tệp ghi điện tâm đồ.", "Choose the recording's files."),
        "ecg_recording": ("Bản ghi điện tâm đồ", "ECG recording"),
        "ecg_rhythm_ai": ("Nhịp AI đề xuất", "Rhythm proposed by the AI"),
        "ecg_confidence": ("Độ tin cậy", "Confidence"),
        "ecg_af_probability": ("Xác suất rung nhĩ", "AF probability"),
        "ecg_heart_rate": ("Nhịp tim", "Heart rate"),
        "ecg_noisy": ("Tín hiệu nhiễu", "Noisy signal"),
        "ecg_per_min": ("/phút", "/min"),
        "ecg_model": ("Mô hình", "Model"),
        "ecg_grid": (
            "Giấy chuẩn 25 mm/s, 10 mm/mV; tam giác xanh: đỉnh R",
            "Standard grid 25 mm/s, 10 mm/mV; blue triangles: R-peaks",
        ),
        "ecg_lead": ("Chuyển đạo", "Lead"),
        "ecg_state_waiting": ("Chờ bác sĩ đọc", "Waiting for a doctor"),
        "ecg_state_read": ("Bác sĩ đã đọc", "Read by a doctor"),
        "ecg_review": ("Kết luận của bác sĩ", "The doctor's reading"),
        "ecg_confirm": ("Đồng ý với AI", "Confirm the AI's rhythm"),
        "ecg_correct": ("Sửa nhịp", "Correct the rhythm"),
        "ecg_rhythm_doctor": ("Nhịp (khi sửa)", "Rhythm (when correcting)"),
        "ecg_conclusion": ("Kết luận", "Conclusion"),
        "ecg_save": ("Lưu kết luận", "Save the reading"),
        "ecg_read_by": ("Bác sĩ đọc", "Read by"),
        "ecg_af_recorded": (
            "Đã ghi rung nhĩ (I48.9) vào danh sách bệnh của người bệnh.",
            "Atrial fibrillation (I48.9) was added to the person's problem list.",
        ),
        "ecg_reading_list": ("Danh sách đọc điện tâm đồ", "ECG reading list"),
        "ecg_reading_hint": (
            "Nghi rung nhĩ nhiều nhất lên đầu, bản ghi nhiễu xuống cuối. "
            "AI hỗ trợ — bác sĩ xác nhận.",
            "Most likely AF first, noisy recordings last. AI supports — a doctor confirms.",
        ),
        "ecg_person": ("Người bệnh", "Patient"),
        "ecg_taken": ("Ngày ghi", "Recorded"),
        "ecg_open": ("Đọc", "Read"),
        "ecg_none_waiting": ("Không có bản ghi nào chờ đọc.", "No recording is waiting."),
        "ecg_readers_only": ("Trang này dành cho bác sĩ.", "This page is for doctors."),
        "ecg_rhythm_N": ("Nhịp xoang bình thường", "Normal sinus rhythm"),
        "ecg_rhythm_A": ("Rung nhĩ", "Atrial fibrillation"),
        "ecg_rhythm_O": ("Nhịp khác", "Other rhythm"),
        "ecg_rhythm_~": ("Nhiễu, không đọc được", "Too noisy to read"),
    }
)
