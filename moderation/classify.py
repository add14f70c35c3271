"""The categories a text falls in under the default rules: the text layer in one call.

`classify` is what the corpus test measures and what a hook can start from: spam when a
spam word rule matched, contact when a contact word rule or a contact detail (phone, QQ,
WeChat id, e-mail, shop link) was found, abuse when an abuse word rule matched. Weak signals
(`moderation.signals`) never add a category.
"""

from __future__ import annotations

from moderation.contacts import find_contacts
from moderation.normalize import normalize
from moderation.words import default_matcher

CONTACT = "contact"


def classify(text: str) -> set[str]:
    """The categories of `text`: any of spam, contact, abuse; empty for a clean text."""
    normalized = normalize(text)
    categories = {match.rule.category for match in default_matcher().find(normalized)}
    if find_contacts(normalized):
        categories.add(CONTACT)
    return categories
