"""The compiled kernels (plain C against the CPython API; see docs/speed.md): metrics._kernel,
the alignment kernel, and metrics._thulac, THULAC's tagger. Everything else about the package
is in pyproject.toml.

The extensions are optional: without a compiler the install still succeeds and metrics falls
back to its pure-Python kernels (metrics/kernel.py says which ones run).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "metrics._kernel",
            sources=["metrics/_kernel.c"],
            # Costs are IEEE doubles added in the Python kernel's order: no fast-math, no contraction.
            extra_compile_args=["-O2", "-std=c99", "-ffp-contract=off"],
            optional=True,
        ),
        # Integer scores only: nothing depends on float evaluation, -O3 is safe (and vectorises).
        Extension("metrics._thulac", sources=["metrics/_thulac.c"], extra_compile_args=["-O3", "-std=c99"],
                  optional=True),
    ]
)
