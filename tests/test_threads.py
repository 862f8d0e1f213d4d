"""Defect 1 of issue 11: numba's parallel kernels called from two Python threads at once.

numba's always-available ``workqueue`` layer aborts the interpreter (exit 134) when two threads
enter parallel code together; the window's warm-up and its first demo did exactly that. The
engine serialises parallel calls on that layer. The check runs in a subprocess (an abort would
take pytest down with it), 20 rounds of every parallel kernel in two threads.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent('''
    import threading

    import numpy as np

    from nanotwin_core.builder import build_crystal
    import numba
    from nanotwin_core.refine.size_database import build_size_database
    from nanotwin_core.scattering import compute_histograms, debye_intensity
    from nanotwin_core.structures.library import get_structure

    structure = get_structure("CsPbBr3-alpha")
    crystal = build_crystal(structure, shape="prism", size_ab_nm=1.5, size_c_nm=1.5)
    loose = crystal.without_lattice()
    db = build_size_database(structure, "prism", [(1, 1), (2, 2)], (0.66, 0.587), (1.0, 3.0))
    q = np.linspace(1.0, 3.0, 400)
    errors = []

    def work():
        try:
            for _ in range(20):
                debye_intensity(compute_histograms(crystal), q, method="direct")
                debye_intensity(compute_histograms(loose), q, method="direct")
                db.weighted_sums(np.array([0.5, 0.5]))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    print("layer", numba.threading_layer())
''')


def test_two_threads_on_the_workqueue_layer() -> None:
    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue", NUMBA_NUM_THREADS="2")
    run = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"exit {run.returncode}: {run.stderr[-2000:]}"
    assert "layer workqueue" in run.stdout
