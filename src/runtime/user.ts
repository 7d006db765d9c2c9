// Resolves Docker's User field ("name", "uid", "name:group", "uid:gid") against the container's
// own /etc/passwd and /etc/group text, as Docker does: numbers need no entry, names must have one.
import { invalidArgument } from '../errors';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

interface PasswdEntry { name: string; uid: number; gid: number; home: string }
interface GroupEntry { name: string; gid: number; members: string[] }

const NUMBER = /^[0-9]+$/;
const MAX_ID = 2 ** 32 - 2;

export function parsePasswd(text: string): PasswdEntry[] {
  return text.split('\n').flatMap((line) => {
    const f = line.split(':');
    if (f.length < 7 || !NUMBER.test(f[2]) || !NUMBER.test(f[3])) return [];
    return [{ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] }];
  });
}

export function parseGroup(text: string): GroupEntry[] {
  return text.split('\n').flatMap((line) => {
    const f = line.split(':');
    if (f.length < 4 || !NUMBER.test(f[2])) return [];
    return [{ name: f[0], gid: Number(f[2]), members: f[3] ? f[3].split(',') : [] }];
  });
}

function numeric(field: string, spec: string, text: string): number {
  const n = Number(text);
  if (n > MAX_ID) throw invalidArgument(field, spec, `id ${text} is out of range`);
  return n;
}

export function resolveUser(spec: string, passwdText: string, groupText: string, field = 'config.user'): ResolvedUser {
  const passwd = parsePasswd(passwdText);
  const groups = parseGroup(groupText);
  const [userPart, groupPart] = (spec || '0').split(':', 2);

  let entry: PasswdEntry | undefined;
  let uid: number;
  if (NUMBER.test(userPart)) {
    uid = numeric(field, spec, userPart);
    entry = passwd.find((p) => p.uid === uid);
  } else {
    entry = passwd.find((p) => p.name === userPart);
    if (!entry) throw invalidArgument(field, spec, `no user "${userPart}" in the container's /etc/passwd`);
    uid = entry.uid;
  }

  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined) {
    if (NUMBER.test(groupPart)) gid = numeric(field, spec, groupPart);
    else {
      const group = groups.find((g) => g.name === groupPart);
      if (!group) throw invalidArgument(field, spec, `no group "${groupPart}" in the container's /etc/group`);
      gid = group.gid;
    }
  }
  // Supplementary groups come from /etc/group membership, only when the group was not forced.
  const additionalGids = entry && groupPart === undefined
    ? groups.filter((g) => g.members.includes(entry!.name) && g.gid !== gid).map((g) => g.gid)
    : [];
  return { uid, gid, additionalGids, home: entry?.home || '/' };
}
