"""Deterministic messages for the IMAP benchmark: Vietnamese subjects and text, some with
a PDF attachment, 1-8 KB of text each (seeded, so every run stores the same mail)."""

from __future__ import annotations

import random
from email.header import Header

SUBJECT_WORDS = [
    "Công văn", "Báo cáo", "Giấy mời họp", "Thông báo", "Kế hoạch", "Quyết định",
    "Tờ trình", "Lịch công tác", "Hướng dẫn", "Đề nghị", "Góp ý dự thảo", "Tổng hợp",
]  # fmt: skip
TOPICS = [
    "chuyển đổi số", "cải cách hành chính", "thi đua khen thưởng", "ngân sách năm 2025",
    "phòng chống thiên tai", "an toàn thông tin", "tuyển dụng công chức", "đầu tư công",
    "xây dựng nông thôn mới", "y tế cơ sở", "giáo dục nghề nghiệp", "đất đai",
]  # fmt: skip
NAMES = [
    "Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Đặng Văn Lâm",
    "Hoàng Thị Lan", "Vũ Minh Đức", "Bùi Thu Hà", "Đỗ Quang Huy", "Ngô Thị Mai",
]  # fmt: skip
TEXT = (
    "Thực hiện chỉ đạo của Ủy ban nhân dân tỉnh về việc triển khai nhiệm vụ năm 2025, "
    "Sở Thông tin và Truyền thông đề nghị các cơ quan, đơn vị báo cáo tình hình thực hiện, "
    "những khó khăn, vướng mắc và đề xuất giải pháp. Báo cáo gửi về Sở trước ngày 15 hằng "
    "tháng qua hệ thống thư điện tử công vụ. Trân trọng cảm ơn sự phối hợp của quý cơ quan. "
)
SEARCH_WORD = "chuyen doi so"  # folded: in about one subject in twelve
TEXT_WORD = "vuong mac"  # folded: in every body


def _header(value: str) -> str:
    return Header(value, "utf-8").encode(linesep="\r\n")


def message(i: int) -> bytes:
    rnd = random.Random(i)
    subject = f"{rnd.choice(SUBJECT_WORDS)} số {i}/UBND về {rnd.choice(TOPICS)}"
    name = rnd.choice(NAMES)
    paragraphs = rnd.randint(1, 8)
    body = ("\r\n".join(TEXT[: rnd.randint(200, len(TEXT))] for _ in range(paragraphs))) + "\r\n"
    day = 1 + i % 28
    head = (
        f"From: {_header(name)} <user{1 + i % 89:04d}@bench.gov.vn>\r\n"
        f"To: user0090@bench.gov.vn\r\n"
        f"Subject: {_header(subject)}\r\n"
        f"Date: {['Mon', 'Tue', 'Wed', 'Thu', 'Fri'][i % 5]}, {day:02d} May 2025 "
        f"{8 + i % 9:02d}:{i % 60:02d}:00 +0700\r\n"
        f"Message-ID: <bench-{i}@bench.gov.vn>\r\n"
        "MIME-Version: 1.0\r\n"
    )
    if i % 10:
        return (
            head + "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n" + body
        ).encode("utf-8")
    pdf = bytes(rnd.getrandbits(8) for _ in range(3000))
    import base64

    b64 = base64.encodebytes(pdf).decode("ascii").replace("\n", "\r\n")
    boundary = f"=_bench_{i}"
    return (
        head + f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n" + body + f"\r\n--{boundary}\r\n"
        'Content-Type: application/pdf; name="van-ban.pdf"\r\n'
        'Content-Disposition: attachment; filename="van-ban.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n" + b64 + f"\r\n--{boundary}--\r\n"
    ).encode("utf-8")
