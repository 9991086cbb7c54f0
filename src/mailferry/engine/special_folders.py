"""Which folders are special: RFC 6154 attributes and well-known names in eight languages.

Names are compared after :func:`name_key`: Unicode NFC, surrounding whitespace
dropped, case-folded, and spaces, hyphens and underscores removed, so
``Junk E-mail``, ``junk-email`` and ``JunkEmail`` are one name. The tables cover
English, Danish, German, French, Spanish, Dutch, Swedish and Norwegian, as the
folders are named by Outlook/Exchange, Thunderbird, Apple Mail, Gmail and common
webmails. Within a kind, earlier names are preferred when several folders claim it.

Non-mail folders (:class:`NonMailKind`) are Exchange's Calendar, Contacts, Tasks,
Notes, Journal, Sync Issues and a few hidden people-data folders, each in the
same languages; ``Conversation History``, ``RSS Feeds`` and the like hold mail
items and are not in the table.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import TypeVar


class SpecialUse(StrEnum):
    """A well-known mail folder; the values are Exchange's well-known folder names."""

    INBOX = "Inbox"
    SENT = "SentItems"
    DRAFTS = "Drafts"
    TRASH = "DeletedItems"
    JUNK = "JunkEmail"
    ARCHIVE = "Archive"
    OUTBOX = "Outbox"


class NonMailKind(StrEnum):
    """An Exchange folder that holds no mail; the values are Exchange's well-known names."""

    CALENDAR = "Calendar"
    CONTACTS = "Contacts"
    TASKS = "Tasks"
    NOTES = "Notes"
    JOURNAL = "Journal"
    SYNC_ISSUES = "SyncIssues"
    PEOPLE = "People"


#: The target's special folders when it does not say (Dovecot's and Maildir++'s usual names).
DEFAULT_TARGET_SPECIAL_FOLDERS: Mapping[SpecialUse, str] = MappingProxyType(
    {
        SpecialUse.SENT: "Sent",
        SpecialUse.DRAFTS: "Drafts",
        SpecialUse.TRASH: "Trash",
        SpecialUse.JUNK: "Junk",
        SpecialUse.ARCHIVE: "Archive",
    }
)

#: RFC 6154 attributes (lower-cased) and the kind each announces. ``\\All`` is handled apart.
_ATTRIBUTES: Mapping[str, SpecialUse] = MappingProxyType(
    {
        "\\sent": SpecialUse.SENT,
        "\\drafts": SpecialUse.DRAFTS,
        "\\trash": SpecialUse.TRASH,
        "\\junk": SpecialUse.JUNK,
        "\\archive": SpecialUse.ARCHIVE,
    }
)

_SPECIAL_NAMES: Mapping[SpecialUse, tuple[str, ...]] = MappingProxyType(
    {
        SpecialUse.SENT: (
            # English
            "Sent", "Sent Items", "Sent Messages", "Sent Mail", "Sent Email",
            # Danish / Norwegian
            "Sendt post", "Sendte elementer", "Sendt", "Sendte", "Sendte e-mails",
            "Sendte meldinger", "Sendt e-post",
            # German
            "Gesendete Objekte", "Gesendete Elemente", "Gesendet", "Gesendete Nachrichten",
            # French
            "Éléments envoyés", "Messages envoyés", "Envoyés", "Courrier envoyé",
            # Spanish
            "Elementos enviados", "Enviados", "Correo enviado", "Mensajes enviados",
            # Dutch
            "Verzonden items", "Verzonden", "Verzonden berichten",
            # Swedish
            "Skickat", "Skickade objekt", "Skickade", "Skickade meddelanden",
        ),
        SpecialUse.TRASH: (
            "Trash", "Deleted Items", "Deleted Messages", "Deleted", "Bin",
            "Slettet post", "Slettede elementer", "Papirkurv", "Slettede meldinger",
            "Søppelkasse", "Slettet", "Slettede",
            "Papierkorb", "Gelöschte Objekte", "Gelöschte Elemente", "Gelöscht",
            "Gelöschte Nachrichten",
            "Corbeille", "Éléments supprimés", "Messages supprimés",
            "Papelera", "Elementos eliminados", "Mensajes eliminados",
            "Prullenbak", "Verwijderde items", "Verwijderd", "Verwijderde berichten",
            "Papperskorgen", "Papperskorg", "Borttagna objekt", "Borttaget",
            "Borttagna meddelanden",
        ),
        SpecialUse.JUNK: (
            "Junk", "Spam", "Junk E-mail", "Junk Mail", "Bulk Mail",
            "Uønsket post", "Uønsket e-mail", "Uønsket mail", "Uønsket e-post", "Søppelpost",
            "Spamverdacht", "Unerwünscht",
            "Courrier indésirable", "Courriers indésirables", "Indésirables", "Pourriel",
            "Correo no deseado", "Correo electrónico no deseado",
            "Ongewenste e-mail", "Ongewenst",
            "Skräppost",
        ),
        SpecialUse.DRAFTS: (
            "Drafts", "Draft",
            "Kladder", "Kladde", "Kladd", "Utkast",
            "Entwürfe", "Entwurf",
            "Brouillons",
            "Borradores",
            "Concepten", "Concept",
        ),
        SpecialUse.ARCHIVE: (
            "Archive", "Archives", "Arkiv", "Archiv", "Archivo", "Archivos", "Archief",
        ),
        SpecialUse.OUTBOX: (
            "Outbox", "Udbakke", "Utboks", "Postausgang", "Boîte d'envoi",
            "Bandeja de salida", "Postvak UIT", "Postvak uit", "Utkorgen",
        ),
    }
)  # fmt: skip

