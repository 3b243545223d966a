#!/bin/sh
# Regenerates the key fixtures under tests/vectors/keys with openssl and Python
# `cryptography` only (never with sealpost code), and writes the expected
# fingerprints computed by openssl into keys/expected.txt.
# Running it again makes new random keys: re-run gen_envelopes.py afterwards.
set -eu
cd "$(dirname "$0")/keys"
: > expected.txt
for bits in 2048 3072 4096; do
  k=rsa$bits
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:$bits -out $k.pkcs8.pem 2>/dev/null
  openssl pkey -in $k.pkcs8.pem -pubout -out $k.spki.pem
  openssl pkey -in $k.pkcs8.pem -pubout -outform DER -out /tmp/$k.spki.der
  base64 -w0 /tmp/$k.spki.der > $k.spki.b64
  openssl rsa -in $k.pkcs8.pem -RSAPublicKey_out -out $k.pkcs1.pem 2>/dev/null
  long="SHA256:$(openssl dgst -sha256 -binary /tmp/$k.spki.der | base64 -w0 | tr -d '=')"
  short="$(openssl dgst -sha256 -binary /tmp/$k.spki.der | head -c 6 | od -An -tx1 | tr -d ' \n' | sed 's/^\(....\)\(....\)\(....\)$/\1-\2-\3/')"
  echo "$k bits=$bits long=$long short=$short" >> expected.txt
done
# JWK forms (public), written with Python cryptography from the PEM.
python3 - <<'PY'
import base64, json
from cryptography.hazmat.primitives import serialization
def b64u(i):
    b = i.to_bytes((i.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
for bits in (2048, 3072, 4096):
    k = serialization.load_pem_private_key(open(f"rsa{bits}.pkcs8.pem", "rb").read(), None)
    pn = k.public_key().public_numbers()
    jwk = {"kty": "RSA", "n": b64u(pn.n), "e": b64u(pn.e)}
    if bits == 3072:  # a JWK as JOSE libraries export it, with extra members
        jwk.update({"alg": "RSA-OAEP-256", "use": "enc", "kid": "agent-3072", "ext": True, "key_ops": ["encrypt", "wrapKey"]})
    open(f"rsa{bits}.jwk.json", "w").write(json.dumps(jwk, indent=1 if bits == 4096 else None) + "\n")
PY
# Keys that must be refused.
mkdir -p bad
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null | openssl pkey -pubout -outform DER | base64 -w0 > bad/ec_p256.spki.b64
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null | openssl pkey -pubout > bad/ec_p256.spki.pem
openssl genpkey -algorithm ED25519 2>/dev/null | openssl pkey -pubout -outform DER | base64 -w0 > bad/ed25519.spki.b64
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out /tmp/rsa1024.pem 2>/dev/null
cp /tmp/rsa1024.pem bad/rsa1024.pkcs8.pem
openssl pkey -in /tmp/rsa1024.pem -pubout -outform DER | base64 -w0 > bad/rsa1024.spki.b64
openssl rsa -in /tmp/rsa1024.pem -RSAPublicKey_out -out bad/rsa1024.pkcs1.pem 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_keygen_pubexp:3 -out /tmp/rsa2048e3.pem 2>/dev/null
cp /tmp/rsa2048e3.pem bad/rsa2048_e3.pkcs8.pem
openssl pkey -in /tmp/rsa2048e3.pem -pubout -outform DER | base64 -w0 > bad/rsa2048_e3.spki.b64
openssl pkey -in /tmp/rsa2048e3.pem -pubout > bad/rsa2048_e3.spki.pem
# The 2048-bit SPKI under a wrong PEM label.
sed 's/PUBLIC KEY/CERTIFICATE/' rsa2048.spki.pem > bad/rsa2048_wrong_label.pem
python3 - <<'PY'
import base64, json
from cryptography.hazmat.primitives import serialization
def b64u(i):
    b = i.to_bytes((i.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
for src, dst in (("/tmp/rsa1024.pem", "bad/rsa1024.jwk.json"), ("/tmp/rsa2048e3.pem", "bad/rsa2048_e3.jwk.json")):
    k = serialization.load_pem_private_key(open(src, "rb").read(), None)
    pn = k.public_key().public_numbers()
    open(dst, "w").write(json.dumps({"kty": "RSA", "n": b64u(pn.n), "e": b64u(pn.e)}) + "\n")
# EC JWK (kty EC) of the P-256 key above.
ec = serialization.load_pem_public_key(open("bad/ec_p256.spki.pem", "rb").read())
n = ec.public_numbers()
open("bad/ec_p256.jwk.json", "w").write(json.dumps({"kty": "EC", "crv": "P-256", "x": b64u(n.x).rjust(43, "A"), "y": b64u(n.y).rjust(43, "A")}) + "\n")
PY
python3 ../gen_keys_extra.py
rm -f /tmp/rsa1024.pem /tmp/rsa2048e3.pem /tmp/rsa*.spki.der
