"""Render the ``dovecot.conf`` of one rig instance from its options and layout."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mailferry.rig.errors import RigError

Storage = Literal["maildir", "sdbox", "mdbox"]

SPECIAL_USE: dict[str, str] = {
    "Sent": "\\Sent",
    "Drafts": "\\Drafts",
    "Trash": "\\Trash",
    "Junk": "\\Junk",
    "Archive": "\\Archive",
}

_STORAGE_DIRS: dict[str, str] = {"maildir": "Maildir", "sdbox": "sdbox", "mdbox": "mdbox"}


@dataclass(frozen=True)
class OAuth2Passdb:
    """Dovecot's ``oauth2`` passdb for XOAUTH2 and OAUTHBEARER logins: each token is
    checked at ``introspection_url`` (RFC 7662, ``introspection_mode = post``), whose
    answer must be ``active`` and name the login user as ``username``. ``ca_file``: the
    CA an https introspection endpoint's certificate chains to."""

    introspection_url: str
    ca_file: Path | None = None


@dataclass(frozen=True)
class DovecotOptions:
    """What kind of server to run.

    ``login_disabled``: the server advertises LOGINDISABLED and refuses LOGIN and
    AUTHENTICATE PLAIN (only SASL LOGIN stays). Dovecot treats loopback connections as
    secure, so ``disable_plaintext_auth`` alone would not produce LOGINDISABLED here.
    ``shared_namespace``: every user's folders are also visible to every logged-in user
    as ``users<sep><username><sep>...`` (a Dovecot ``shared`` namespace; the acl plugin
    grants ``anyone`` lookup+read and a shared-mailbox dict lists every user, so
    ``LIST "" "users/*"`` works). Use ``separator="/"``: usernames may contain dots.
    ``tls=False``: ``ssl = no``, no implicit-TLS listener and no STARTTLS (for "STARTTLS
    not offered" tests).
    ``inbox_prefix``: the personal namespace has the prefix ``INBOX<separator>``
    (``namespace inbox { inbox = yes  prefix = INBOX. }``, Courier's layout): every
    folder but INBOX is ``INBOX.<name>`` and a CREATE outside the prefix is refused.
    ``acl_rules``: more lines of the global ACL file (``<mailbox> [-]<id> <rights>``,
    mailbox names as the client sees them); any rule turns the acl plugin on. E.g.
    ``INBOX.Locked -owner k``: the user may not create folders under ``INBOX.Locked``
    (CREATE is refused ``[NOPERM] Permission denied``).
    ``oauth2``: also log users in with OAuth2 tokens (``OAuth2Passdb``); passwords and
    the master user still work.
    ``gmail_namespace``: a stand-in for Gmail's folders: a second private namespace
    ``[Gmail]<sep>`` (its own mail store ``~/gmail``) with ``All Mail`` (``\\All``),
    ``Important`` (``\\Important``), ``Starred`` (``\\Flagged``), ``Sent Mail``,
    ``Drafts``, ``Spam``, ``Trash`` (Gmail's names and RFC 6154 attributes; Dovecot
    cannot offer X-GM-EXT-1). Use ``separator="/"``, Gmail's.
    ``auth_delays``: keep Dovecot's 2 s answer delay for failed logins and its per-IP
    penalty; off by default (delay 0, anvil's penalty socket disabled) to keep tests fast.
    """

    storage: Storage = "maildir"
    separator: str = "."
    fsync: bool = True
    quota: bool = False
    quota_mb: int = 1024
    max_userip_connections: int = 50
    login_disabled: bool = False
    shared_namespace: bool = False
    master_separator: str = "*"
    auth_delays: bool = False
    tls: bool = True
    inbox_prefix: bool = False
    acl_rules: tuple[str, ...] = ()
    oauth2: OAuth2Passdb | None = None
    gmail_namespace: bool = False

    def __post_init__(self) -> None:
        if self.storage not in _STORAGE_DIRS:
            raise RigError(f"unknown storage {self.storage!r}")
        if self.separator not in (".", "/"):
            raise RigError(f"separator must be '.' or '/', not {self.separator!r}")
        if len(self.master_separator) != 1:
            raise RigError("master_separator must be one character")

    @property
    def mail_dir_name(self) -> str:
        """Directory under a user's home that holds the mail store."""
        return _STORAGE_DIRS[self.storage]

    @property
    def mail_location(self) -> str:
        return f"{self.storage}:~/{self.mail_dir_name}"


