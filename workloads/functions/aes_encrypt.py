"""AES (FIPS-197) written in pure Python, used in CTR mode: CPU-heavy byte work."""
import hashlib
import random

from workloads.functions._params import validate

TENANT = "dave"
DESCRIPTION = "pure-Python AES-CTR encryption"
SIZES = {"small": 1_024, "medium": 16_384, "large": 131_072}
PARAMETERS = {
    "key": {"type": "string", "default": "000102030405060708090a0b0c0d0e0f", "pattern": "[0-9a-f]{32}",
            "description": "AES-128 key, hex"},
    "nonce": {"type": "string", "default": "0001020304050607", "pattern": "[0-9a-f]{16}",
              "description": "CTR nonce, hex"},
    "bytes": {"type": "integer", "default": 1_024, "minimum": 0, "maximum": 1_000_000, "description": "plaintext bytes"},
    "seed": {"type": "integer", "default": 0, "minimum": 0, "maximum": 2_147_483_647, "description": "input generator seed"},
}


def _xtime(b):
    b <<= 1
    return (b ^ 0x11B) & 0xFF if b & 0x100 else b


def _gmul(a, b):
    out = 0
    while b:
        if b & 1:
            out ^= a
        a, b = _xtime(a), b >> 1
    return out


def _make_sbox():
    # S-box = affine transform of the multiplicative inverse in GF(2^8) (FIPS-197 5.1.1).
    inverse = [0] * 256
    for a in range(1, 256):
        for b in range(1, 256):
            if _gmul(a, b) == 1:
                inverse[a] = b
                break
    sbox = []
    for x in inverse:
        y = x
        for shift in range(1, 5):
            y ^= ((x << shift) | (x >> (8 - shift))) & 0xFF
        sbox.append(y ^ 0x63)
    return sbox


SBOX = _make_sbox()
_MUL2 = [_gmul(x, 2) for x in range(256)]
_MUL3 = [_gmul(x, 3) for x in range(256)]


def expand_key(key: bytes) -> list[list[int]]:
    """Round keys as 16-byte lists (FIPS-197 5.2); key of 16, 24 or 32 bytes."""
    nk = len(key) // 4
    if len(key) not in (16, 24, 32):
        raise ValueError(f"AES key must be 16, 24 or 32 bytes, not {len(key)}")
    rounds = nk + 6
    words = [list(key[4 * i:4 * i + 4]) for i in range(nk)]
    rcon = 1
    for i in range(nk, 4 * (rounds + 1)):
        temp = list(words[i - 1])
        if i % nk == 0:
            temp = [SBOX[b] for b in temp[1:] + temp[:1]]
            temp[0] ^= rcon
            rcon = _xtime(rcon)
        elif nk > 6 and i % nk == 4:
            temp = [SBOX[b] for b in temp]
        words.append([a ^ b for a, b in zip(words[i - nk], temp)])
    return [sum(words[4 * r:4 * r + 4], []) for r in range(rounds + 1)]


def encrypt_block(block: bytes, round_keys) -> bytes:
    s = [b ^ k for b, k in zip(block, round_keys[0])]
    last = len(round_keys) - 1
    for r in range(1, last + 1):
        s = [SBOX[b] for b in s]
        # ShiftRows on the column-major state: row i rotates left by i.
        s = [s[4 * ((c + i) % 4) + i] for c in range(4) for i in range(4)]
        if r != last:
            mixed = []
            for c in range(4):
                a0, a1, a2, a3 = s[4 * c:4 * c + 4]
                mixed += [_MUL2[a0] ^ _MUL3[a1] ^ a2 ^ a3, a0 ^ _MUL2[a1] ^ _MUL3[a2] ^ a3,
                          a0 ^ a1 ^ _MUL2[a2] ^ _MUL3[a3], _MUL3[a0] ^ a1 ^ a2 ^ _MUL2[a3]]
            s = mixed
        s = [b ^ k for b, k in zip(s, round_keys[r])]
    return bytes(s)


def ctr_crypt(data: bytes, key: bytes, nonce: bytes) -> bytes:
    """CTR mode: keystream = E(nonce || counter); encryption and decryption are the same."""
    round_keys = expand_key(key)
    out = bytearray()
    for block_no in range(0, (len(data) + 15) // 16):
        stream = encrypt_block(nonce[:8] + block_no.to_bytes(8, "big"), round_keys)
        chunk = data[16 * block_no:16 * block_no + 16]
        out += bytes(a ^ b for a, b in zip(chunk, stream))
    return bytes(out)


def handler(event):
    event = validate(PARAMETERS, event)
    key, nonce = bytes.fromhex(event["key"]), bytes.fromhex(event["nonce"])
    plaintext = random.Random(event["seed"]).randbytes(event["bytes"])
    ciphertext = ctr_crypt(plaintext, key, nonce)
    return {"bytes": len(ciphertext), "ciphertext_sha256": hashlib.sha256(ciphertext).hexdigest(),
            "ciphertext_head": ciphertext[:32].hex()}


def make_event(size="small", seed=0):
    rng = random.Random(1000 + seed)
    return {"key": rng.randbytes(16).hex(), "nonce": rng.randbytes(8).hex(), "bytes": SIZES[size], "seed": seed}


FIPS197_VECTORS = [  # FIPS-197 appendix C.1 (AES-128) and C.3 (AES-256)
    ("000102030405060708090a0b0c0d0e0f", "00112233445566778899aabbccddeeff", "69c4e0d86a7b0430d8cdb78070b4c55a"),
    ("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
     "00112233445566778899aabbccddeeff", "8ea2b7ca516745bfeafc49904b496089"),
]


def check(event, result):
    for key, plain, cipher in FIPS197_VECTORS:
        if encrypt_block(bytes.fromhex(plain), expand_key(bytes.fromhex(key))).hex() != cipher:
            return False
    plaintext = random.Random(event["seed"]).randbytes(event["bytes"])
    head = bytes.fromhex(result["ciphertext_head"])
    # Decrypting (the same CTR operation) must give the plaintext back.
    return (result["bytes"] == len(plaintext)
            and ctr_crypt(head, bytes.fromhex(event["key"]), bytes.fromhex(event["nonce"])) == plaintext[:32])
