"""Folder mapping: which source folders one user's migration copies, and where to.

:func:`plan_folders` is pure and deterministic (the input order does not
matter). Names are decoded ``str`` throughout; modified UTF-7 is the IMAP
layer's business. The steps, and the choices made where the specification and
Microsoft's documentation are silent:

1. **Scope** (:mod:`.folder_scope`): UserRoot re-rooting (also under the source's
   shared namespaces, as Courier spells names), then the personal prefix (Courier
   ``INBOX.Sent`` → ``Sent``). Folders outside UserRoot are not the user's and are
   not reported; a UserRoot no folder is under fails the user (the sync says so).
   Under a UserRoot the root folder itself, if selectable, is the INBOX — unless it
   has an ``INBOX`` child, which then is, and the root migrates under its own last
   name. Two LIST entries for one folder (``INBOX`` and ``Inbox``) keep the first by
   name; the other is reported as ``Duplicate``.
2. **Non-mail folders**: when the source is Exchange (said by the caller, or
   seen in at least three kinds of top-level non-mail folder names, so a
   Dovecot user's ``Notes`` full of Apple notes is still mail), Calendar,
   Contacts, Tasks, Notes, Journal, Sync Issues and their localized names are
   skipped with all their subfolders. ``Conversation History`` is mail.
3. **Special folders** (:mod:`.special_folders`): INBOX, then RFC 6154
   attributes at any depth, then well-known names at the top of the user's tree.
   Only selectable folders claim. When several folders claim one kind, an
   attribute beats a name, a shallower folder a deeper one, an earlier name in
   the table a later one, then the name order; the others migrate under their own
   names with a note. A special folder lands on the target's folder of that
   kind, its subfolders under it; if the target has none, it keeps its name.
4. **Filters** (:mod:`.folder_filters`): an entry covers a folder and its
   subfolders; ExcludeFolders beats IncludeFolders. ``\\Noselect`` and
   ``\\NonExistent`` folders are reported as ``NotSelectable`` but their
   children still migrate (their level is created on the target). A ``\\All``
   folder (Gmail's All Mail) copies every message a second time, so it is
   skipped as ``AllMail`` unless ``migrate_all_mail`` is set or IncludeFolders
   names it itself — note that it alone holds Gmail mail archived without a label.
   Gmail's other virtual folders (``\\Flagged`` Starred, Important) are labels
   and migrate like any folder — unless the source is said to be Gmail
   (``gmail_source``): then they are ``GmailVirtual`` and All Mail migrates as the
   Archive folder, de-duplicated by X-GM-LABELS (:mod:`.gmail_labels`).
5. **Placement** (:mod:`.folder_placement`, :mod:`.folder_names`): each level
   is translated to the target delimiter and made valid; renames are
   predictable and noted; clashes get `` (2)``; a 1,000-deep tree is flattened
   below ``TargetLayout.max_depth``. Nothing recurses. Each source path gets
   its own target path, so two source folders never share a target folder.
   A target personal prefix (``INBOX.``) holds the user's whole tree but INBOX:
   ``Archive/2020`` becomes ``INBOX.Archive.2020``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from mailferry.engine.folder_filters import FilterList, Identity, WellKnown, match_key
from mailferry.engine.folder_placement import Placed, TargetNamer
from mailferry.engine.folder_scope import Path, personal_prefix, root_paths, scope, split_loose
from mailferry.engine.folder_types import (
    FolderMapping,
    FolderOptions,
    FolderPlan,
    SourceFolder,
    TargetLayout,
)
from mailferry.engine.gmail_labels import gmail_folders
from mailferry.engine.special_folders import (
    NonMailKind,
    SpecialUse,
    non_mail_kind,
    special_use_from_attributes,
    special_use_from_name,
)
from mailferry.values.results import SkippedFolder, SkipReason

__all__ = [
    "FolderMapping",
    "FolderOptions",
    "FolderPlan",
    "SkipReason",
    "SkippedFolder",
    "SourceFolder",
    "SpecialUse",
    "TargetLayout",
    "detect_special_use",
    "plan_folders",
]

_CARRIED_NOTES = 3  # renamed levels above a folder that its notes mention, nearest last
_EXCHANGE_EVIDENCE = 3  # distinct non-mail kinds at the top that reveal an Exchange source


@dataclass(eq=False)
class _Node:
    """A level of the user's tree: a listed folder, or an unlisted parent of one."""

    path: Path
    parent: Path | None
    depth: int  # in the user's tree, after the personal prefix is stripped
    outside: bool = False  # not in the personal namespace (placed after those that are)
    folder: SourceFolder | None = None
    special: SpecialUse | None = None
    anchored: bool = False
    non_mail: str | None = None
    non_mail_kind: NonMailKind | None = None
    included: bool = False
    excluded: str | None = None
    skip: SkippedFolder | None = None
    claim_notes: list[str] = field(default_factory=list)
    rename_notes: list[str] = field(default_factory=list)
    carried: tuple[str, ...] = ()  # renames of unlisted or skipped levels above, for children

    @property
    def top_level(self) -> bool:
        return self.parent == ()

    @property
    def label(self) -> str:
        """The folder's name for notes, shortened in the middle when long."""
        if self.folder is not None:
            return _shorten(self.folder.name)
        parts = self.path if len(self.path) <= 4 else (*self.path[:2], "…", *self.path[-2:])
        return _shorten("/".join(parts))

    @property
    def mapped(self) -> bool:
        return self.folder is not None and self.skip is None


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[: limit - 30]}…{text[-29:]}"


