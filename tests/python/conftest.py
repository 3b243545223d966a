"""Fixtures for the Python interop tests: keys, the built bundles and the native
sealpost-core helpers (`cargo xtask interop-open` / `interop-seal`)."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(os.environ.get("SEALPOST_ROOT", Path(__file__).resolve().parents[2]))
DIST = Path(os.environ.get("SEALPOST_DIST", ROOT / "dist"))
BUNDLES = ("seal", "full")


@dataclass(frozen=True)
class AgentKey:
    private: rsa.RSAPrivateKey
    pkcs8_pem: bytes
    wire: str  # base64 DER SPKI


def make_key(bits: int) -> AgentKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    spki = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return AgentKey(private, pem, base64.b64encode(spki).decode())


@pytest.fixture(scope="session", params=[2048, 3072, 4096], ids=lambda b: f"rsa{b}")
def agent_key(request) -> AgentKey:
    return make_key(request.param)


@pytest.fixture(scope="session")
def key2048() -> AgentKey:
    return make_key(2048)


def xtask_bin() -> Path:
    env = os.environ.get("SEALPOST_XTASK_BIN")
    if env and Path(env).exists():
        return Path(env)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    path = target / "debug" / "xtask"
    if not path.exists():
        pytest.fail(f"{path} missing: run `cargo build -p xtask` (or `cargo xtask test`)")
    return path


class NativeError(Exception):
    def __init__(self, code: str | None, stderr: str):
        super().__init__(stderr)
        self.code = code


def _coded(stderr: str) -> str | None:
    m = re.search(r"\b(ERR_[A-Z0-9_]+)\b", stderr)
    return m.group(1) if m else None


def native_open(tmp_path: Path, key: AgentKey, ciphertext: str, algorithm: str | None = None,
                session_id: str | None = None) -> dict:
    key_file = tmp_path / "agent.pem"
    key_file.write_bytes(key.pkcs8_pem)
    key_file.chmod(0o600)
    env_file = tmp_path / "envelope.txt"
    env_file.write_text(ciphertext)
    args = [str(xtask_bin()), "interop-open", "--key", str(key_file), "--envelope", str(env_file)]
    if algorithm:
        args += ["--algorithm", algorithm]
    if session_id is not None:
        args += ["--session-id", session_id]
    r = subprocess.run(args, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise NativeError(_coded(r.stderr), r.stderr)
    return json.loads(r.stdout)


def native_seal(tmp_path: Path, wire: str, creds: dict, jwe_session_id: str | None = None) -> str:
    (tmp_path / "pub.txt").write_text(wire)
    (tmp_path / "creds.json").write_text(json.dumps(creds))
    args = [str(xtask_bin()), "interop-seal", "--public-key", str(tmp_path / "pub.txt"),
            "--credentials", str(tmp_path / "creds.json")]
    if jwe_session_id is not None:
        args += ["--jwe", jwe_session_id]
    r = subprocess.run(args, capture_output=True, text=True, check=True)
    return r.stdout.strip()


def wasm_seal(tmp_path: Path, bundle: str, wire: str, creds: dict, jwe_session_id: str | None = None) -> str:
    bundle_dir = DIST / bundle
    if not (bundle_dir / "sealpost_wasm_bg.wasm").exists():
        pytest.fail(f"{bundle_dir} is not built: run `cargo xtask build`")
    (tmp_path / "pub.txt").write_text(wire)
    (tmp_path / "creds.json").write_text(json.dumps(creds))
    args = ["node", str(Path(__file__).parent / "seal_with_wasm.mjs"), str(bundle_dir),
            str(tmp_path / "pub.txt"), str(tmp_path / "creds.json")]
    if jwe_session_id is not None:
        args.append(jwe_session_id)
    r = subprocess.run(args, capture_output=True, text=True, check=True)
    return r.stdout.strip()
