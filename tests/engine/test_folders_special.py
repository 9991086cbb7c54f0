"""Special folders: RFC 6154 attributes first, then well-known names in eight languages."""

from __future__ import annotations

import pytest

from mailferry.engine.folders import (
    FolderOptions,
    SourceFolder,
    SpecialUse,
    TargetLayout,
    detect_special_use,
    plan_folders,
)
from mailferry.engine.special_folders import (
    NonMailKind,
    name_key,
    non_mail_kind,
    non_mail_names,
    special_names,
    special_use_from_attributes,
    special_use_from_name,
)

TARGET = TargetLayout("/")

NAMES = [
    # English
    ("Sent", SpecialUse.SENT),
    ("Sent Items", SpecialUse.SENT),
    ("Sent Messages", SpecialUse.SENT),
    ("Sent Mail", SpecialUse.SENT),
    ("Trash", SpecialUse.TRASH),
    ("Deleted Items", SpecialUse.TRASH),
    ("Deleted Messages", SpecialUse.TRASH),
    ("Bin", SpecialUse.TRASH),
    ("Junk", SpecialUse.JUNK),
    ("Spam", SpecialUse.JUNK),
    ("Junk E-mail", SpecialUse.JUNK),
    ("Junk Email", SpecialUse.JUNK),
    ("Bulk Mail", SpecialUse.JUNK),
    ("Drafts", SpecialUse.DRAFTS),
    ("Archive", SpecialUse.ARCHIVE),
    ("Archives", SpecialUse.ARCHIVE),
    ("Outbox", SpecialUse.OUTBOX),
    # Danish
    ("Sendt post", SpecialUse.SENT),
    ("Sendte elementer", SpecialUse.SENT),
    ("Slettet post", SpecialUse.TRASH),
    ("Slettede elementer", SpecialUse.TRASH),
    ("Uønsket post", SpecialUse.JUNK),
    ("Uønsket e-mail", SpecialUse.JUNK),
    ("Kladder", SpecialUse.DRAFTS),
    ("Kladde", SpecialUse.DRAFTS),
    ("Arkiv", SpecialUse.ARCHIVE),
    ("Udbakke", SpecialUse.OUTBOX),
    # German
    ("Gesendet", SpecialUse.SENT),
    ("Gesendete Objekte", SpecialUse.SENT),
    ("Gesendete Elemente", SpecialUse.SENT),
    ("Papierkorb", SpecialUse.TRASH),
    ("Gelöschte Objekte", SpecialUse.TRASH),
    ("Gelöschte Elemente", SpecialUse.TRASH),
    ("Junk-E-Mail", SpecialUse.JUNK),
    ("Spamverdacht", SpecialUse.JUNK),
    ("Entwürfe", SpecialUse.DRAFTS),
    ("Archiv", SpecialUse.ARCHIVE),
    ("Postausgang", SpecialUse.OUTBOX),
    # French
    ("Éléments envoyés", SpecialUse.SENT),
    ("Messages envoyés", SpecialUse.SENT),
    ("Envoyés", SpecialUse.SENT),
    ("Corbeille", SpecialUse.TRASH),
    ("Éléments supprimés", SpecialUse.TRASH),
    ("Courrier indésirable", SpecialUse.JUNK),
    ("Brouillons", SpecialUse.DRAFTS),
    ("Boîte d'envoi", SpecialUse.OUTBOX),
    # Spanish
    ("Elementos enviados", SpecialUse.SENT),
    ("Enviados", SpecialUse.SENT),
    ("Papelera", SpecialUse.TRASH),
    ("Elementos eliminados", SpecialUse.TRASH),
    ("Correo no deseado", SpecialUse.JUNK),
    ("Borradores", SpecialUse.DRAFTS),
    ("Archivo", SpecialUse.ARCHIVE),
    ("Bandeja de salida", SpecialUse.OUTBOX),
    # Dutch
    ("Verzonden items", SpecialUse.SENT),
    ("Verzonden", SpecialUse.SENT),
    ("Prullenbak", SpecialUse.TRASH),
    ("Verwijderde items", SpecialUse.TRASH),
    ("Ongewenste e-mail", SpecialUse.JUNK),
    ("Concepten", SpecialUse.DRAFTS),
    ("Archief", SpecialUse.ARCHIVE),
    ("Postvak UIT", SpecialUse.OUTBOX),
    # Swedish
    ("Skickat", SpecialUse.SENT),
    ("Skickade objekt", SpecialUse.SENT),
    ("Papperskorgen", SpecialUse.TRASH),
    ("Borttagna objekt", SpecialUse.TRASH),
    ("Skräppost", SpecialUse.JUNK),
    ("Utkast", SpecialUse.DRAFTS),
    ("Utkorgen", SpecialUse.OUTBOX),
    # Norwegian
    ("Sendt", SpecialUse.SENT),
    ("Søppelkasse", SpecialUse.TRASH),
    ("Søppelpost", SpecialUse.JUNK),
    ("Utboks", SpecialUse.OUTBOX),
]


@pytest.mark.parametrize(("name", "kind"), NAMES)
def test_well_known_names(name: str, kind: SpecialUse) -> None:
    found = special_use_from_name(name)
    assert found is not None and found[0] is kind


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("  sent items ", SpecialUse.SENT),
        ("SENT-ITEMS", SpecialUse.SENT),
        ("JunkEmail", SpecialUse.JUNK),
        ("junk_e-mail", SpecialUse.JUNK),
        ("E\u0301le\u0301ments envoye\u0301s", SpecialUse.SENT),  # NFD, as macOS writes it
        ("ENTWÜRFE", SpecialUse.DRAFTS),
    ],
)
def test_names_compare_loosely(name: str, kind: SpecialUse) -> None:
    found = special_use_from_name(name)
    assert found is not None and found[0] is kind


