"""pip install --no-build-isolation ./tools/python: builds the extension with the project's CMake
(the same library the CLI links) and installs the nspbert package. Offline: it needs only
Debian's setuptools, pybind11-dev and the build packages tools/setup.sh installs."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


class CMakeBuild(build_ext):
    """Configures the repository with CMake (no tests) and builds only the extension target."""

    def build_extension(self, ext):
        build_dir = Path(os.environ.get("NSPBERT_PIP_BUILD_DIR", ROOT / "build-pip"))
        subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                        "-DNSPBERT_TESTS=OFF", f"-DPython_EXECUTABLE={sys.executable}"], check=True)
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "nspbert_python", "-j", str(os.cpu_count() or 1)],
                       check=True)
        built = next((build_dir / "python" / "nspbert").glob("_nspbert*.so"))
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, target)


setup(
    name="nspbert",
    version="0.1",
    description="BERT-family encoders on the CPU and NSP-BERT zero-shot classification (C++ engine)",
    packages=["nspbert"],
    package_data={"nspbert": ["__init__.pyi", "py.typed"]},
    ext_modules=[Extension("nspbert._nspbert", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.8",
    install_requires=["numpy"],
    zip_safe=False,
)
