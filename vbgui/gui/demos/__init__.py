"""Talk mode: six live demonstrations of what variational inference gives up.

One module per job: ``theme`` (Okabe-Ito colours, light and dark themes,
presentation sizes), ``plots`` (themed pyqtgraph plots and Gaussian
contours), ``playback`` (animating an optimiser's iterates on a QTimer),
``jobs`` (the latest-wins background runner), ``page`` (what every
demonstration page has), one module per demonstration, ``window`` (the
demos window: menu, toolbar, keys, presentation mode, exports, scenes),
``frames`` (animation export), ``menu`` (the main window's Demos menu) and
``launch`` (``--demo NAME`` and ``--list-demos``).
"""
