# The cffi extension (out-of-line API mode) is declared here because
# setuptools reads `cffi_modules` only from setup().
from setuptools import setup

setup(cffi_modules=["native/build_ffi.py:ffibuilder", "fairshare/native/build_fill.py:ffibuilder"])
