"""How customer names and ids are folded for search, so every lookup can use an index.

Text indexes are not available everywhere we run (and cannot find part of a word), so a
profile stores its folded name, its words, and the name's trigrams: a query of three or more
characters narrows by trigram through a multikey index, a shorter one by word prefix.
"""

import re
import unicodedata

from domain.documents import ExternalIdSearchFields, NameSearchFields, ParticipantDocument, Query

GRAM = 3


def fold(text: str) -> str:
    """Lower case, accents removed, runs of space collapsed: "  José  Núñez" -> "jose nunez"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(plain.split())


#: Words a message is found by, at most: a long email's tail is not what people search for.
MAX_WORDS = 500
_WORD = re.compile(r"\w+")


def words(*texts: str | None) -> list[str]:
    """The distinct folded words of ``texts``, in order of first appearance (message search:
    every word of a query must be among a message's)."""
    found: dict[str, None] = {}
    for text in texts:
        for word in _WORD.findall(fold(text or "")):
            found.setdefault(word, None)
            if len(found) >= MAX_WORDS:
                return list(found)
    return list(found)


def participant_words(participant: ParticipantDocument) -> list[str]:
    """The words a thread is found by through its participant (the thread list's ``q``):
    their name, user name, email address and phone number, folded."""
    return words(
        participant.get("display_name"),
        participant.get("username"),
        participant.get("email"),
        participant.get("phone"),
    )


#: (v1.1) The most words a thread is found by.
THREAD_WORDS = 2000


def thread_words(participant: list[str], messages: list[list[str] | None]) -> list[str]:
    """The words a thread is found by: its participant's, then its messages' (newest
    first), at most THREAD_WORDS."""
    found = dict.fromkeys(participant)
    for words_of_message in messages:
        for word in words_of_message or ():
            if len(found) >= THREAD_WORDS:
                return list(found)
            found.setdefault(word, None)
    return list(found)


def grams(folded: str) -> list[str]:
    """The distinct trigrams of a folded text, in order of first appearance."""
    return list(dict.fromkeys(folded[i : i + GRAM] for i in range(len(folded) - GRAM + 1)))


def name_fields(name: str | None) -> NameSearchFields:
    """The search fields stored beside a profile's name."""
    folded = fold(name or "")
    return {
        "search_name": folded,
        "search_words": sorted(set(folded.split())),
        "search_grams": grams(folded),
    }


def external_id_fields(external_id: str | None) -> ExternalIdSearchFields:
    return {"external_id_folded": fold(external_id) if external_id else None}


def name_clause(query: str) -> Query | None:
    """The condition "the name contains ``query``" (folded), or None for an empty query."""
    folded = fold(query)
    if not folded:
        return None
    contains = {"$regex": re.escape(folded)}
    if len(folded) >= GRAM:
        return {"search_grams": {"$all": grams(folded)}, "search_name": contains}
    return {"search_words": {"$regex": f"^{re.escape(folded)}"}}
