"""Masking ID numbers inside free text (boothcore.privacy.mask_ids_in), without mangling photo ids."""

from __future__ import annotations

from boothcore.privacy import mask_ids_in


def test_id_numbers_in_text_are_masked() -> None:
    text = ("not stored: [Errno 21] Is a directory: '/data/photos/信息学院/计科2301/11010520040101001X.jpg'"
            " 卡号110105200401010015")
    assert mask_ids_in(text) == ("not stored: [Errno 21] Is a directory: '/data/photos/信息学院/计科2301/"
                                 "110105********001X.jpg' 卡号110105********0015")
    assert mask_ids_in("card KOR110002031512 read") == "card KOR110*****1512 read"


def test_a_photo_id_with_a_long_run_of_digits_stays_readable() -> None:
    photo_id = "2e8514224810470196b41a597408209e"  # 16 digits in a row inside the hex
    assert mask_ids_in(f"stored photo {photo_id} from booth-01") == f"stored photo {photo_id} from booth-01"