@dataclass(frozen=True)
class DovecotLayout:
    """Where one instance keeps its files, which ports it listens on, who it runs as."""

    instance_name: str
    base_dir: Path
    state_dir: Path
    log_path: Path
    passwd_dir: Path
    masters_path: Path
    cert_path: Path
    key_path: Path
    host: str
    imap_port: int
    imaps_port: int
    internal_user: str
    internal_group: str
    login_user: str
    mail_uid: int
    mail_gid: int
    acl_path: Path
    shared_dict_path: Path
    oauth2_path: Path | None = None  # the oauth2 passdb's settings file, when enabled


def render_config(layout: DovecotLayout, options: DovecotOptions) -> str:
    """The complete configuration; nothing is read from /etc/dovecot."""
    return "\n".join(
        [
            _base(layout, options),
            _auth(layout, options),
            _mail(layout, options),
            _namespaces(options),
            _services(layout, options),
        ]
    )


def _base(layout: DovecotLayout, options: DovecotOptions) -> str:
    return f"""# generated by mailferry.rig - do not edit
protocols = imap
listen = {layout.host}
instance_name = {layout.instance_name}
base_dir = {layout.base_dir}
state_dir = {layout.state_dir}
log_path = {layout.log_path}
info_log_path = {layout.log_path}
debug_log_path = {layout.log_path}
default_internal_user = {layout.internal_user}
default_internal_group = {layout.internal_group}
default_login_user = {layout.login_user}
default_vsz_limit = 2G
shutdown_clients = yes
{_ssl(layout, options)}disable_plaintext_auth = {"yes" if options.login_disabled else "no"}
mail_max_userip_connections = {options.max_userip_connections}
"""


def _ssl(layout: DovecotLayout, options: DovecotOptions) -> str:
    if not options.tls:
        return "ssl = no\n"
    return (
        f"ssl = yes\nssl_cert = <{layout.cert_path}\nssl_key = <{layout.key_path}\n"
        "ssl_min_protocol = TLSv1.2\n"
    )


def _auth(layout: DovecotLayout, options: DovecotOptions) -> str:
    mechanisms = "login" if options.login_disabled else "plain login"
    oauth2 = ""
    if options.oauth2 is not None:
        mechanisms += " xoauth2 oauthbearer"
        oauth2 = (
            f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
            f"  args = {layout.oauth2_path}\n}}\n"
        )
    # Keyed by MD5 of the username: a raw name could start with "#" (a comment line)
    # or contain ":" (the field separator).
    passwd = f"username_format=%Mu {layout.passwd_dir}/%Mu"
    delays = (
        ""
        if options.auth_delays
        else ("auth_failure_delay = 0\nlogin_trusted_networks = 127.0.0.0/8 ::1/128\n")
    )
    return f"""{delays}auth_mechanisms = {mechanisms}
auth_username_chars =
auth_username_format = %u
auth_master_user_separator = {options.master_separator}
auth_verbose = yes
auth_cache_size = 0
passdb {{
  driver = passwd-file
  master = yes
  pass = yes
  args = username_format=%Mu {layout.masters_path}
}}
{oauth2}passdb {{
  driver = passwd-file
  args = {passwd}
}}
userdb {{
  driver = passwd-file
  args = {passwd}
}}
"""


def render_oauth2_config(passdb: OAuth2Passdb) -> str:
    """The oauth2 passdb's settings file (``dovecot-oauth2.conf.ext``)."""
    ca = f"tls_ca_cert_file = {passdb.ca_file}\n" if passdb.ca_file else ""
    return (
        f"introspection_mode = post\nintrospection_url = {passdb.introspection_url}\n"
        "force_introspection = yes\nusername_attribute = username\n"
        f"active_attribute = active\nactive_value = true\n{ca}"
    )


