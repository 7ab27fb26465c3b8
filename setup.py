"""Ship the project's top-level schemas/ and seeds/ inside the wheel (as cruddur_ops/_defaults/)."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithDefaults(build_py):
    def run(self):
        super().run()
        root = Path(__file__).parent
        for name in ("schemas", "seeds"):
            target = Path(self.build_lib) / "cruddur_ops" / "_defaults" / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(root / name, target)


setup(cmdclass={"build_py": BuildWithDefaults})
