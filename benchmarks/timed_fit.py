"""The part of a timed worker script (run with ``python -c``) that clocks ``ARGN.fit`` alone: the network's
training, without analysis, rules and encoding. Shared by argn_stopping.py and argn_fit_cpu.py, whose workers
import ``ARGN`` and ``resource`` before it and read ``training`` (CPU seconds per call) after the fit."""

TIMED_ARGN_FIT = r"""
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
training = []
real_fit = ARGN.fit
def timed_fit(self, *args, **kwargs):
    begin = cpu()
    try:
        return real_fit(self, *args, **kwargs)
    finally:
        training.append(cpu() - begin)
ARGN.fit = timed_fit
"""
