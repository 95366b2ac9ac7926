"""Person names: parsed into parts with ``nameparser``; what was entered is kept.

``full_name`` keeps the entry (whitespace and Unicode normalised). The parts get sensible
capitalisation only when the entry was ALL CAPS or all lower case (``JOHN MCDONALD`` ->
John McDonald, ``ludwig van der berg`` -> Ludwig van der Berg); mixed-case input is
trusted as typed (``DeShawn``, ``da Silva``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nameparser import HumanName

from patron.hygiene.normalize.text import clean_text, fold, is_shouting_or_flat

# Remainders after "Mac" that really are Gaelic patronymics (MacDonald, not MacHado).
_MAC_NAMES = {
    "arthur", "aulay", "bride", "callum", "donald", "dougall", "dowell", "ewan", "fadyen",
    "farlane", "gillivray", "gregor", "innes", "intyre", "iver", "kay", "kenzie", "kinnon",
    "kintosh", "lachlan", "laren", "lean", "leod", "millan", "nab", "naughton", "neil",
    "pherson", "queen", "rae", "ritchie", "tavish",
}  # fmt: skip
_MAC_RE = re.compile(r"\bMac([A-Z])(\w*)")

PART_LIMITS = {"prefix": 40, "first_name": 120, "middle_name": 120, "last_name": 120, "suffix": 40}


@dataclass(frozen=True)
class ParsedName:
    full_name: str
    prefix: str = ""
    first_name: str = ""
    middle_name: str = ""
    last_name: str = ""
    suffix: str = ""

    def parts(self) -> dict[str, str]:
        return {k: getattr(self, k)[:n] for k, n in PART_LIMITS.items()}


def _fix_mac(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        rest = (m.group(1) + m.group(2)).lower()
        return f"Mac{rest.capitalize()}" if rest in _MAC_NAMES else f"Mac{rest}"

    return _MAC_RE.sub(repl, text)


def _cap_word(word: str) -> str:
    """Capitalise each piece of a hyphenated or apostrophed word: jean-luc -> Jean-Luc."""
    return re.sub(r"[^\W\d_]+", lambda m: m.group(0).capitalize(), word.lower())


def _cap_given(text: str) -> str:
    return " ".join(_cap_word(w) for w in text.split())


def _cap_family(text: str) -> str:
    """A family name alone, with particles and Mc/Mac/O' handled by nameparser."""
    name = HumanName(f"Zz {text}")
    name.capitalize(force=True)
    out = str(name.last)
    if len(out.split()) != len(text.split()):
        out = _cap_given(text)
    return _fix_mac(out)


def name_parse(
    *,
    full_name: str | None = None,
    prefix: str | None = None,
    first_name: str | None = None,
    middle_name: str | None = None,
    last_name: str | None = None,
    suffix: str | None = None,
) -> ParsedName:
    """Parts from a full name, or a full name from parts; capitalisation fixed when flat."""
    given = {
        "prefix": clean_text(prefix),
        "first_name": clean_text(first_name),
        "middle_name": clean_text(middle_name),
        "last_name": clean_text(last_name),
        "suffix": clean_text(suffix),
    }
    entered = clean_text(full_name)
    if any(given[k] for k in ("first_name", "middle_name", "last_name")):
        parts = dict(given)
        for key, value in parts.items():
            if value and is_shouting_or_flat(value):
                if key == "last_name":
                    parts[key] = _cap_family(value)
                elif key in ("first_name", "middle_name"):
                    parts[key] = _cap_given(value)
        if not entered:
            entered = " ".join(
                parts[k] for k in ("first_name", "middle_name", "last_name") if parts[k]
            )
        return ParsedName(full_name=entered, **parts)
    if not entered:
        return ParsedName(full_name="")
    name = HumanName(entered)
    if is_shouting_or_flat(entered):
        name.capitalize(force=True)
    return ParsedName(
        full_name=entered,
        prefix=str(name.title),
        first_name=str(name.first),
        middle_name=str(name.middle),
        last_name=_fix_mac(str(name.last)),
        suffix=str(name.suffix),
    )


# A small table of common English given-name variants; matching treats them as equal.
_NICKNAMES: dict[str, tuple[str, ...]] = {
    "alexander": ("alex", "alec", "sasha", "sandy"),
    "alexandra": ("alex", "sandra", "sasha", "lexi"),
    "andrew": ("andy", "drew"),
    "anthony": ("tony",),
    "benjamin": ("ben", "benny"),
    "catherine": ("cathy", "kate", "katie", "cat", "katherine", "kathryn", "kathy"),
    "charles": ("charlie", "chuck", "chas"),
    "christopher": ("chris", "kit"),
    "daniel": ("dan", "danny"),
    "david": ("dave", "davy"),
    "deborah": ("debbie", "deb", "debra"),
    "edward": ("ed", "eddie", "ted", "ned"),
    "elizabeth": ("liz", "beth", "betty", "eliza", "lisa", "lizzie", "elisabeth"),
    "frederick": ("fred", "freddie"),
    "gregory": ("greg",),
    "henry": ("harry", "hank"),
    "james": ("jim", "jimmy", "jamie"),
    "jennifer": ("jen", "jenny"),
    "john": ("jack", "johnny", "jon"),
    "jonathan": ("jon", "jonny"),
    "joseph": ("joe", "joey"),
    "joshua": ("josh",),
    "margaret": ("maggie", "meg", "peggy", "marge", "greta"),
    "matthew": ("matt",),
    "michael": ("mike", "mick", "mikey"),
    "nicholas": ("nick", "nicky"),
    "patricia": ("pat", "patty", "trish"),
    "patrick": ("pat", "paddy"),
    "peter": ("pete",),
    "rebecca": ("becky", "becca"),
    "richard": ("rick", "dick", "rich", "richie"),
    "robert": ("bob", "rob", "bobby", "robbie", "bert"),
    "samuel": ("sam", "sammy"),
    "stephen": ("steve", "steven", "stevie"),
    "susan": ("sue", "susie", "suzanne"),
    "thomas": ("tom", "tommy"),
    "timothy": ("tim", "timmy"),
    "victoria": ("vicky", "tori"),
    "william": ("bill", "will", "billy", "willy", "liam"),
}
NICKNAME_CANON: dict[str, str] = {}
for _canon, _variants in _NICKNAMES.items():
    NICKNAME_CANON.setdefault(_canon, _canon)
    for _v in _variants:
        NICKNAME_CANON.setdefault(_v, _canon)


def given_name_key(first_name: str) -> str:
    """Folded first given name with nicknames mapped to one form (Bob -> robert)."""
    token = fold(first_name.split()[0]) if first_name.split() else ""
    return NICKNAME_CANON.get(token, token)


def name_key(first_name: str, last_name: str) -> str:
    """Blocking key: folded family name and the initial of the canonical given name."""
    family = fold(last_name)
    if not family:
        return ""
    given = given_name_key(first_name)
    return f"{family}|{given[:1]}"[:64]
