"""Pinyin search keys, so that ``bjkq`` or ``beijingkouqiang`` finds 北京口腔….

A model keeps ``search_text`` filled with its searchable text, its full
pinyin without tones and its pinyin initials, all lower case; a search is
then one ``icontains`` on that column, which any database can run.
"""

from pypinyin import Style, lazy_pinyin


def pinyin_full(text):
    return "".join(lazy_pinyin(text or "", errors="default")).lower().replace(" ", "")


def pinyin_initials(text):
    return "".join(lazy_pinyin(text or "", style=Style.FIRST_LETTER, errors="default")).lower().replace(" ", "")


def build_search_text(*parts):
    """Join every part with its full pinyin and initials into one lower-case search column."""
    words = []
    for part in parts:
        if not part:
            continue
        part = str(part)
        words.extend([part.lower(), pinyin_full(part), pinyin_initials(part)])
    return " ".join(dict.fromkeys(words))[:1000]
