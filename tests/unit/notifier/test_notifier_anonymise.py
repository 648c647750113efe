"""Erasure in the messages partners received: whole words only, in every string of a stored message."""

import re

from services.notifier.adapters.repository import _replaced


def test_anonymising_replaces_whole_words_in_nested_strings_and_bytes():
    pattern = re.compile(r"(?<!\w)Ana Lee(?!\w)|(?<!\w)ana@x\.example(?!\w)")
    doc = {"subject": "Meet Ana Lee", "to": "ana@x.example", "parts": ["Ana Leeds stays", b"Hi Ana Lee"],
           "count": 3, "raw": b"\xff\xfe binary without a name"}
    assert _replaced(doc, pattern, "a former participant") == {
        "subject": "Meet a former participant", "to": "a former participant",
        "parts": ["Ana Leeds stays", b"Hi a former participant"], "count": 3, "raw": b"\xff\xfe binary without a name",
    }
