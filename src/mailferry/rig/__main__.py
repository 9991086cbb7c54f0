"""``python -m mailferry.rig demo``: see ``mailferry.rig.demo``."""

from mailferry.rig.demo import main

main()
