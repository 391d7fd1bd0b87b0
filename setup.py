"""The compiled alignment kernel, metrics._kernel (plain C against the CPython API; see
docs/speed.md). Everything else about the package is in pyproject.toml.

The extension is optional: without a compiler the install still succeeds and metrics falls
back to its pure-Python kernel (metrics/kernel.py says which one runs).
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
        )
    ]
)
