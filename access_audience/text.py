"""Small helpers for the words the interface builds from names."""

import re

# Letters whose spoken name starts with a vowel sound: "an SMS", "an MMS", "an HR list".
_VOWEL_SOUND_LETTERS = set("AEFHILMNORSX")
# Words that start with a vowel letter but not a vowel sound, and the reverse.
_CONSONANT_SOUND = re.compile(r"^(uni|use|usu|eu|one\b|once\b|ubi|ure)", re.IGNORECASE)
_SILENT_H = re.compile(r"^(hour|honest|honou?r|heir)", re.IGNORECASE)


def indefinite_article(word: str) -> str:
    """ "a" or "an" for `word` as it is said: "an Email", "an SMS", "a Meta", "a unique"."""
    word = word.strip()
    if not word or not word[0].isalnum():
        return "a"
    first = re.split(r"[\s\-/]", word, maxsplit=1)[0]
    if first.isdigit():
        return "an" if first[0] == "8" or first in {"11", "18"} else "a"
    if first.isupper():
        # An initialism is spelled out letter by letter.
        return "an" if first[0].upper() in _VOWEL_SOUND_LETTERS else "a"
    if _SILENT_H.match(first):
        return "an"
    if _CONSONANT_SOUND.match(first):
        return "a"
    return "an" if first[0].lower() in "aeiou" else "a"


def with_article(word: str) -> str:
    """`word` after its indefinite article: "an SMS", "a Meta"."""
    return f"{indefinite_article(word)} {word.strip()}"
