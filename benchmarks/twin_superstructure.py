"""Print the superstructure table of CsPbBr3 twin networks: Bragg, diffuse and at-position heights.

Run: python benchmarks/twin_superstructure.py   (about 30 s on 2 cores after the first compile)
9 x 10 nm CsPbBr3-gamma prisms, B of the paper's Table 1, 1.5-2.2 1/Å; random networks as exact
ensemble averages (docs/internals.md, "Bragg and diffuse").
"""

import time

from nanotwin_core.demos import default_adp
from nanotwin_core.structures.library import get_structure
from nanotwin_core.superstructure import format_rows, superstructure_rows

s = get_structure("CsPbBr3-gamma")
A, B, C = "1/2<110>{110}", "1/2<110>{001}", "1/2<001>{110}"
models = [("untwinned", {}),
          ("one 1/2<001>{110} boundary", dict(twins=(C,), boundaries=1)),
          ("1/2<110> network, 3 nm", dict(twins=(A, B), domain_size_nm=3.0, ensemble=True)),
          ("mixed network, 3 nm", dict(twins=(A, B, C), domain_size_nm=3.0, ensemble=True)),
          ("mixed network, 2 nm", dict(twins=(A, B, C), domain_size_nm=2.0, ensemble=True)),
          ("mixed network, 1.5 nm", dict(twins=(A, B, C), domain_size_nm=1.5, ensemble=True))]
t = time.time()
rows = superstructure_rows(s, models, size_ab_nm=9.0, size_c_nm=10.0, b_iso=default_adp(s))
print(format_rows(rows))
print(f"{time.time() - t:.1f} s")