def detect_special_use(folder: SourceFolder, *, top_level: bool = True) -> SpecialUse | None:
    """The special use of one folder: its attribute, else (at the top) its last name."""
    kind = special_use_from_attributes(folder.attributes)
    if kind is None and top_level:
        leaf = folder.name.rsplit(folder.delimiter, 1)[-1] if folder.delimiter else folder.name
        found = special_use_from_name(leaf)
        kind = found[0] if found else None
    return kind


def plan_folders(
    source: Sequence[SourceFolder], target: TargetLayout, options: FolderOptions
) -> FolderPlan:
    """Decide, for one user, which source folders migrate and their target names."""
    user_root = options.user_root if split_loose(options.user_root or "", "/") else None
    views: list[SkippedFolder] = []
    if options.gmail_source:  # folders are labels: see engine/gmail_labels
        source, views = gmail_folders(source)
    folders = _dedupe(source)
    scoped, root = scope(folders, user_root, options.namespace_prefixes)
    prefix = personal_prefix(scoped, options.personal_prefix, user_root)
    nodes, duplicates = _build_tree(scoped, prefix)
    order = sorted(nodes.values(), key=lambda n: (n.depth, n.outside, n.path))
    _mark_non_mail(order, nodes, options.exchange_source)
    namer = TargetNamer(target)
    _claim_inbox(order, under_root=user_root is not None)
    _claim_special(order, namer)
    delimiters = sorted({f.delimiter or "/" for f, _ in scoped})
    roots = [p for d in delimiters for p in root_paths(user_root, d, options.namespace_prefixes)]
    strip = [*roots, root, prefix]  # a filter entry may repeat the root, in any spelling
    include = FilterList(options.include, delimiters, strip)
    exclude = FilterList(options.exclude, delimiters, strip)
    _apply_filters(order, nodes, include, exclude, options.migrate_all_mail or options.gmail_source)
    root_name = root or split_loose(user_root or "", delimiters[0] if delimiters else "/")
    mappings = _place(order, nodes, namer, root_name[-1] if root_name else "INBOX")
    skipped = [n.skip for n in order if n.skip is not None] + duplicates + views
    return FolderPlan(
        mappings=tuple(sorted(mappings, key=_target_order)),
        skipped=tuple(sorted(skipped, key=lambda s: (s.source_name, s.reason))),
        unmatched_filters=tuple(dict.fromkeys(include.unused() + exclude.unused())),
    )


def _dedupe(source: Iterable[SourceFolder]) -> list[SourceFolder]:
    """One entry per name, attributes merged (a server may LIST a folder twice)."""
    merged: dict[str, SourceFolder] = {}
    for folder in sorted(source, key=lambda f: (f.name, f.delimiter or "", f.attributes)):
        seen = merged.get(folder.name)
        if seen is None:
            merged[folder.name] = folder
            continue
        attributes = tuple(sorted({*seen.attributes, *folder.attributes}))
        merged[folder.name] = SourceFolder(
            seen.name, seen.delimiter or folder.delimiter, attributes
        )
    return list(merged.values())


