"""Packaging for saltext-scenario.

The Salt-facing folders (_modules, _states, _runners, _output) live at the
repository root so that a file_roots/gitfs install can `saltutil.sync_all`
them. For pip installs they are mapped into the `saltext.scenario` package,
and `saltext.scenario:loader_dirs` tells Salt's loader where they are.
"""
from setuptools import setup

SALT_DIRS = ["_modules", "_states", "_runners", "_output"]

setup(
    name="saltext-scenario",
    version="0.1.0",
    description="Test-driven deployment for SaltStack: Gherkin scenarios run across a pinned fleet",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=[
        "saltext.scenario",
        "saltext.scenario.engine",
        "saltext.scenario.sandbox",
        *[f"saltext.scenario.{d}" for d in SALT_DIRS],
    ],
    package_dir={
        "saltext.scenario": "saltext/scenario",
        "saltext.scenario.engine": "engine",
        "saltext.scenario.sandbox": "sandbox",
        **{f"saltext.scenario.{d}": d for d in SALT_DIRS},
    },
    package_data={"saltext.scenario.sandbox": ["*.yaml"]},
    install_requires=[
        "salt==3008.4",
        "pyyaml",
        "gherkin-official>=37,<40",
    ],
    extras_require={
        "tests": [
            "pytest>=8",
            "pytest-salt-factories==1.0.5",
        ],
    },
    entry_points={
        "salt.loader": ["saltext.scenario = saltext.scenario:loader_dirs"],
        "console_scripts": ["scenario-sandbox = saltext.scenario.sandbox.cli:main"],
    },
)