_NON_MAIL_NAMES: Mapping[NonMailKind, tuple[str, ...]] = MappingProxyType(
    {
        NonMailKind.CALENDAR: (
            "Calendar", "Kalender", "Calendrier", "Calendario", "Agenda",
        ),
        NonMailKind.CONTACTS: (
            "Contacts", "Kontakter", "Kontakte", "Contactos", "Contactpersonen",
        ),
        NonMailKind.TASKS: (
            "Tasks", "Opgaver", "Oppgaver", "Aufgaben", "Tâches", "Tareas", "Taken",
            "Uppgifter",
        ),
        NonMailKind.NOTES: (
            "Notes", "Noter", "Notater", "Notizen", "Notas", "Notities", "Anteckningar",
        ),
        NonMailKind.JOURNAL: ("Journal", "Logg", "Diario", "Logboek"),
        NonMailKind.SYNC_ISSUES: (
            "Sync Issues", "Synkroniseringsproblemer", "Synchronisierungsprobleme",
            "Problèmes de synchronisation", "Problemas de sincronización",
            "Synchronisatieproblemen", "Synkroniseringsproblem",
        ),
        NonMailKind.PEOPLE: ("ExternalContacts", "PersonMetadata"),
    }
)  # fmt: skip

_IGNORED_IN_KEYS = re.compile(r"[\s\-_]+")


def name_key(name: str) -> str:
    """Comparison key for well-known names (NFC, trimmed, case-folded, no spaces/hyphens)."""
    folded = unicodedata.normalize("NFC", name).strip().casefold()
    return _IGNORED_IN_KEYS.sub("", folded)


_K = TypeVar("_K", SpecialUse, NonMailKind)


def _index(table: Mapping[_K, tuple[str, ...]]) -> Mapping[str, tuple[_K, int]]:
    index: dict[str, tuple[_K, int]] = {}
    for kind, names in table.items():
        for rank, name in enumerate(names):
            index.setdefault(name_key(name), (kind, rank))
    return MappingProxyType(index)


_SPECIAL_INDEX = _index(_SPECIAL_NAMES)
_NON_MAIL_INDEX = _index(_NON_MAIL_NAMES)


def has_attribute(attributes: Iterable[str], wanted: str) -> bool:
    """Whether ``wanted`` (e.g. ``\\Noselect``) is among ``attributes``, ignoring case."""
    wanted = wanted.lower()
    return any(attribute.lower() == wanted for attribute in attributes)


def special_use_from_attributes(attributes: Iterable[str]) -> SpecialUse | None:
    """The kind announced by an RFC 6154 attribute (first one wins), or None."""
    for attribute in attributes:
        kind = _ATTRIBUTES.get(attribute.lower())
        if kind is not None:
            return kind
    return None


def special_use_from_name(name: str) -> tuple[SpecialUse, int] | None:
    """The kind a folder name suggests and its rank within the kind's table, or None."""
    return _SPECIAL_INDEX.get(name_key(name))


def non_mail_kind(name: str) -> NonMailKind | None:
    """The Exchange non-mail kind a top-level folder name denotes, or None."""
    found = _NON_MAIL_INDEX.get(name_key(name))
    return None if found is None else found[0]


def special_names(kind: SpecialUse) -> tuple[str, ...]:
    """The well-known names of ``kind`` (empty for INBOX), most preferred first."""
    return _SPECIAL_NAMES.get(kind, ())


def non_mail_names(kind: NonMailKind) -> tuple[str, ...]:
    """The well-known names of a non-mail kind."""
    return _NON_MAIL_NAMES[kind]
