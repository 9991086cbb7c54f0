"""The real-server test rig: Dovecot and Courier instances, throw-away CAs and a mail corpus.

Used by the test suite (``tests/conftest.py``), the benchmarks in ``bench/`` and the
README demo. Nothing here is imported by the product code.
"""

from mailferry.rig.certs import RigCA, ServerCert
from mailferry.rig.config import DovecotOptions, Storage
from mailferry.rig.corpus import (
    DEFAULT_FOLDERS,
    CorpusSpec,
    GeneratedMessage,
    WriteStats,
    generate,
    write_maildir,
)
from mailferry.rig.courier import CourierServer, courier_folder
from mailferry.rig.dovecot import DovecotServer, make_ca
from mailferry.rig.errors import CourierStartError, DoveadmError, DovecotStartError, RigError
from mailferry.rig.users import RigAccount, RigUser, safe_dirname

__all__ = [
    "DEFAULT_FOLDERS",
    "CorpusSpec",
    "CourierServer",
    "CourierStartError",
    "DoveadmError",
    "DovecotOptions",
    "DovecotServer",
    "DovecotStartError",
    "GeneratedMessage",
    "RigAccount",
    "RigCA",
    "RigError",
    "RigUser",
    "ServerCert",
    "Storage",
    "WriteStats",
    "courier_folder",
    "generate",
    "make_ca",
    "safe_dirname",
    "write_maildir",
]
