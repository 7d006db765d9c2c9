// Generated container names, "adjective_noun" as Docker makes them, from our own word lists.
import crypto from 'node:crypto';

const ADJECTIVES = [
  'amber', 'brave', 'calm', 'deft', 'eager', 'fond', 'gentle', 'hardy', 'keen', 'lucid', 'merry', 'nimble',
  'patient', 'quiet', 'rapid', 'steady', 'tidy', 'upbeat', 'vivid', 'wise', 'young', 'zesty', 'bold', 'clever',
];
const NOUNS = [
  'anchor', 'barge', 'buoy', 'cutter', 'dinghy', 'dock', 'ferry', 'galley', 'harbor', 'hull', 'jetty', 'keel',
  'lighthouse', 'mast', 'pier', 'quay', 'rudder', 'schooner', 'sloop', 'tugboat', 'wharf', 'yawl', 'cargo', 'tide',
];

export function generateName(): string {
  const a = ADJECTIVES[crypto.randomInt(ADJECTIVES.length)];
  const n = NOUNS[crypto.randomInt(NOUNS.length)];
  return `${a}_${n}_${crypto.randomInt(100)}`;
}
