"""PyInstaller entry point for access-probe.exe and access-probe-tray.exe (access-probe.spec)."""

import sys

from access_probe.cli import main

if __name__ == "__main__":
    sys.exit(main())
