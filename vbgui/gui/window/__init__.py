"""The main window's concerns, one module each, assembled by :mod:`vbgui.gui.main_window`.

Each module holds a small controller that owns its state and its menu
actions and works on the window's panels:

- :mod:`.recordings`: open a recording (file, folder, recent, drop), choose its variables and units;
- :mod:`.presets`: the preset list, open and save presets, remember the last one;
- :mod:`.fit_control`: Run, Pause, Stop, Reset, the throttled repaint of a running fit, the engine's warm-up;
- :mod:`.results`: export a result or a plot, reopen a result file;
- :mod:`.theme`: the light and dark themes;
- :mod:`.layout`: the panels' arrangement, the status bar, saved and default window layouts, full screen;
- :mod:`.help`: the user guide and the About box.
"""
