// Where the tests find the project's built pieces.
import path from 'node:path';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const BUSYBOX_TAR = path.join(PROJECT_ROOT, 'test', '.cache', 'busybox.tar');
export const BERTHD = path.join(PROJECT_ROOT, 'dist', 'src', 'main.js');
export const BERTH_CLI = path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js');
export const IS_ROOT = process.getuid?.() === 0;
