"""The project's own errors: each carries one sentence a user can act on."""


class VbguiError(Exception):
    """Base of every error vbgui reports to a user (CLI exit status 2, GUI message box)."""


class RecordingError(VbguiError):
    """A recording file is missing, unreadable or holds data that cannot be fitted."""


class NamingError(RecordingError):
    """A readable file that does not use the expected names (or lacks the bin width):
    the user can say which variable or column plays which role, or give dt."""


class PresetError(VbguiError):
    """A model preset is unknown, not valid TOML, or holds a bad value."""


class ResultFileError(VbguiError):
    """A result file cannot be written or read back."""


class OutputFileError(ResultFileError):
    """An output file must not be written: it exists (and --force was not given), it is one of the
    inputs, or its folder is missing."""


class FitError(VbguiError):
    """A fit cannot start or produced no usable result."""


class ComparisonError(VbguiError):
    """Models that cannot be compared (too few, or scoring the data on different scales)."""
