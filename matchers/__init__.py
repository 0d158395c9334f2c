"""Pure identity helpers: phones, emails, references. Imports only ``contracts``."""

from matchers.emails import address_list, normalise_email, parse_mailbox, plus_tag
from matchers.phones import normalise_phone, normalise_wa_id, phone_match_key
from matchers.references import extract_references

__all__ = [
    "address_list",
    "extract_references",
    "normalise_email",
    "normalise_phone",
    "normalise_wa_id",
    "parse_mailbox",
    "phone_match_key",
    "plus_tag",
]
