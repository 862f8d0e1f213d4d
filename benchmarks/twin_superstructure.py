"""Print the per-class superstructure suppression table of CsPbBr3 twin networks.

Run: python benchmarks/twin_superstructure.py   (about 10 s after the first compile)
Heights of I - I0 at the exact R, M, X positions in 1.5-2.2 1/Å relative to the untwinned
crystal (I0: same crystal at zero tilt); I110, I200: integrated fundamentals, relative.
"""

import time

from nanotwin_core.structures.library import get_structure
from nanotwin_core.superstructure import suppression_table

s = get_structure("CsPbBr3-gamma")
A, B, C = "1/2<110>{110}", "1/2<110>{001}", "1/2<001>{110}"
models = [("one 1/2<001>{110} boundary", dict(twins=(C,), boundaries=1)),
          ("1/2<110> network, 3 nm", dict(twins=(A, B), domain_size_nm=3.0)),
          ("mixed network, 3 nm", dict(twins=(A, B, C), domain_size_nm=3.0)),
          ("mixed network, 2 nm", dict(twins=(A, B, C), domain_size_nm=2.0)),
          ("mixed network, 1.5 nm", dict(twins=(A, B, C), domain_size_nm=1.5))]
t = time.time()
rows = suppression_table(s, models)
print(f"{'model':30s} {'R':>6s} {'M':>6s} {'X':>6s} {'total':>6s} {'I110':>6s} {'I200':>6s}")
for r in rows:
    print(f"{r['label']:30s} {r['R']:6.2f} {r['M']:6.2f} {r['X']:6.2f} {r['total']:6.2f} "
          f"{r['I110']:6.3f} {r['I200']:6.3f}")
print(time.time()-t, "s")
