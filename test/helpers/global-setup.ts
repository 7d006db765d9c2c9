// Before any test: the busybox rootfs tar exists (built once from Debian's busybox-static) and dist/ is built.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { BUSYBOX_TAR, PROJECT_ROOT } from './paths';

export default function setup(): void {
  if (process.getuid?.() !== 0) return; // integration tests skip themselves without root
  if (!fs.existsSync(BUSYBOX_TAR)) {
    fs.mkdirSync(`${PROJECT_ROOT}/test/.cache`, { recursive: true });
    execFileSync('bash', [`${PROJECT_ROOT}/scripts/build-busybox-rootfs.sh`, BUSYBOX_TAR], { stdio: 'inherit' });
  }
}
