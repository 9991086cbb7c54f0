"""-Locale: the target's special folders under their names in the mailbox's language.

Exchange creates a mailbox's default folders in its language (New-MigrationBatch
-Locale); a target that lists them with SPECIAL-USE attributes is followed as it is
(``engine/sync.target_special_folders``), but one that does not (or a Maildir) gets
them created under these names instead of the English ones. The names are Outlook's
default folder names per display language; they are **UNCONFIRMED** for any one
tenant (an administrator may have renamed them), so a target's own attributes win.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType

from mailferry.engine.special_folders import SpecialUse as S
from mailferry.engine.target_presets import TargetPreset
from mailferry.errors import InvalidSetting

_NAMES: Mapping[str, tuple[str, str, str, str, str]] = MappingProxyType(
    {  # language: Sent, Deleted, Junk, Drafts, Archive
        "da": ("Sendt post", "Slettet post", "Uønsket mail", "Kladder", "Arkiv"),
        "de": ("Gesendete Elemente", "Gelöschte Elemente", "Junk-E-Mail", "Entwürfe", "Archiv"),
        "en": ("Sent Items", "Deleted Items", "Junk Email", "Drafts", "Archive"),
        "es": ("Elementos enviados", "Elementos eliminados", "Correo no deseado", "Borradores",
               "Archivo"),
        "fr": ("Éléments envoyés", "Éléments supprimés", "Courrier indésirable", "Brouillons",
               "Archives"),
        "it": ("Posta inviata", "Posta eliminata", "Posta indesiderata", "Bozze", "Archivio"),
        "nb": ("Sendte elementer", "Slettede elementer", "Søppelpost", "Utkast", "Arkiv"),
        "nl": ("Verzonden items", "Verwijderde items", "Ongewenste e-mail", "Concepten",
               "Archief"),
        "sv": ("Skickat", "Borttaget", "Skräppost", "Utkast", "Arkiv"),
    }
)  # fmt: skip
LOCALES = tuple(sorted(_NAMES))
_NO_PRESET = TargetPreset("locale", "a language's folder names", 2**62, MappingProxyType({}))


def special_names(locale: str) -> dict[S, str]:
    """Special folder names for ``locale`` (``da-DK``, ``de``, ``nb_NO``: the language
    part counts); ``InvalidSetting`` naming the ones known."""
    language = locale.strip().replace("_", "-").split("-")[0].lower()
    names = _NAMES.get(language)
    if names is None:
        raise InvalidSetting(
            [f"Locale {locale!r}: folder names are known for {', '.join(LOCALES)}"]
        )
    return dict(zip((S.SENT, S.TRASH, S.JUNK, S.DRAFTS, S.ARCHIVE), names, strict=True))


def localized(preset: TargetPreset | None, locale: str) -> TargetPreset:
    """``preset`` (or no preset's rules) with ``locale``'s special folder names."""
    base = preset or _NO_PRESET
    return replace(base, special_folders={**base.special_folders, **special_names(locale)})
