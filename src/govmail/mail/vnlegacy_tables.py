"""Code tables for the legacy Vietnamese 8-bit encodings (data only, see vnlegacy.py).

Provenance (generated once at development time, committed as literals; nothing here calls
iconv at run time):

* ``TCVN3_DECODE``: glibc iconv ``TCVN5712-1`` (TCVN 5712:1993 VN1), bytes 0xA1-0xFF, one
  byte at a time.  The .VnTime fonts implement the VN3 subset: lowercase letters plus
  Ă Â Ê Ô Ơ Ư Đ (74 codes).  VN1 also has uppercase toned letters in the C0 and 0x80-0x9F
  ranges (left out here: in real .VnTime documents those bytes are Windows-1252
  punctuation) and at the codes of 0xA1-0xFF listed in ``TCVN3_VN1_ONLY``, together with
  five combining tones; of those the decoder reads only the tones.
  Cross-checked: the 134 letters against the HCMGIS QGIS plugin table (thangqd/HCMGIS,
  hcmgis_library.py, which writes uppercase toned letters at the lowercase code), 134/134,
  and every VN3 code against iconv in the encoding direction.
* ``VISCII_DECODE``: glibc iconv ``VISCII`` (RFC 1456), all 256 bytes.  Compared with
  UniKey's VnConv table (fcitx/fcitx5-unikey unikey/data.cpp): identical except the six
  letters VISCII places in C0 (Ẳ Ẵ Ẫ Ỷ Ỹ Ỵ) plus Õ (0xA0), which UniKey writes at the
  lowercase codes.
* ``VNI_ENCODE``: VNI-Windows is not in iconv.  Built from the composition rule (base letter
  + one mark byte; ơ ư đ and the i/ỵ letters are single bytes; uppercase marks are the
  lowercase ones minus 0x20) and compared letter by letter, 134/134, with UniKey's
  VNI-WIN table and with the HCMGIS table.
"""

from typing import Final

# fmt: off
TCVN3_DECODE: Final[dict[int, str]] = {
    0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô",
    0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ", 0xA8: "ă",
    0xA9: "â", 0xAA: "ê", 0xAB: "ô", 0xAC: "ơ",
    0xAD: "ư", 0xAE: "đ", 0xAF: "Ằ", 0xB0: "\u0300",
    0xB1: "\u0309", 0xB2: "\u0303", 0xB3: "\u0301", 0xB4: "\u0323",
    0xB5: "à", 0xB6: "ả", 0xB7: "ã", 0xB8: "á",
    0xB9: "ạ", 0xBA: "Ẳ", 0xBB: "ằ", 0xBC: "ẳ",
    0xBD: "ẵ", 0xBE: "ắ", 0xBF: "Ẵ", 0xC0: "Ắ",
    0xC1: "Ầ", 0xC2: "Ẩ", 0xC3: "Ẫ", 0xC4: "Ấ",
    0xC5: "Ề", 0xC6: "ặ", 0xC7: "ầ", 0xC8: "ẩ",
    0xC9: "ẫ", 0xCA: "ấ", 0xCB: "ậ", 0xCC: "è",
    0xCD: "Ể", 0xCE: "ẻ", 0xCF: "ẽ", 0xD0: "é",
    0xD1: "ẹ", 0xD2: "ề", 0xD3: "ể", 0xD4: "ễ",
    0xD5: "ế", 0xD6: "ệ", 0xD7: "ì", 0xD8: "ỉ",
    0xD9: "Ễ", 0xDA: "Ế", 0xDB: "Ồ", 0xDC: "ĩ",
    0xDD: "í", 0xDE: "ị", 0xDF: "ò", 0xE0: "Ổ",
    0xE1: "ỏ", 0xE2: "õ", 0xE3: "ó", 0xE4: "ọ",
    0xE5: "ồ", 0xE6: "ổ", 0xE7: "ỗ", 0xE8: "ố",
    0xE9: "ộ", 0xEA: "ờ", 0xEB: "ở", 0xEC: "ỡ",
    0xED: "ớ", 0xEE: "ợ", 0xEF: "ù", 0xF0: "Ỗ",
    0xF1: "ủ", 0xF2: "ũ", 0xF3: "ú", 0xF4: "ụ",
    0xF5: "ừ", 0xF6: "ử", 0xF7: "ữ", 0xF8: "ứ",
    0xF9: "ự", 0xFA: "ỳ", 0xFB: "ỷ", 0xFC: "ỹ",
    0xFD: "ý", 0xFE: "ỵ", 0xFF: "Ố",
}

