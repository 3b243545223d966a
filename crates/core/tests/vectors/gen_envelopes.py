#!/usr/bin/env python3
"""Writes the named envelope vectors under tests/vectors/envelope/ with Python
`cryptography` only (never with sealpost code), in the style of age's testkit:
one file per vector, a header of `name: value` lines, a blank line, then the
exact wire text (`ciphertext` value or JWE compact serialization).

Header lines:
  expect:      success | malformed | decrypt_failed | credentials_invalid |
               session_mismatch | unsupported
  key:         rsa2048 | rsa3072 | rsa4096 (private key in ../keys/<key>.pkcs8.pem)
  algorithm:   RSA-OAEP-256+AES-256-GCM | JWE
  session:     the session id the agent expects (JWE only)
  credentials: the JSON object the agent must get back (success only)
  comment:     what the vector is about

Regenerating makes new random envelopes (same expectations). Pass vector names
as arguments to (re)write only those.
"""
import base64, hashlib, json, os, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "envelope")
LINKAUTH = "RSA-OAEP-256+AES-256-GCM"
SID = hashlib.sha256(b"ABCD1234").hexdigest()
OTHER_SID = hashlib.sha256(b"WXYZ9876").hexdigest()

KEYS = {
    b: serialization.load_pem_private_key(open(os.path.join(HERE, "keys", f"rsa{b}.pkcs8.pem"), "rb").read(), None)
    for b in (2048, 3072, 4096)
}
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)

CREDS = {"username": "alice@example.com", "password": "correct horse battery staple"}
CREDS_UNICODE = {"api_key": "sk_live_0123456789", "note": "p\u00e4ss \"w\u00f6rd\" \\ \u2603 \U0001F511\n\ttab", "empty": ""}


def b64(b):
    return base64.b64encode(b).decode()


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def oaep(hash_=hashes.SHA256, label=None):
    return padding.OAEP(mgf=padding.MGF1(algorithm=hash_()), algorithm=hash_(), label=label)


def flip(b, i, bit=0):
    b = bytearray(b)
    b[i] ^= 1 << bit
    return bytes(b)


def parts(pub, plaintext, aes_key=None, iv=None, wrap=None):
    aes_key = aes_key if aes_key is not None else os.urandom(32)
    iv = iv if iv is not None else os.urandom(12)
    ct = AESGCM(aes_key).encrypt(iv, plaintext, None) if len(aes_key) == 32 else AESGCM(os.urandom(32)).encrypt(iv, plaintext, None)
    wrapped = wrap(aes_key) if wrap else pub.encrypt(aes_key, oaep())
    return {"wrapped_key": wrapped, "iv": iv, "ciphertext": ct}


def inner_text(p, order=("wrapped_key", "iv", "ciphertext"), sep=(",", ":")):
    return json.dumps({k: b64(p[k]) for k in order}, separators=sep)


def outer(text):
    return b64(text.encode())


def creds_bytes(c):
    return json.dumps(c, separators=(",", ":"), ensure_ascii=False).encode()


ONLY = set(sys.argv[1:])  # names to (re)write; all when empty


def write(name, expect, key, wire, algorithm=LINKAUTH, comment="", credentials=None, session=None):
    if ONLY and name not in ONLY:
        return
    lines = [f"expect: {expect}", f"key: {key}", f"algorithm: {algorithm}"]
    if session is not None:
        lines.append(f"session: {session}")
    if credentials is not None:
        lines.append("credentials: " + json.dumps(credentials, separators=(",", ":")))
    lines.append(f"comment: {comment}")
    with open(os.path.join(OUT, name), "w") as f:
        f.write("\n".join(lines) + "\n\n" + wire + "\n")


def jwe(pub, plaintext, header, cek=None, iv=None, wrap=None):
    cek = cek if cek is not None else os.urandom(32)
    iv = iv if iv is not None else os.urandom(12)
    h = b64u(json.dumps(header, separators=(",", ":")).encode())
    ek = wrap(cek) if wrap else pub.encrypt(cek, oaep())
    ct_tag = AESGCM(cek).encrypt(iv, plaintext, h.encode("ascii"))
    return [h, b64u(ek), b64u(iv), b64u(ct_tag[:-16]), b64u(ct_tag[-16:])]


def kid(pub):
    der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")