def _build_tree(
    scoped: Sequence[tuple[SourceFolder, Path]], prefix: Path
) -> tuple[dict[Path, _Node], list[SkippedFolder]]:
    """The user's tree; a second LIST entry for one path (``Inbox``) is a duplicate."""
    nodes: dict[Path, _Node] = {(): _Node((), None, 0)}
    duplicates: list[SkippedFolder] = []
    for folder, path in sorted(scoped, key=lambda fp: (len(fp[1]), fp[1], fp[0].name)):
        missing = []
        ancestor = path
        while ancestor not in nodes:
            missing.append(ancestor)
            ancestor = ancestor[:-1]
        for step in reversed(missing):
            nodes[step] = _new_node(step, prefix)
        node = nodes[path]
        if node.folder is None:
            node.folder = folder
        else:
            kept = node.folder.name
            duplicates.append(SkippedFolder(folder.name, SkipReason.DUPLICATE, kept))
    return nodes, duplicates


def _new_node(path: Path, prefix: Path) -> _Node:
    """A level whose parent is its own, or the top for a direct child of the prefix."""
    if not prefix:
        return _Node(path, path[:-1], len(path))
    inside = path[: len(prefix)] == prefix
    depth = len(path) - len(prefix) if inside and len(path) > len(prefix) else len(path)
    return _Node(path, () if path[:-1] == prefix else path[:-1], depth, outside=not inside)


def _mark_non_mail(order: Sequence[_Node], nodes: dict[Path, _Node], given: bool | None) -> None:
    for node in order:
        if node.top_level:
            node.non_mail_kind = non_mail_kind(node.path[-1])
    listed = {n.non_mail_kind for n in order if n.top_level and n.folder and n.non_mail_kind}
    if not (given if given is not None else len(listed) >= _EXCHANGE_EVIDENCE):
        for node in order:
            node.non_mail_kind = None
        return
    for node in order:
        inherited = nodes[node.parent].non_mail if node.parent is not None else None
        node.non_mail = inherited or (node.label if node.non_mail_kind else None)


def _claim_inbox(order: Sequence[_Node], *, under_root: bool) -> None:
    candidates = []
    for node in order:
        if not _can_claim(node):
            continue
        named_inbox = len(node.path) == 1 and node.path[0].casefold() == "inbox"
        if named_inbox and (under_root or node.path[0] == "INBOX"):
            candidates.append((0, node.path, node))
        elif under_root and node.path == ():
            candidates.append((1, node.path, node))
    ranked = sorted(candidates, key=lambda c: c[:2])
    _award(SpecialUse.INBOX, [node for _, _, node in ranked], anchored=True)


def _claim_special(order: Sequence[_Node], namer: TargetNamer) -> None:
    claims: dict[SpecialUse, list[tuple[tuple[int, int, int, Path], _Node]]] = {}
    for node in order:
        if not _can_claim(node) or node.special is not None or node.path == ():
            continue
        assert node.folder is not None
        kind = special_use_from_attributes(node.folder.attributes)
        rank = (0, len(node.path), 0, node.path)
        if kind is None and node.top_level:
            found = special_use_from_name(node.path[-1])
            if found is None:
                continue
            kind, rank = found[0], (1, 0, found[1], node.path)
        if kind is not None:
            claims.setdefault(kind, []).append((rank, node))
    for kind in SpecialUse:
        ranked = sorted(claims.get(kind, []), key=lambda c: c[0])
        _award(kind, [n for _, n in ranked], namer.special_path(kind) is not None)


def _can_claim(node: _Node) -> bool:
    return node.folder is not None and node.folder.selectable and node.non_mail is None


def _award(kind: SpecialUse, ranked: Sequence[_Node], anchored: bool) -> None:
    """The first of ``ranked`` becomes the ``kind`` folder; the others keep their names."""
    if not ranked:
        return
    winner = ranked[0]
    winner.special, winner.anchored = kind, anchored
    if not anchored:
        winner.claim_notes.append(f"the target has no {kind} folder: kept its own name")
    for loser in ranked[1:]:
        loser.claim_notes.append(
            f"'{winner.label}' is the {kind} folder: migrated under its own name"
        )


def _identities(node: _Node) -> list[Identity]:
    found: list[Identity] = [WellKnown.ROOT] if node.path == () else []
    if node.special is not None:
        found.append(node.special)
    if node.non_mail_kind is not None:  # set on top-level folders of an Exchange source only
        found.append(node.non_mail_kind)
    if node.folder is not None and node.folder.has_attribute("\\All"):
        found.append(WellKnown.ALL_ITEMS)
    return found


