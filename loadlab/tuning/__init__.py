"""Worker-count tuning, the pure parts: no processes, no network, only arithmetic on measurements.

A sweep measures many configurations (server × workers × threads × DB pool). For each one,
`search` finds its capacity: the highest arrival rate that still meets the SLO, stepping up then
bisecting, one measured step at a time so an interrupted sweep can resume. `model` sets a queueing
model's ceiling beside each capacity and names the limit that binds (threads, pool, cores...),
flagging a measurement far below it as a hidden limit. `usl` fits the Universal Scalability Law
to throughput against worker count and says whether more workers than measured would help.
`recommend` picks per target and scenario the best configuration and the smallest one nearly as
good, beside the folklore worker counts. `comparison` tells whether a second run regressed against
a first, beyond a threshold and beyond the noise between runs (`resample`: block bootstrap, repeat
test, this machine's noise floor, Benjamini–Hochberg; `compare`: a figure's verdict). `usl` and
the comparison's statistics import SciPy (and arch), inside their functions.
"""
