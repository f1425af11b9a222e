"""The engine imports safely from several threads at once (the window warms it up in one thread while a
batch or a fit starts in another)."""
from __future__ import annotations

import subprocess
import sys

RACE = """
import threading, traceback
barrier = threading.Barrier(3)
errors = []
def load(name):
    barrier.wait()
    try:
        __import__(name)
    except Exception:
        errors.append(traceback.format_exc())
names = ("vbgui.core.likelihoods.registry", "vbgui.core.likelihoods", "vbgui.core.elbo")
threads = [threading.Thread(target=load, args=(name,)) for name in names]
for thread in threads: thread.start()
for thread in threads: thread.join()
print("".join(errors))
sys.exit(1 if errors else 0)
"""


def test_the_likelihood_package_and_its_registry_import_from_three_threads_at_once():
    """Before the package stopped importing its registry while it initialised, this deadlock-detected
    (``_DeadlockError``) in about one start in three; each run is a fresh interpreter."""
    for _ in range(8):
        completed = subprocess.run([sys.executable, "-c", "import sys\n" + RACE], capture_output=True, text=True,
                                   timeout=120)
        assert completed.returncode == 0, completed.stdout + completed.stderr
