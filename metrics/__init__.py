"""metrics: the scorers of Chinese GEC (ChERRANT, MaxMatch) as a pure library.

It imports nothing from `harness`. `__version__` is the version of the cgec-harness
distribution, which ships `metrics` and `harness` together: score signatures name it, and a
constant (not the installed package's metadata) makes a wheel and an uninstalled checkout
write the same signature.
"""

__version__ = "0.1.0"
