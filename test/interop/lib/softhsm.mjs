// A SoftHSM2 token in a temporary folder, for gatepass's PKCS#11 signer:
// the token is initialized and its keys imported with softhsm2-util, as an
// operator would provision a real token, and gatepass only ever sees the
// PKCS11_* settings. Nothing outside the folder is touched.
import { execFile } from "node:child_process";
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** MODULE is the SoftHSM2 PKCS#11 library that scripts/deps.sh installs. */
export const MODULE = "/usr/lib/softhsm/libsofthsm2.so";

const NOT_INSTALLED = "SoftHSM2 is not installed: run scripts/deps.sh softhsm (as root), or apt-get install softhsm2";

function util(args, env) {
  return new Promise((resolve, reject) => {
    execFile("softhsm2-util", args, { env, timeout: 15_000 }, (err, stdout, stderr) => {
      if (err?.code === "ENOENT") reject(new Error(NOT_INSTALLED));
      else if (err) reject(new Error(`softhsm2-util ${args[0]} failed (${err.code ?? err.signal}): ${stderr.trim() || stdout.trim()}`));
      else resolve(stdout);
    });
  });
}

/**
 * createToken initializes a token labelled label with the user PIN pin in
 * a fresh folder, and returns it. The token is removed by remove(), and by
 * t.after when a test context t is given.
 */
export async function createToken(t, { label = "gatepass-interop", pin = "4711", soPin = "8150" } = {}) {
  try {
    accessSync(MODULE, constants.R_OK);
  } catch {
    throw new Error(`${NOT_INSTALLED} (no ${MODULE})`);
  }
  const dir = mkdtempSync(join(tmpdir(), "gatepass-softhsm-"));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  if (t) t.after(remove);
  const tokenDir = join(dir, "tokens");
  mkdirSync(tokenDir);
  const conf = join(dir, "softhsm2.conf");
  writeFileSync(conf, `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const env = { PATH: process.env.PATH, SOFTHSM2_CONF: conf };
  try {
    await util(["--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", soPin], env);
  } catch (err) {
    remove();
    throw err;
  }
  let nextId = 1;
  return {
    label,
    pin,
    remove,
    /**
     * importKey stores a PKCS#8 PEM private key as the key pair keyLabel,
     * with a CKA_ID of its own, which gatepass needs to pair the halves.
     */
    async importKey(pkcs8PEM, keyLabel) {
      const file = join(dir, `${keyLabel}.pk8.pem`);
      writeFileSync(file, pkcs8PEM, { mode: 0o600 });
      const id = (nextId++).toString(16).padStart(4, "0");
      try {
        await util(["--import", file, "--token", label, "--label", keyLabel, "--id", id, "--pin", pin], env);
      } finally {
        rmSync(file, { force: true });
      }
    },
    /** env is what gatepass needs to sign with the key keyLabel of this token. */
    env(keyLabel) {
      return {
        SOFTHSM2_CONF: conf,
        PKCS11_MODULE: MODULE,
        PKCS11_TOKEN_LABEL: label,
        PKCS11_PIN: pin,
        PKCS11_KEY_LABEL: keyLabel,
      };
    },
  };
}
