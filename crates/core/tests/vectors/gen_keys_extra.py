#!/usr/bin/env python3
"""Extra key fixtures derived from keys/rsa2048.pkcs8.pem (run from keys/ by
gen_keys.sh, or alone from the vectors/ directory). Python `cryptography` and
hand-built DER only, never sealpost code."""
import base64, json, os
from cryptography.hazmat.primitives import serialization

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "keys"))


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, body):
    return bytes([tag]) + der_len(len(body)) + body


def der_int(i):
    b = i.to_bytes((i.bit_length() + 7) // 8 or 1, "big")
    if b[0] & 0x80:
        b = b"\x00" + b
    return tlv(0x02, b)


RSA_OID = bytes.fromhex("06092a864886f70d010101")

k = serialization.load_pem_private_key(open("rsa2048.pkcs8.pem", "rb").read(), None)
# The same 2048-bit key as a PKCS#1 `RSA PRIVATE KEY` PEM.
open("rsa2048.pkcs1.key.pem", "wb").write(
    k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
pn = k.public_key().public_numbers()
rsapub = tlv(0x30, der_int(pn.n) + der_int(pn.e))
# SPKI whose AlgorithmIdentifier omits the NULL parameters (RFC 3279 requires NULL).
spki_noparams = tlv(0x30, tlv(0x30, RSA_OID) + tlv(0x03, b"\x00" + rsapub))
open("bad/rsa2048_spki_no_null_params.b64", "w").write(base64.b64encode(spki_noparams).decode())
# Canonical SPKI followed by two junk bytes.
spki = k.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
open("bad/rsa2048_spki_trailing_bytes.b64", "w").write(base64.b64encode(spki + b"\x00\x00").decode())
# Synthetic moduli (not products of two primes: the parser only sees n and e).
n8200 = (1 << 8199) | int.from_bytes(os.urandom(1025), "big") % (1 << 8199) | 1
open("bad/rsa8200.jwk.json", "w").write(json.dumps({"kty": "RSA", "n": b64u(n8200.to_bytes(1025, "big")), "e": "AQAB"}) + "\n")
spki8200 = tlv(0x30, tlv(0x30, RSA_OID + b"\x05\x00") + tlv(0x03, b"\x00" + tlv(0x30, der_int(n8200) + der_int(65537))))
open("bad/rsa8200.spki.b64", "w").write(base64.b64encode(spki8200).decode())
neven = pn.n ^ 1
open("bad/rsa2048_even_modulus.jwk.json", "w").write(json.dumps({"kty": "RSA", "n": b64u(neven.to_bytes(256, "big")), "e": "AQAB"}) + "\n")