@pytest.mark.parametrize("name", ["INBOX", "Indbakke", "Sent Stuff", "Work", "Notes", ""])
def test_ordinary_names_are_not_special(name: str) -> None:
    assert special_use_from_name(name) is None


def test_no_name_belongs_to_two_tables() -> None:
    seen: dict[str, object] = {}
    for kind in SpecialUse:
        for name in special_names(kind):
            assert seen.setdefault(name_key(name), kind) is kind, name
    for other in NonMailKind:
        for name in non_mail_names(other):
            assert name_key(name) not in seen, name
            assert non_mail_kind(name) is other


@pytest.mark.parametrize(
    ("attributes", "kind"),
    [
        (("\\HasNoChildren", "\\Sent"), SpecialUse.SENT),
        (("\\TRASH",), SpecialUse.TRASH),
        (("\\junk",), SpecialUse.JUNK),
        (("\\Drafts",), SpecialUse.DRAFTS),
        (("\\Archive",), SpecialUse.ARCHIVE),
        (("\\All",), None),
        (("\\Flagged",), None),
        ((), None),
    ],
)
def test_attributes(attributes: tuple[str, ...], kind: SpecialUse | None) -> None:
    assert special_use_from_attributes(attributes) is kind


def test_detect_special_use_prefers_the_attribute() -> None:
    assert detect_special_use(SourceFolder("Papierkorb", "/", ("\\Junk",))) is SpecialUse.JUNK
    assert detect_special_use(SourceFolder("Papierkorb", "/")) is SpecialUse.TRASH
    assert detect_special_use(SourceFolder("Work/Trash", "/")) is SpecialUse.TRASH
    assert detect_special_use(SourceFolder("Work/Trash", "/"), top_level=False) is None


def test_attribute_beats_name_and_loser_keeps_its_name() -> None:
    source = [
        SourceFolder("INBOX", "/"),
        SourceFolder("Sent Items", "/"),
        SourceFolder("Sent", "/", ("\\Sent",)),
    ]
    plan = plan_folders(source, TargetLayout("/", {SpecialUse.SENT: "Sent Items"}), FolderOptions())
    winner, loser = plan.mapping_for("Sent"), plan.mapping_for("Sent Items")
    assert winner is not None and winner.target_name == "Sent Items"
    assert winner.special_use is SpecialUse.SENT
    assert loser is not None and loser.special_use is None
    assert loser.target_name == "Sent Items (2)"  # the target's own Sent Items is not merged into
    assert loser.note is not None and "'Sent' is the SentItems folder" in loser.note


def test_earlier_table_name_wins_between_names() -> None:
    source = [
        SourceFolder("Sent Messages", "."),
        SourceFolder("Sent", "."),
        SourceFolder("Sent Items", "."),
    ]
    plan = plan_folders(source, TargetLayout("/"), FolderOptions())
    assert {m.source_name: m.target_name for m in plan.mappings} == {
        "Sent": "Sent",
        "Sent Items": "Sent Items",
        "Sent Messages": "Sent Messages",
    }
    sent = plan.mapping_for("Sent")
    assert sent is not None and sent.special_use is SpecialUse.SENT


def test_names_only_count_at_the_top() -> None:
    source = [SourceFolder("Projects", "/"), SourceFolder("Projects/Trash", "/")]
    plan = plan_folders(source, TargetLayout("."), FolderOptions())
    nested = plan.mapping_for("Projects/Trash")
    assert nested is not None and nested.target_name == "Projects.Trash"
    assert nested.special_use is None


def test_attributes_count_at_any_depth() -> None:
    source = [SourceFolder("Mail/Outgoing", "/", ("\\Sent",))]
    plan = plan_folders(source, TargetLayout("."), FolderOptions())
    mapping = plan.mapping_for("Mail/Outgoing")
    assert mapping is not None and mapping.target_name == "Sent"


def test_noselect_folder_does_not_claim() -> None:
    source = [
        SourceFolder("Trash", "/", ("\\Noselect",)),
        SourceFolder("Deleted Items", "/"),
        SourceFolder("Trash/Old", "/"),
    ]
    plan = plan_folders(source, TargetLayout("/"), FolderOptions())
    assert {m.source_name: m.target_name for m in plan.mappings} == {
        "Deleted Items": "Trash",
        "Trash/Old": "Trash/Old",  # under the target's Trash: the level held no mail
    }


def test_inbox_is_case_insensitive_and_always_inbox() -> None:
    source = [SourceFolder("Inbox", "/"), SourceFolder("Inbox/Sub", "/")]
    plan = plan_folders(source, TargetLayout("."), FolderOptions())
    assert {m.source_name: m.target_name for m in plan.mappings} == {
        "Inbox": "INBOX",
        "Inbox/Sub": "INBOX.Sub",
    }
    inbox = plan.mapping_for("Inbox")
    assert inbox is not None and inbox.special_use is SpecialUse.INBOX


def test_inbox_listed_twice_is_one_folder() -> None:
    source = [SourceFolder("INBOX", "/"), SourceFolder("inbox", "/")]
    plan = plan_folders(source, TargetLayout("."), FolderOptions())
    assert [m.source_name for m in plan.mappings] == ["INBOX"]
    assert [(s.source_name, s.reason.value, s.detail) for s in plan.skipped] == [
        ("inbox", "Duplicate", "INBOX")
    ]
