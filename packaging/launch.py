"""Entry point of the frozen application (pyinstaller runs this file as a script)."""
import sys

from vbgui.cli import main

sys.exit(main())
