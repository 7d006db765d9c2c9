import { describe, expect, it } from 'vitest';
import { execFailure, stepFailure } from './manager';

describe('failed steps as errors', () => {
  const failed = (step: string, code: string) => ({ type: 'failed' as const, step, code, message: `${step}: ${code}` });

  it("a working directory or sysctl the request names is its fault; the container's files in the way are a precondition", () => {
    expect(stepFailure('start', failed('mkdir cwd', 'ENOTDIR')).kind).toBe('InvalidArgument');
    expect(stepFailure('exec', failed('chdir', 'ENOENT')).kind).toBe('InvalidArgument');
    expect(stepFailure('start', failed('sysctl net.ipv4.nope', 'ENOENT')).kind).toBe('InvalidArgument');
    expect(stepFailure('start', failed('mask /proc/keys', 'ENODEV')).kind).toBe('FailedPrecondition');
    expect(stepFailure('start', failed('mount /etc/hosts', 'ELOOP')).kind).toBe('FailedPrecondition');
    expect(stepFailure('start', failed('pivot_root', 'EINVAL')).kind).toBe('Internal');
    expect(stepFailure('start', failed('seccomp', 'EINVAL')).message).toBe('start: seccomp: EINVAL');
  });

  it('a busy program file is the request\'s to retry, not ours', () => {
    expect(execFailure('exec', '/bin/x', failed('exec', 'ETXTBSY')).kind).toBe('InvalidArgument');
    expect(execFailure('exec', '/bin/x', failed('exec', 'ENOMEM')).kind).toBe('Internal');
  });
});
