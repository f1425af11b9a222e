from vbgui.cli import main

raise SystemExit(main())
