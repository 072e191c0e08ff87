"""Adds the operations keys to the shared catalogues (load, add, write back sorted).

Run: .venv/bin/python tests/ops/i18n_keys.py  (idempotent)."""

from __future__ import annotations

import json
from pathlib import Path

KEYS: dict[str, tuple[str, str]] = {
    "policy.spam.rejected": (
        "Thư bị từ chối vì bị đánh giá là thư rác (điểm {score}).",
        "Message refused as spam (score {score}).",
    ),
    "policy.spam.blocked": (
        "Thư bị từ chối: người gửi {address} nằm trong danh sách chặn.",
        "Message refused: sender {address} is on the block list.",
    ),
    "policy.spam.unavailable": (
        "Tạm thời không lọc được thư rác; vui lòng gửi lại sau.",
        "Spam filter temporarily unavailable; try again later.",
    ),
    "policy.virus.found": (
        "Thư bị từ chối vì chứa mã độc ({name}).",
        "Message refused: it contains malware ({name}).",
    ),
    "policy.virus.unavailable": (
        "Tạm thời không quét được virus; vui lòng gửi lại sau.",
        "Virus scanner temporarily unavailable; try again later.",
    ),
    "policy.attachment.blocked": (
        "Thư bị từ chối: tệp đính kèm {filename} thuộc loại không được phép ({kind}).",
        "Message refused: attachment {filename} is of a forbidden kind ({kind}).",
    ),
    "policy.attachment.too_deep": (
        "Thư bị từ chối: cấu trúc MIME lồng nhau quá {limit} cấp.",
        "Message refused: MIME parts nested deeper than {limit} levels.",
    ),
    "policy.attachment.zip_bomb": (
        "Thư bị từ chối: tệp nén {filename} giải nén quá lớn (nghi bom nén).",
        "Message refused: archive {filename} expands too much (zip bomb).",
    ),
    "policy.attachment.bad_archive": (
        "Thư bị từ chối: tệp nén {filename} bị hỏng hoặc có mật khẩu, không kiểm tra được.",
        "Message refused: archive {filename} is damaged or encrypted and cannot be checked.",
    ),
    "cli.ops.backup_done": (
        "Đã sao lưu {snapshot}: {messages} thư, {copied} tệp mới ({size}).",
        "Backup {snapshot} done: {messages} messages, {copied} new files ({size}).",
    ),
    "cli.ops.restore_done": (
        "Đã khôi phục {snapshot}: {messages} thư.",
        "Restored {snapshot}: {messages} messages.",
    ),
    "cli.ops.verify_done": (
        "Bản sao lưu {snapshot} nguyên vẹn: {messages} thư, {blobs} tệp đã kiểm tra.",
        "Backup {snapshot} is intact: {messages} messages, {blobs} files checked.",
    ),
    "cli.ops.archive_ok": (
        "Nhật ký lưu trữ nguyên vẹn: {entries} mục.",
        "Archive journal intact: {entries} entries.",
    ),
    "cli.ops.archive_broken": (
        "Nhật ký lưu trữ bị sửa hoặc xóa ở mục số {seq}: {problem}",
        "Archive journal changed or deleted at entry {seq}: {problem}",
    ),
    "cli.ops.locks_title": ("Tài khoản và địa chỉ đang bị khóa", "Locked accounts and addresses"),
    "cli.ops.status_title": ("Tình trạng govmail", "govmail status"),
    "cli.ops.migrate_title": ("Kết quả chuyển thư", "Migration report"),
    "cli.ops.backups_title": ("Các lần sao lưu", "Backups"),
    "cli.ops.backup_failed": ("Sao lưu không thành công", "Backup failed"),
    "cli.ops.restore_failed": ("Không khôi phục được", "Restore refused"),
    "cli.ops.verify_failed": ("Bản sao lưu có lỗi", "The backup is damaged"),
}


def main() -> None:
    root = Path(__file__).resolve().parents[2] / "src" / "govmail" / "i18n"
    for lang, idx in (("vi", 0), ("en", 1)):
        path = root / f"{lang}.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        for key, texts in KEYS.items():
            data[key] = texts[idx]
        path.write_text(
            json.dumps(dict(sorted(data.items())), ensure_ascii=False, indent=1),
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