# Codes above that belong to TCVN 5712 VN1 only (uppercase toned letters and the five
# combining tone marks): accepted when decoding, never produced when encoding.
TCVN3_VN1_ONLY: Final[frozenset[int]] = frozenset({
    0xAF, 0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xBA, 0xBF, 0xC0, 0xC1,
    0xC2, 0xC3, 0xC4, 0xC5, 0xCD, 0xD9, 0xDA, 0xDB, 0xE0, 0xF0,
    0xFF,
})

VISCII_DECODE: Final[dict[int, str]] = {
    0x02: "Ẳ", 0x05: "Ẵ", 0x06: "Ẫ", 0x14: "Ỷ",
    0x19: "Ỹ", 0x1E: "Ỵ", 0x80: "Ạ", 0x81: "Ắ",
    0x82: "Ằ", 0x83: "Ặ", 0x84: "Ấ", 0x85: "Ầ",
    0x86: "Ẩ", 0x87: "Ậ", 0x88: "Ẽ", 0x89: "Ẹ",
    0x8A: "Ế", 0x8B: "Ề", 0x8C: "Ể", 0x8D: "Ễ",
    0x8E: "Ệ", 0x8F: "Ố", 0x90: "Ồ", 0x91: "Ổ",
    0x92: "Ỗ", 0x93: "Ộ", 0x94: "Ợ", 0x95: "Ớ",
    0x96: "Ờ", 0x97: "Ở", 0x98: "Ị", 0x99: "Ỏ",
    0x9A: "Ọ", 0x9B: "Ỉ", 0x9C: "Ủ", 0x9D: "Ũ",
    0x9E: "Ụ", 0x9F: "Ỳ", 0xA0: "Õ", 0xA1: "ắ",
    0xA2: "ằ", 0xA3: "ặ", 0xA4: "ấ", 0xA5: "ầ",
    0xA6: "ẩ", 0xA7: "ậ", 0xA8: "ẽ", 0xA9: "ẹ",
    0xAA: "ế", 0xAB: "ề", 0xAC: "ể", 0xAD: "ễ",
    0xAE: "ệ", 0xAF: "ố", 0xB0: "ồ", 0xB1: "ổ",
    0xB2: "ỗ", 0xB3: "Ỡ", 0xB4: "Ơ", 0xB5: "ộ",
    0xB6: "ờ", 0xB7: "ở", 0xB8: "ị", 0xB9: "Ự",
    0xBA: "Ứ", 0xBB: "Ừ", 0xBC: "Ử", 0xBD: "ơ",
    0xBE: "ớ", 0xBF: "Ư", 0xC0: "À", 0xC1: "Á",
    0xC2: "Â", 0xC3: "Ã", 0xC4: "Ả", 0xC5: "Ă",
    0xC6: "ẳ", 0xC7: "ẵ", 0xC8: "È", 0xC9: "É",
    0xCA: "Ê", 0xCB: "Ẻ", 0xCC: "Ì", 0xCD: "Í",
    0xCE: "Ĩ", 0xCF: "ỳ", 0xD0: "Đ", 0xD1: "ứ",
    0xD2: "Ò", 0xD3: "Ó", 0xD4: "Ô", 0xD5: "ạ",
    0xD6: "ỷ", 0xD7: "ừ", 0xD8: "ử", 0xD9: "Ù",
    0xDA: "Ú", 0xDB: "ỹ", 0xDC: "ỵ", 0xDD: "Ý",
    0xDE: "ỡ", 0xDF: "ư", 0xE0: "à", 0xE1: "á",
    0xE2: "â", 0xE3: "ã", 0xE4: "ả", 0xE5: "ă",
    0xE6: "ữ", 0xE7: "ẫ", 0xE8: "è", 0xE9: "é",
    0xEA: "ê", 0xEB: "ẻ", 0xEC: "ì", 0xED: "í",
    0xEE: "ĩ", 0xEF: "ỉ", 0xF0: "đ", 0xF1: "ự",
    0xF2: "ò", 0xF3: "ó", 0xF4: "ô", 0xF5: "õ",
    0xF6: "ỏ", 0xF7: "ọ", 0xF8: "ụ", 0xF9: "ù",
    0xFA: "ú", 0xFB: "ũ", 0xFC: "ủ", 0xFD: "ý",
    0xFE: "ợ", 0xFF: "Ữ",
}