def _apply_filters(
    order: Sequence[_Node],
    nodes: dict[Path, _Node],
    include: FilterList,
    exclude: FilterList,
    migrate_all_mail: bool,
) -> None:
    keys: dict[Path, Path] = {(): ()}
    for node in order:
        parent = nodes[node.parent] if node.parent is not None else None
        identities = _identities(node)
        key = keys[()]
        if (include or exclude) and node.path:  # the parent's key and this level's
            key = keys[node.path] = keys[node.parent or ()] + match_key(node.path[-1:])
        named = include.match(key, identities) if include else None
        node.included = named is not None or (parent is not None and parent.included)
        excluded = exclude.match(key, identities) if exclude else None
        node.excluded = excluded.text if excluded else (parent.excluded if parent else None)
        if node.folder is not None:
            all_mail = not migrate_all_mail and named is None
            node.skip = _skip(node, node.folder, bool(include), all_mail)


def _skip(
    node: _Node, folder: SourceFolder, including: bool, all_mail: bool
) -> SkippedFolder | None:
    name = folder.name
    if not folder.selectable:
        return SkippedFolder(name, SkipReason.NOT_SELECTABLE)
    if node.non_mail is not None:
        return SkippedFolder(name, SkipReason.NON_MAIL, node.non_mail)
    if node.excluded is not None:
        return SkippedFolder(name, SkipReason.EXCLUDED, node.excluded)
    if including and not node.included:
        return SkippedFolder(name, SkipReason.NOT_INCLUDED)
    if all_mail and folder.has_attribute("\\All"):
        return SkippedFolder(name, SkipReason.ALL_MAIL)
    return None


def _needed(order: Sequence[_Node]) -> set[Path]:
    """Paths that appear on the target: migrated folders and the levels above them."""
    needed: set[Path] = set()
    for node in reversed(order):
        if node.mapped or node.path in needed:
            needed.add(node.path)
            if not node.anchored and node.parent:
                needed.add(node.parent)
    return needed


def _place(
    order: Sequence[_Node], nodes: dict[Path, _Node], namer: TargetNamer, root_name: str
) -> list[FolderMapping]:
    needed = _needed(order)
    anchored = sorted(
        (n for n in order if n.anchored and n.mapped),
        key=lambda n: list(SpecialUse).index(n.special) if n.special else 0,
    )
    rest = [n for n in order if n.path in needed and not (n.anchored and n.mapped)]
    spots: dict[Path, Placed] = {(): namer.top}
    mappings = []
    for node in anchored + rest:
        spot = _spot(node, nodes, namer, spots, root_name)
        if node.path:
            spots[node.path] = spot
        if node.mapped:
            assert node.folder is not None
            mappings.append(_mapping(node, node.folder, spot.path, namer))
    return mappings


def _spot(
    node: _Node, nodes: dict[Path, _Node], namer: TargetNamer, spots: dict[Path, Placed], root: str
) -> Placed:
    """Place one level; renames of levels that are not migrated are carried to those below."""
    if node.anchored and node.special is not None:
        fixed = namer.special_path(node.special)
        assert fixed is not None
        spot = namer.claim(fixed, node.special, f"'{node.label}'")
        node.rename_notes.extend(spot.notes)
        return spot
    parent = nodes[node.parent] if node.parent is not None else None
    leaf = node.path[-1] if node.path else root
    who = f"'{node.label}'"
    spot = namer.place(spots[node.parent or ()], leaf, who, container=not node.mapped)
    inherited = parent.carried if parent is not None else ()
    if node.mapped:
        node.rename_notes.extend((*inherited, *spot.notes))
    elif spot.notes:  # reported nowhere else: tell the folders below
        mine = (f"parent level '{node.label}' renamed: {note}" for note in spot.notes)
        node.carried = (*inherited, *mine)[-_CARRIED_NOTES:]
    else:
        node.carried = inherited
    return spot


def _mapping(node: _Node, folder: SourceFolder, path: Path, namer: TargetNamer) -> FolderMapping:
    notes = (*node.claim_notes, *node.rename_notes)
    return FolderMapping(folder.name, namer.join(path), path, node.special, notes)


def _target_order(mapping: FolderMapping) -> tuple[int, bool, Path, str]:
    """Shallow first (so parents precede children), INBOX first among the top."""
    path = mapping.target_path
    return (len(path), path != ("INBOX",), path, mapping.source_name)
