"""Every library function passes its own correctness check, and the checks can fail."""
from __future__ import annotations

import copy
import importlib

import pytest

from sfs.faas.functions import NAME_RE, default_functions_dir, discover

SPECS, PROBLEMS = discover(default_functions_dir())
NAMES = sorted(SPECS)
# The large inputs of these take seconds to check; small and medium say as much.
SIZES = ("small", "medium")


def _module(name):
    return importlib.import_module(f"workloads.functions.{name}")


def test_library_has_at_least_eight_valid_functions():
    assert not PROBLEMS
    assert len(NAMES) >= 8
    assert {"fib", "float_ops", "matmul", "json_roundtrip", "gzip_compress", "image_resize", "pagerank",
            "markdown_render", "aes_encrypt", "text_stats"} <= set(NAMES)
    assert all(NAME_RE.match(n) for n in NAMES)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", SIZES)
def test_handler_passes_its_check(name, size):
    module = _module(name)
    event = module.make_event(size, seed=1)
    assert module.make_event(size, seed=1) == event  # deterministic
    result = module.handler(copy.deepcopy(event))
    assert module.check(event, result)


def _corrupt(value):
    """The same result with one number or string changed, somewhere deep inside."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value[:-1] + ("0" if value[-1:] != "0" else "1") if value else "x"
    if isinstance(value, list):
        return [_corrupt(value[0])] + value[1:] if value else [0]
    if isinstance(value, dict):
        out = dict(value)
        key = sorted(k for k in out if out[k] is not None)[0]
        out[key] = _corrupt(out[key])
        return out
    return value


@pytest.mark.parametrize("name", NAMES)
def test_check_rejects_a_corrupted_result(name):
    module = _module(name)
    event = module.make_event("small")
    result = module.handler(copy.deepcopy(event))
    assert not module.check(event, _corrupt(result))


def test_aes_matches_fips197_and_inverts():
    aes = _module("aes_encrypt")
    key = bytes(range(16))
    block = bytes.fromhex("00112233445566778899aabbccddeeff")
    assert aes.encrypt_block(block, aes.expand_key(key)).hex() == "69c4e0d86a7b0430d8cdb78070b4c55a"
    assert aes.SBOX[0x00] == 0x63 and aes.SBOX[0x53] == 0xED  # FIPS-197 figure 7
    data = bytes(range(40))
    nonce = b"\x01" * 8
    assert aes.ctr_crypt(aes.ctr_crypt(data, key, nonce), key, nonce) == data
    with pytest.raises(ValueError):
        aes.expand_key(b"short")


def test_tenants_are_registered_in_the_modules():
    assert SPECS["fib"].tenant == "alice" and SPECS["pagerank"].tenant == "carol"
    assert all(spec.description for spec in SPECS.values())