VNI_ENCODE: Final[dict[str, bytes]] = {
    "à": b"a\xf8", "À": b"A\xd8", "á": b"a\xf9", "Á": b"A\xd9",
    "â": b"a\xe2", "Â": b"A\xc2", "ầ": b"a\xe0", "Ầ": b"A\xc0",
    "ấ": b"a\xe1", "Ấ": b"A\xc1", "ẫ": b"a\xe3", "Ẫ": b"A\xc3",
    "ẩ": b"a\xe5", "Ẩ": b"A\xc5", "ã": b"a\xf5", "Ã": b"A\xd5",
    "ă": b"a\xea", "Ă": b"A\xca", "ằ": b"a\xe8", "Ằ": b"A\xc8",
    "ắ": b"a\xe9", "Ắ": b"A\xc9", "ẵ": b"a\xfc", "Ẵ": b"A\xdc",
    "ẳ": b"a\xfa", "Ẳ": b"A\xda", "ả": b"a\xfb", "Ả": b"A\xdb",
    "ạ": b"a\xef", "Ạ": b"A\xcf", "ậ": b"a\xe4", "Ậ": b"A\xc4",
    "ặ": b"a\xeb", "Ặ": b"A\xcb", "è": b"e\xf8", "È": b"E\xd8",
    "é": b"e\xf9", "É": b"E\xd9", "ê": b"e\xe2", "Ê": b"E\xc2",
    "ề": b"e\xe0", "Ề": b"E\xc0", "ế": b"e\xe1", "Ế": b"E\xc1",
    "ễ": b"e\xe3", "Ễ": b"E\xc3", "ể": b"e\xe5", "Ể": b"E\xc5",
    "ẽ": b"e\xf5", "Ẽ": b"E\xd5", "ẻ": b"e\xfb", "Ẻ": b"E\xdb",
    "ẹ": b"e\xef", "Ẹ": b"E\xcf", "ệ": b"e\xe4", "Ệ": b"E\xc4",
    "ì": b"\xec", "Ì": b"\xcc", "í": b"\xed", "Í": b"\xcd",
    "ĩ": b"\xf3", "Ĩ": b"\xd3", "ỉ": b"\xe6", "Ỉ": b"\xc6",
    "ị": b"\xf2", "Ị": b"\xd2", "ò": b"o\xf8", "Ò": b"O\xd8",
    "ó": b"o\xf9", "Ó": b"O\xd9", "ô": b"o\xe2", "Ô": b"O\xc2",
    "ồ": b"o\xe0", "Ồ": b"O\xc0", "ố": b"o\xe1", "Ố": b"O\xc1",
    "ỗ": b"o\xe3", "Ỗ": b"O\xc3", "ổ": b"o\xe5", "Ổ": b"O\xc5",
    "õ": b"o\xf5", "Õ": b"O\xd5", "ỏ": b"o\xfb", "Ỏ": b"O\xdb",
    "ơ": b"\xf4", "Ơ": b"\xd4", "ờ": b"\xf4\xf8", "Ờ": b"\xd4\xd8",
    "ớ": b"\xf4\xf9", "Ớ": b"\xd4\xd9", "ỡ": b"\xf4\xf5", "Ỡ": b"\xd4\xd5",
    "ở": b"\xf4\xfb", "Ở": b"\xd4\xdb", "ợ": b"\xf4\xef", "Ợ": b"\xd4\xcf",
    "ọ": b"o\xef", "Ọ": b"O\xcf", "ộ": b"o\xe4", "Ộ": b"O\xc4",
    "ù": b"u\xf8", "Ù": b"U\xd8", "ú": b"u\xf9", "Ú": b"U\xd9",
    "ũ": b"u\xf5", "Ũ": b"U\xd5", "ủ": b"u\xfb", "Ủ": b"U\xdb",
    "ư": b"\xf6", "Ư": b"\xd6", "ừ": b"\xf6\xf8", "Ừ": b"\xd6\xd8",
    "ứ": b"\xf6\xf9", "Ứ": b"\xd6\xd9", "ữ": b"\xf6\xf5", "Ữ": b"\xd6\xd5",
    "ử": b"\xf6\xfb", "Ử": b"\xd6\xdb", "ự": b"\xf6\xef", "Ự": b"\xd6\xcf",
    "ụ": b"u\xef", "Ụ": b"U\xcf", "ỳ": b"y\xf8", "Ỳ": b"Y\xd8",
    "ý": b"y\xf9", "Ý": b"Y\xd9", "ỹ": b"y\xf5", "Ỹ": b"Y\xd5",
    "ỷ": b"y\xfb", "Ỷ": b"Y\xdb", "ỵ": b"\xee", "Ỵ": b"\xce",
    "đ": b"\xf1", "Đ": b"\xd1",
}
# fmt: on