def main():
    os.makedirs(OUT, exist_ok=True)
    if not ONLY:
        for f in os.listdir(OUT):
            os.remove(os.path.join(OUT, f))
    pub = KEYS[2048].public_key()

    # ---- LinkAuth envelope: success
    for b in (2048, 3072, 4096):
        p = parts(KEYS[b].public_key(), creds_bytes(CREDS))
        write(f"linkauth_success_{b}", "success", f"rsa{b}", outer(inner_text(p)), credentials=CREDS,
              comment=f"envelope sealed by Python cryptography to the {b}-bit key")
    p = parts(pub, creds_bytes(CREDS_UNICODE))
    write("linkauth_success_unicode", "success", "rsa2048", outer(inner_text(p)), credentials=CREDS_UNICODE,
          comment="non-ASCII, escapes, newline, empty value")
    p = parts(pub, json.dumps(CREDS, indent=2).encode())
    write("linkauth_success_inner_order_whitespace", "success", "rsa2048",
          outer(inner_text(p, order=("ciphertext", "iv", "wrapped_key"), sep=(", ", ": "))), credentials=CREDS,
          comment="inner JSON in another member order with spaces; credentials JSON pretty-printed")
    p = parts(pub, creds_bytes({"password": "hunter2"}))
    write("linkauth_success_single_field", "success", "rsa2048", outer(inner_text(p)), credentials={"password": "hunter2"},
          comment="one field, as a LinkAuth page sends it")

    # ---- LinkAuth envelope: malformed structure
    good = parts(pub, creds_bytes(CREDS))
    good_outer = outer(inner_text(good))
    write("linkauth_malformed_outer_truncated", "malformed", "rsa2048", good_outer[:-3],
          comment="outer base64 with its last 3 characters cut (length not a multiple of 4)")
    write("linkauth_malformed_outer_not_base64", "malformed", "rsa2048", "!!" + good_outer[2:],
          comment="outer text has characters outside the base64 alphabet")
    write("linkauth_malformed_outer_empty", "malformed", "rsa2048", "", comment="empty ciphertext")
    write("linkauth_malformed_inner_not_json", "malformed", "rsa2048", outer("wrapped_key=abc&iv=def"),
          comment="outer base64 decodes to something that is not JSON")
    write("linkauth_malformed_inner_array", "malformed", "rsa2048",
          outer(json.dumps([b64(good["wrapped_key"]), b64(good["iv"]), b64(good["ciphertext"])])),
          comment="inner JSON is an array, not an object")
    write("linkauth_malformed_inner_truncated_json", "malformed", "rsa2048", outer(inner_text(good)[:-7]),
          comment="inner JSON text cut short")
    for missing in ("wrapped_key", "iv", "ciphertext"):
        d = {k: b64(good[k]) for k in ("wrapped_key", "iv", "ciphertext") if k != missing}
        write(f"linkauth_malformed_missing_{missing}", "malformed", "rsa2048", outer(json.dumps(d)),
              comment=f"inner JSON without `{missing}`")
    dup = '{"wrapped_key":"%s","iv":"%s","ciphertext":"%s","wrapped_key":"%s"}' % (
        b64(good["iv"]), b64(good["iv"]), b64(good["ciphertext"]), b64(good["wrapped_key"]))
    write("linkauth_malformed_duplicate_member", "malformed", "rsa2048", outer(dup),
          comment="`wrapped_key` twice (a wrong value first, the right one last): parsers disagree on which wins, refuse")
    d = {"wrapped_key": b64(good["wrapped_key"]), "iv": 12, "ciphertext": b64(good["ciphertext"])}
    write("linkauth_malformed_iv_not_string", "malformed", "rsa2048", outer(json.dumps(d)), comment="`iv` is a number")
    d = {"wrapped_key": "!!" + b64(good["wrapped_key"])[2:], "iv": b64(good["iv"]), "ciphertext": b64(good["ciphertext"])}
    write("linkauth_malformed_wrapped_key_not_base64", "malformed", "rsa2048", outer(json.dumps(d)),
          comment="`wrapped_key` is not base64")
    d = {"wrapped_key": b64(good["wrapped_key"]), "iv": b64(good["iv"])[:-1], "ciphertext": b64(good["ciphertext"])}
    write("linkauth_malformed_iv_truncated_base64", "malformed", "rsa2048", outer(json.dumps(d)),
          comment="`iv` base64 missing its padding character")
    p = parts(pub, creds_bytes(CREDS), iv=os.urandom(16))
    write("linkauth_malformed_iv_16_bytes", "malformed", "rsa2048", outer(inner_text(p)),
          comment="valid AES-GCM with a 16-byte IV: the envelope only has 12-byte IVs")
    d = {"wrapped_key": b64(good["wrapped_key"]), "iv": b64(good["iv"]), "ciphertext": b64(good["ciphertext"][:15])}
    write("linkauth_malformed_ciphertext_shorter_than_tag", "malformed", "rsa2048", outer(json.dumps(d)),
          comment="`ciphertext` has fewer than the 16 bytes of a GCM tag")
    d = {"wrapped_key": b64(good["iv"]), "iv": b64(good["wrapped_key"]), "ciphertext": b64(good["ciphertext"])}
    write("linkauth_malformed_swapped_iv_wrapped_key", "malformed", "rsa2048", outer(json.dumps(d)),
          comment="`iv` and `wrapped_key` values swapped")
    d = {"wrapped_key": b64(good["wrapped_key"]), "iv": b64(good["ciphertext"]), "ciphertext": b64(good["iv"])}
    write("linkauth_malformed_swapped_iv_ciphertext", "malformed", "rsa2048", outer(json.dumps(d)),
          comment="`iv` and `ciphertext` values swapped")
    d = {"wrapped_key": b64(good["wrapped_key"][:-1]), "iv": b64(good["iv"]), "ciphertext": b64(good["ciphertext"])}
    write("linkauth_decrypt_failed_wrapped_key_short", "decrypt_failed", "rsa2048", outer(json.dumps(d)),
          comment="`wrapped_key` one byte shorter than the modulus")

    # ---- LinkAuth envelope: cryptographic failures (one opaque error)
    for part, idx in (("wrapped_key", 100), ("iv", 5), ("ciphertext", 3), ("tag", -1)):
        q = dict(good)
        field = "ciphertext" if part == "tag" else part
        q[field] = flip(q[field], idx % len(q[field]))
        write(f"linkauth_decrypt_failed_flip_{part}", "decrypt_failed", "rsa2048", outer(inner_text(q)),
              comment=f"one bit flipped in the {part}")
    p = parts(OTHER_KEY.public_key(), creds_bytes(CREDS))
    write("linkauth_decrypt_failed_other_key", "decrypt_failed", "rsa2048", outer(inner_text(p)),
          comment="sealed to another 2048-bit key")
    p = parts(pub, creds_bytes(CREDS), wrap=lambda k: pub.encrypt(k, oaep(hashes.SHA1)))
    write("linkauth_decrypt_failed_oaep_sha1", "decrypt_failed", "rsa2048", outer(inner_text(p)),
          comment="AES key wrapped with RSA-OAEP SHA-1 instead of SHA-256")
    p = parts(pub, creds_bytes(CREDS), wrap=lambda k: pub.encrypt(k, oaep(label=b"sealpost")))
    write("linkauth_decrypt_failed_oaep_label", "decrypt_failed", "rsa2048", outer(inner_text(p)),
          comment="AES key wrapped with a non-empty OAEP label")
    p = parts(pub, creds_bytes(CREDS), wrap=lambda k: pub.encrypt(k, padding.PKCS1v15()))
    write("linkauth_decrypt_failed_pkcs1v15", "decrypt_failed", "rsa2048", outer(inner_text(p)),
          comment="AES key wrapped with RSA PKCS#1 v1.5")
    p = parts(pub, creds_bytes(CREDS), aes_key=os.urandom(16))
    write("linkauth_decrypt_failed_aes128_key", "decrypt_failed", "rsa2048", outer(inner_text(p)),
          comment="wrapped key is 16 bytes, not the 32 of AES-256")
    k = os.urandom(32)
    iv = os.urandom(12)
    p = {"wrapped_key": pub.encrypt(k, oaep()), "iv": iv, "ciphertext": AESGCM(k).encrypt(iv, creds_bytes(CREDS), b"aad")}
    write("linkauth_decrypt_failed_gcm_with_aad", "decrypt_failed", "rsa2048", outer(inner_text(p)),
          comment="GCM computed with AAD: the envelope has none")

    # ---- LinkAuth envelope: decrypts, but the plaintext is not credentials
    for name, pt, what in (
        ("number_value", b'{"password":1234}', "a number value"),
        ("null_value", b'{"password":null}', "a null value"),
        ("nested_object", b'{"password":{"v":"x"}}', "a nested object"),
        ("array", b'["alice","secret"]', "an array"),
        ("not_json", b"alice:secret", "not JSON"),
        ("not_utf8", b'{"password":"\xff\xfe"}', "invalid UTF-8"),
    ):
        p = parts(pub, pt)
        write(f"linkauth_credentials_invalid_{name}", "credentials_invalid", "rsa2048", outer(inner_text(p)),
              comment=f"decrypts fine but the plaintext is {what}")

    # ---- JWE: success
    for b in (2048, 3072, 4096):
        kp = KEYS[b].public_key()
        hdr = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": kid(kp), "sid": SID}
        write(f"jwe_success_{b}", "success", f"rsa{b}", ".".join(jwe(kp, creds_bytes(CREDS), hdr)),
              algorithm="JWE", session=SID, credentials=CREDS, comment=f"JWE compact to the {b}-bit key")
    hdr = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": kid(pub), "sid": SID}
    good = jwe(pub, creds_bytes(CREDS_UNICODE), hdr)
    write("jwe_success_unicode", "success", "rsa2048", ".".join(good), algorithm="JWE", session=SID,
          credentials=CREDS_UNICODE, comment="non-ASCII credentials")
    hdr2 = {"sid": SID, "kid": kid(pub), "enc": "A256GCM", "alg": "RSA-OAEP-256", "cty": "json"}
    write("jwe_success_header_order_extra_member", "success", "rsa2048", ".".join(jwe(pub, creds_bytes(CREDS), hdr2)),
          algorithm="JWE", session=SID, credentials=CREDS, comment="header members in another order plus a non-critical `cty`")

    # ---- JWE: session binding
    hdr_o = dict(hdr, sid=OTHER_SID)
    write("jwe_session_mismatch_other_sid", "session_mismatch", "rsa2048", ".".join(jwe(pub, creds_bytes(CREDS), hdr_o)),
          algorithm="JWE", session=SID, comment="valid JWE for another session")
    hdr_n = {k: v for k, v in hdr.items() if k != "sid"}
    write("jwe_session_mismatch_no_sid", "session_mismatch", "rsa2048", ".".join(jwe(pub, creds_bytes(CREDS), hdr_n)),
          algorithm="JWE", session=SID, comment="valid JWE without `sid`")

    # ---- JWE: malformed / unsupported
    g = jwe(pub, creds_bytes(CREDS), hdr)
    write("jwe_malformed_four_parts", "malformed", "rsa2048", ".".join(g[:4]), algorithm="JWE", session=SID,
          comment="four dot-separated parts")
    write("jwe_malformed_six_parts", "malformed", "rsa2048", ".".join(g + [""]), algorithm="JWE", session=SID,
          comment="six dot-separated parts")
    write("jwe_malformed_header_not_json", "malformed", "rsa2048", ".".join([b64u(b"alg=RSA-OAEP-256")] + g[1:]),
          algorithm="JWE", session=SID, comment="protected header is not JSON")
    write("jwe_malformed_header_not_base64url", "malformed", "rsa2048", ".".join(["e30+"] + g[1:]),
          algorithm="JWE", session=SID, comment="protected header uses a character outside base64url")
    write("jwe_malformed_padded_base64", "malformed", "rsa2048", ".".join(g[:2] + [g[2] + "=="] + g[3:]),
          algorithm="JWE", session=SID, comment="iv part with base64 padding, which JWS/JWE forbid")
    write("jwe_malformed_iv_16_bytes", "malformed", "rsa2048",
          ".".join(jwe(pub, creds_bytes(CREDS), hdr, iv=os.urandom(16))), algorithm="JWE", session=SID,
          comment="A256GCM with a 16-byte IV")
    write("jwe_malformed_tag_short", "malformed", "rsa2048", ".".join(g[:4] + [b64u(base64.urlsafe_b64decode(g[4] + "==")[:12])]),
          algorithm="JWE", session=SID, comment="12-byte authentication tag")
    for name, h, what in (
        ("alg_rsa_oaep_sha1", dict(hdr, alg="RSA-OAEP"), "alg RSA-OAEP (SHA-1)"),
        ("alg_dir", dict(hdr, alg="dir"), "alg dir"),
        ("enc_a128gcm", dict(hdr, enc="A128GCM"), "enc A128GCM"),
        ("zip_def", dict(hdr, zip="DEF"), "compressed payload (zip DEF)"),
        ("crit", dict(hdr, crit=["exp"], exp=1), "a critical header extension"),
    ):
        wrap = (lambda k: pub.encrypt(k, oaep(hashes.SHA1))) if name == "alg_rsa_oaep_sha1" else None
        write(f"jwe_unsupported_{name}", "unsupported", "rsa2048", ".".join(jwe(pub, creds_bytes(CREDS), h, wrap=wrap)),
              algorithm="JWE", session=SID, comment=f"{what}: not what Sealpost speaks")

    # A header that is a JSON array holding alg, enc, kid, sid in order (correctly
    # encrypted with that text as AAD): JOSE headers are objects.
    h = b64u(json.dumps(["RSA-OAEP-256", "A256GCM", kid(pub), SID]).encode())
    cek, iv = os.urandom(32), os.urandom(12)
    ct_tag = AESGCM(cek).encrypt(iv, creds_bytes(CREDS), h.encode())
    write("jwe_malformed_header_array", "malformed", "rsa2048",
          ".".join([h, b64u(pub.encrypt(cek, oaep())), b64u(iv), b64u(ct_tag[:-16]), b64u(ct_tag[-16:])]),
          algorithm="JWE", session=SID, comment="protected header is a JSON array, not an object")
    # `sid` twice: the other session first, ours last (correctly encrypted).
    h = b64u(('{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"%s","sid":"%s","sid":"%s"}' % (kid(pub), OTHER_SID, SID)).encode())
    cek, iv = os.urandom(32), os.urandom(12)
    ct_tag = AESGCM(cek).encrypt(iv, creds_bytes(CREDS), h.encode())
    write("jwe_malformed_duplicate_sid", "malformed", "rsa2048",
          ".".join([h, b64u(pub.encrypt(cek, oaep())), b64u(iv), b64u(ct_tag[:-16]), b64u(ct_tag[-16:])]),
          algorithm="JWE", session=SID, comment="`sid` member twice: RFC 7515 section 4 allows reject or last-wins; Sealpost rejects")

    # ---- JWE: cryptographic failures
    for i, part in ((1, "encrypted_key"), (2, "iv"), (3, "ciphertext"), (4, "tag")):
        raw = base64.urlsafe_b64decode(g[i] + "=" * (-len(g[i]) % 4))
        q = list(g)
        q[i] = b64u(flip(raw, len(raw) // 2))
        write(f"jwe_decrypt_failed_flip_{part}", "decrypt_failed", "rsa2048", ".".join(q), algorithm="JWE", session=SID,
              comment=f"one bit flipped in the {part}")
    # Header bit flip that keeps the header valid JSON with the right sid:
    # change one character of the kid, so only the AAD check can notice.
    hj = json.dumps(hdr, separators=(",", ":"))
    i = hj.index('"kid":"SHA256:') + len('"kid":"SHA256:') + 2
    c = hj[i]
    flipped = chr(ord(c) ^ 1) if chr(ord(c) ^ 1).isalnum() else chr(ord(c) ^ 2)
    q = list(g)
    q[0] = b64u((hj[:i] + flipped + hj[i + 1:]).encode())
    write("jwe_decrypt_failed_flip_header", "decrypt_failed", "rsa2048", ".".join(q), algorithm="JWE", session=SID,
          comment="one bit flipped in a kid character of the protected header (AAD): still valid JSON, same sid")
    q = list(g)
    q[0] = b64u(json.dumps(hdr, separators=(", ", ": ")).encode())
    write("jwe_decrypt_failed_header_reencoded", "decrypt_failed", "rsa2048", ".".join(q), algorithm="JWE", session=SID,
          comment="same header members re-encoded with spaces: the AAD is the encoded header, so it no longer matches")
    write("jwe_decrypt_failed_other_key", "decrypt_failed", "rsa2048",
          ".".join(jwe(OTHER_KEY.public_key(), creds_bytes(CREDS), hdr)), algorithm="JWE", session=SID,
          comment="sealed to another 2048-bit key")
    write("jwe_credentials_invalid_number_value", "credentials_invalid", "rsa2048",
          ".".join(jwe(pub, b'{"password":1234}', hdr)), algorithm="JWE", session=SID,
          comment="decrypts fine but a credential value is a number")


if __name__ == "__main__":
    main()
