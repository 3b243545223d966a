"""Python `cryptography` as the second implementation (docs/protocol.md, "The envelope"):
it opens what the WASM bundles and native sealpost-core seal, and sealpost-core
opens what it seals."""

from __future__ import annotations

import base64
import json
import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conftest import BUNDLES, AgentKey, NativeError, native_open, native_seal, wasm_seal

CREDS = {"username": "alice", "password": "p\u00e4ss \U0001f511 \"w0rd\"\n", "note": ""}
SID = "9c1e" * 16
OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


# --- the envelope, written from the spec with Python `cryptography` -----------

def py_open(key: AgentKey, ciphertext: str) -> dict:
    inner = json.loads(base64.b64decode(ciphertext, validate=True))
    assert set(inner) == {"wrapped_key", "iv", "ciphertext"}
    aes_key = key.private.decrypt(base64.b64decode(inner["wrapped_key"], validate=True), OAEP)
    assert len(aes_key) == 32
    iv = base64.b64decode(inner["iv"], validate=True)
    assert len(iv) == 12
    plain = AESGCM(aes_key).decrypt(iv, base64.b64decode(inner["ciphertext"], validate=True), None)
    return json.loads(plain)


def py_seal(key: AgentKey, creds: dict) -> str:
    aes_key, iv = AESGCM.generate_key(256), os.urandom(12)
    ct = AESGCM(aes_key).encrypt(iv, json.dumps(creds).encode(), None)
    wrapped = key.private.public_key().encrypt(aes_key, OAEP)
    inner = {"wrapped_key": base64.b64encode(wrapped).decode(), "iv": base64.b64encode(iv).decode(),
             "ciphertext": base64.b64encode(ct).decode()}
    return base64.b64encode(json.dumps(inner).encode()).decode()


def py_open_jwe(key: AgentKey, jwe: str) -> tuple[dict, dict]:
    h, ek, iv, ct, tag = jwe.split(".")
    header = json.loads(b64url_decode(h))
    assert header["alg"] == "RSA-OAEP-256" and header["enc"] == "A256GCM"
    cek = key.private.decrypt(b64url_decode(ek), OAEP)
    plain = AESGCM(cek).decrypt(b64url_decode(iv), b64url_decode(ct) + b64url_decode(tag), h.encode("ascii"))
    return header, json.loads(plain)


def py_seal_jwe(key: AgentKey, creds: dict, sid: str) -> str:
    h = b64url(json.dumps({"alg": "RSA-OAEP-256", "enc": "A256GCM", "sid": sid}).encode())
    cek, iv = AESGCM.generate_key(256), os.urandom(12)
    sealed = AESGCM(cek).encrypt(iv, json.dumps(creds).encode(), h.encode("ascii"))
    ek = key.private.public_key().encrypt(cek, OAEP)
    return ".".join([h, b64url(ek), b64url(iv), b64url(sealed[:-16]), b64url(sealed[-16:])])


# --- Python opens what we seal ------------------------------------------------

@pytest.mark.parametrize("bundle", BUNDLES)
def test_python_opens_wasm_seal(tmp_path, agent_key, bundle):
    assert py_open(agent_key, wasm_seal(tmp_path, bundle, agent_key.wire, CREDS)) == CREDS


@pytest.mark.parametrize("bundle", BUNDLES)
def test_python_opens_wasm_jwe(tmp_path, key2048, bundle):
    header, creds = py_open_jwe(key2048, wasm_seal(tmp_path, bundle, key2048.wire, CREDS, SID))
    assert creds == CREDS
    assert header["sid"] == SID and header["kid"].startswith("SHA256:")


def test_python_opens_native_seal(tmp_path, agent_key):
    assert py_open(agent_key, native_seal(tmp_path, agent_key.wire, CREDS)) == CREDS


def test_python_opens_native_jwe(tmp_path, key2048):
    header, creds = py_open_jwe(key2048, native_seal(tmp_path, key2048.wire, CREDS, SID))
    assert creds == CREDS and header["sid"] == SID


# --- sealpost-core opens what Python seals --------------------------------------

def test_native_opens_python_seal(tmp_path, agent_key):
    assert native_open(tmp_path, agent_key, py_seal(agent_key, CREDS)) == CREDS


def test_native_opens_python_jwe(tmp_path, key2048):
    jwe = py_seal_jwe(key2048, CREDS, SID)
    assert native_open(tmp_path, key2048, jwe, algorithm="JWE", session_id=SID) == CREDS
    with pytest.raises(NativeError) as e:
        native_open(tmp_path, key2048, jwe, algorithm="JWE", session_id="0" * 64)
    assert e.value.code == "ERR_JWE_SESSION_MISMATCH"


def test_native_rejects_tampered_python_seal(tmp_path, key2048):
    inner = json.loads(base64.b64decode(py_seal(key2048, CREDS)))
    ct = bytearray(base64.b64decode(inner["ciphertext"]))
    ct[-1] ^= 0x01  # flip a tag bit
    inner["ciphertext"] = base64.b64encode(bytes(ct)).decode()
    with pytest.raises(NativeError) as e:
        native_open(tmp_path, key2048, base64.b64encode(json.dumps(inner).encode()).decode())
    assert e.value.code == "ERR_DECRYPT_FAILED"


def test_native_rejects_python_seal_with_wrong_oaep_hash(tmp_path, key2048):
    """RSA-OAEP with SHA-1 (WebCrypto's other common choice) must not open: one opaque error."""
    aes_key, iv = AESGCM.generate_key(256), os.urandom(12)
    sha1 = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    inner = {
        "wrapped_key": base64.b64encode(key2048.private.public_key().encrypt(aes_key, sha1)).decode(),
        "iv": base64.b64encode(iv).decode(),
        "ciphertext": base64.b64encode(AESGCM(aes_key).encrypt(iv, b'{"a":"b"}', None)).decode(),
    }
    with pytest.raises(NativeError) as e:
        native_open(tmp_path, key2048, base64.b64encode(json.dumps(inner).encode()).decode())
    assert e.value.code == "ERR_DECRYPT_FAILED"
