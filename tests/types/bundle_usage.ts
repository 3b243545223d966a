// Type-checked (never run) by tests/node/wasm_types.test.mjs with `tsc --noEmit`:
// the generated declarations of both bundles must type real consent-page code,
// and must reject misuse (each @ts-expect-error fails the check if the types
// were `any` or too loose).
import initSeal, { seal, sealJwe, fingerprint, initSync } from "../../dist/seal/sealpost_wasm.js";
import type { Fingerprint, SealpostError, SealpostErrorCode } from "../../dist/seal/sealpost_wasm.js";
import * as full from "../../dist/full/sealpost_wasm.js";

export async function sealForSession(publicKey: string, apiKey: string, sid: string): Promise<[string, string]> {
  await initSeal();
  const fields: Record<string, string> = { api_key: apiKey };
  const linkauth: string = seal(publicKey, fields);
  const jwe: string = sealJwe(publicKey, fields, sid);
  return [linkauth, jwe];
}

export function showFingerprint(publicKey: string): string {
  const fp: Fingerprint = fingerprint(publicKey);
  const short: string = fp.short;
  const long: string = fp.long;
  // @ts-expect-error fingerprint() is typed, not `any`
  const wrong: number = fingerprint(publicKey);
  // @ts-expect-error no such member
  fp.medium;
  return `${short} ${long} ${wrong}`;
}

export function misuse(publicKey: string): void {
  // @ts-expect-error credentials are strings only
  seal(publicKey, { api_key: 42 });
  // @ts-expect-error the key is a string
  seal(new Uint8Array(4), { a: "b" });
  // @ts-expect-error sealJwe needs a session id
  sealJwe(publicKey, { a: "b" });
  // @ts-expect-error seal returns a string
  const n: number = seal(publicKey, { a: "b" });
  void n;
}

export function errorCode(e: unknown): SealpostErrorCode | undefined {
  if (e instanceof Error && "code" in e) {
    const err = e as SealpostError;
    const name: "SealpostError" = err.name;
    void name;
    const known: SealpostErrorCode = "ERR_KEY_TOO_SMALL";
    return err.code === known ? known : err.code;
  }
  return undefined;
}

export function syncInit(bytes: BufferSource): void {
  initSync({ module: bytes });
  full.initSync({ module: bytes });
  const fp: full.Fingerprint = full.fingerprint("k");
  const ct: string = full.seal("k", { a: "b" });
  void fp;
  void ct;
}
