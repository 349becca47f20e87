"""Install the top-level folders core/, backends/ and tui/ as timeloom.core,
timeloom.backends and timeloom.tui.

All metadata lives in pyproject.toml; this file only computes the package list, so a
new sub-folder with an ``__init__.py`` can never be left out of the wheel.
"""

from setuptools import find_packages, setup

ROOTS = ("core", "backends", "tui")

setup(
    package_dir={f"timeloom.{root}": root for root in ROOTS},
    packages=[
        f"timeloom.{pkg}" for pkg in find_packages(include=[f"{r}*" for r in ROOTS])
    ],
)