def _mail(layout: DovecotLayout, options: DovecotOptions) -> str:
    plugins, imap_plugins, settings = ["zlib"], ["imap_zlib"], []
    if options.quota:
        plugins.append("quota")
        imap_plugins.append("imap_quota")
        settings += [
            "quota = count:User quota",
            f"quota_rule = *:storage={options.quota_mb}M",
            "quota_vsizes = yes",
        ]
    if options.shared_namespace or options.acl_rules:
        plugins.append("acl")
        imap_plugins.append("imap_acl")
        settings += [
            f"acl = vfile:{layout.acl_path}",
            f"acl_shared_dict = file:{layout.shared_dict_path}",
            "acl_user = %u",  # a master-user login gets the user's rights, not its own
        ]
    plugin_block = "".join(f"  {line}\n" for line in settings)
    return f"""mail_location = {options.mail_location}
mail_uid = {layout.mail_uid}
mail_gid = {layout.mail_gid}
first_valid_uid = 1
first_valid_gid = 1
mail_fsync = {"optimized" if options.fsync else "never"}
mail_plugins = {" ".join(plugins)}
protocol imap {{
  mail_plugins = $mail_plugins {" ".join(imap_plugins)}
}}
plugin {{
{plugin_block}}}
"""


def global_acl(options: DovecotOptions) -> str:
    """The global ACL file: the owner may do anything, anyone may look, then ``acl_rules``."""
    return "".join(
        f"{line}\n" for line in ("* owner lrwstipekxa", "* anyone lr", *options.acl_rules)
    )


def _namespaces(options: DovecotOptions) -> str:
    sep = options.separator
    mailboxes = "".join(
        f'  mailbox "{name}" {{\n    special_use = {flag}\n  }}\n'
        for name, flag in SPECIAL_USE.items()
    )
    prefix = f" INBOX{sep}" if options.inbox_prefix else ""  # the default stays "prefix ="
    text = f"""namespace inbox {{
  type = private
  separator = {sep}
  prefix ={prefix}
  inbox = yes
{mailboxes}}}
"""
    if options.gmail_namespace:
        text += _gmail_namespace(options)
    if options.shared_namespace:
        location = f"{options.storage}:%%h/{options.mail_dir_name}:INDEXPVT=~/shared/%%Mu"
        text += f"""namespace users {{
  type = shared
  separator = {sep}
  prefix = users{sep}%%u{sep}
  location = {location}
  subscriptions = no
  list = children
}}
"""
    return text


GMAIL_SPECIAL_USE: dict[str, str] = {
    "All Mail": "\\All",
    "Important": "\\Important",
    "Starred": "\\Flagged",
    "Sent Mail": "\\Sent",
    "Drafts": "\\Drafts",
    "Spam": "\\Junk",
    "Trash": "\\Trash",
}


def _gmail_namespace(options: DovecotOptions) -> str:
    sep = options.separator
    mailboxes = "".join(
        f'  mailbox "{name}" {{\n    special_use = {flag}\n    auto = create\n  }}\n'
        for name, flag in GMAIL_SPECIAL_USE.items()
    )
    return f"""namespace gmail {{
  type = private
  separator = {sep}
  prefix = [Gmail]{sep}
  location = {options.storage}:~/gmail
  subscriptions = no
  list = yes
{mailboxes}}}
"""


def _services(layout: DovecotLayout, options: DovecotOptions) -> str:
    penalty = (
        "" if options.auth_delays else ("  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n")
    )
    imaps = (
        f"  inet_listener imaps {{\n    address = {layout.host}\n"
        f"    port = {layout.imaps_port}\n    ssl = yes\n  }}\n"
        if options.tls
        else ""
    )
    return f"""service imap-login {{
  chroot =
  service_count = 0
  process_min_avail = 1
  inet_listener imap {{
    address = {layout.host}
    port = {layout.imap_port}
  }}
{imaps}}}
service anvil {{
  chroot =
{penalty}}}
service auth-worker {{
  user = $default_internal_user
}}
service imap {{
  process_limit = 1024
}}
"""
