import { describe, expect, it } from 'vitest';
import { DEFAULT_CAPABILITIES } from '../spec.js';
import { defaultProfile } from './default.js';
import { defaultSeccomp, seccompFor } from './index.js';
import { nativeArch, parseKernelVersion, parseProfile, toOciSeccomp, type OciSeccomp } from './profile.js';

const HOST = { arch: 'amd64', kernel: [6, 18, 0] };
const caps = (...more: string[]) => [...DEFAULT_CAPABILITIES, ...more];

/** Every (syscall → rules) of an OCI filter, to ask what a syscall gets. */
function rulesOf(oci: OciSeccomp, name: string) {
  return (oci.syscalls ?? []).filter((r) => r.names.includes(name));
}
const allowed = (oci: OciSeccomp, name: string) => rulesOf(oci, name).some((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args);

describe("the default profile (Docker's)", () => {
  const oci = toOciSeccomp(defaultProfile(), { caps: caps(), ...HOST })!;

  it('refuses what it does not list with EPERM, on x86_64 and the 32-bit ABIs', () => {
    expect(oci.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(oci.defaultErrnoRet).toBe(1);
    expect(oci.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    expect(toOciSeccomp(defaultProfile(), { caps: caps(), arch: 'arm64', kernel: [6, 1, 0] })!.architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  });

  it('allows the ordinary syscalls and not the dangerous ones', () => {
    for (const s of ['read', 'write', 'openat', 'execve', 'clone3', 'futex', 'epoll_wait', 'io_uring_setup', 'arch_prctl', 'modify_ldt', 'ptrace']) {
      expect(rulesOf(oci, s).length, s).toBeGreaterThan(0);
    }
    for (const s of ['read', 'write', 'openat', 'execve', 'arch_prctl', 'ptrace', 'mknod', 'chown']) expect(allowed(oci, s), s).toBe(true);
    for (const s of ['mount', 'umount2', 'pivot_root', 'reboot', 'kexec_load', 'init_module', 'finit_module', 'keyctl', 'add_key', 'unshare', 'setns', 'clock_settime', 'sethostname', 'bpf', 'open_by_handle_at', 'swapon', 'acct', 'iopl']) {
      expect(allowed(oci, s), s).toBe(false);
    }
    // ppc, arm, s390 and riscv only syscalls are not in an x86_64 filter
    for (const s of ['sync_file_range2', 'breakpoint', 's390_runtime_instr', 'riscv_flush_icache']) expect(rulesOf(oci, s), s).toEqual([]);
  });

  it('lets clone through only without namespace flags, and sends clone3 to clone with ENOSYS', () => {
    expect(rulesOf(oci, 'clone')).toEqual([{ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, op: 'SCMP_CMP_MASKED_EQ' }] }]);
    expect(rulesOf(oci, 'clone3')).toEqual([{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }]);
  });

  it('conditions personality and socket on their first argument', () => {
    expect(rulesOf(oci, 'personality').map((r) => r.args![0].value)).toEqual([0, 8, 0x20000, 0x20008, 0xffffffff]);
    expect(rulesOf(oci, 'socket')).toEqual([{ names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }] }]);
  });

  it('unlocks syscalls with the capabilities that make them safe to have', () => {
    const admin = toOciSeccomp(defaultProfile(), { caps: caps('CAP_SYS_ADMIN'), ...HOST })!;
    for (const s of ['mount', 'umount2', 'unshare', 'setns', 'sethostname', 'clone', 'clone3', 'fsopen', 'bpf']) expect(allowed(admin, s), s).toBe(true);
    // with CAP_SYS_ADMIN the conditional clone and the ENOSYS clone3 are gone
    expect(rulesOf(admin, 'clone').every((r) => !r.args)).toBe(true);
    expect(rulesOf(admin, 'clone3').every((r) => r.action === 'SCMP_ACT_ALLOW')).toBe(true);
    expect(allowed(admin, 'reboot')).toBe(false);
    const more = toOciSeccomp(defaultProfile(), { caps: caps('CAP_SYS_BOOT', 'CAP_SYS_TIME', 'CAP_SYS_MODULE', 'CAP_SYS_PTRACE', 'CAP_DAC_READ_SEARCH'), ...HOST })!;
    for (const s of ['reboot', 'clock_settime', 'settimeofday', 'init_module', 'finit_module', 'kcmp', 'pidfd_getfd', 'open_by_handle_at']) expect(allowed(more, s), s).toBe(true);
    expect(allowed(more, 'mount')).toBe(false);
  });

  it('drops ptrace on kernels older than 4.8 unless CAP_SYS_PTRACE', () => {
    expect(allowed(toOciSeccomp(defaultProfile(), { caps: caps(), arch: 'amd64', kernel: [4, 4, 0] })!, 'ptrace')).toBe(false);
    expect(allowed(toOciSeccomp(defaultProfile(), { caps: caps('CAP_SYS_PTRACE'), arch: 'amd64', kernel: [4, 4, 0] })!, 'ptrace')).toBe(true);
  });

  it('is computed once per capability set', () => {
    expect(defaultSeccomp(caps())).toBe(defaultSeccomp([...caps()].reverse()));
    expect(defaultSeccomp(caps('CAP_SYS_ADMIN'))).not.toBe(defaultSeccomp(caps()));
  });
});

describe('seccompFor: what a container runs with', () => {
  it('the default, builtin, none for unconfined and privileged', () => {
    expect(seccompFor({}, caps())).toBe(defaultSeccomp(caps()));
    expect(seccompFor({ seccomp_profile: 'builtin' }, caps())).toBe(defaultSeccomp(caps()));
    expect(seccompFor({ seccomp_profile: 'unconfined' }, caps())).toBeUndefined();
    expect(seccompFor({ privileged: true }, caps())).toBeUndefined();
    expect(seccompFor({ privileged: true, seccomp_profile: '{"defaultAction":"SCMP_ACT_ALLOW"}' }, caps())).toBeUndefined();
  });

  it('a custom profile in Docker\'s format, with names, archMap and conditions', () => {
    const profile = JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] }],
      syscalls: [
        { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
        { name: 'chmod', action: 'SCMP_ACT_ERRNO' },
        { names: ['mount'], action: 'SCMP_ACT_ERRNO', excludes: { caps: ['CAP_SYS_ADMIN'] } },
      ],
    });
    const oci = seccompFor({ seccomp_profile: profile }, caps())!;
    expect(oci.defaultAction).toBe('SCMP_ACT_ALLOW');
    if (nativeArch() === 'amd64') expect(oci.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']);
    expect(oci.syscalls).toEqual([
      { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
      { names: ['chmod'], action: 'SCMP_ACT_ERRNO' },
      { names: ['mount'], action: 'SCMP_ACT_ERRNO' },
    ]);
    expect(seccompFor({ seccomp_profile: profile }, caps('CAP_SYS_ADMIN'))!.syscalls).toHaveLength(2);
    // Go's decoder matches keys case-insensitively
    expect(seccompFor({ seccomp_profile: '{"DefaultAction":"SCMP_ACT_LOG"}' }, caps())!.defaultAction).toBe('SCMP_ACT_LOG');
  });

  it("refuses bad profiles with Docker's words", () => {
    const bad = (p: string) => () => seccompFor({ seccomp_profile: p }, caps());
    expect(bad('{not json')).toThrow(/^Decoding seccomp profile failed: /);
    expect(bad('[]')).toThrow('Decoding seccomp profile failed: json: cannot unmarshal array into Go value of type seccomp.Seccomp');
    expect(bad('{"defaultAction":5}')).toThrow('Decoding seccomp profile failed: json: cannot unmarshal number into Go struct field Seccomp.defaultAction of type string');
    expect(bad('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":{}}')).toThrow(/cannot unmarshal object into Go struct field Seccomp.syscalls/);
    expect(bad('{"defaultAction":"SCMP_ACT_BOGUS"}')).toThrow('unknown action "SCMP_ACT_BOGUS"');
    expect(bad('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"SCMP_ACT_ERRNO","args":[{"index":9,"value":1,"op":"SCMP_CMP_EQ"}]}]}')).toThrow(/Arg.index/);
    expect(bad('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_LIKE"}]}]}')).toThrow('unknown operator "SCMP_CMP_LIKE"');
    expect(bad('{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}')).toThrow(
      "'architectures' and 'archMap' were specified in the seccomp profile, use either 'architectures' or 'archMap'",
    );
    expect(bad('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"a","names":["b"],"action":"SCMP_ACT_ERRNO"}]}')).toThrow(
      "'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'",
    );
    // a document with neither a default action nor syscalls means no filter, as in Docker
    expect(seccompFor({ seccomp_profile: '{}' }, caps())).toBeUndefined();
  });

  it('reads kernel versions and architectures as Docker names them', () => {
    expect(parseKernelVersion('6.18.44-fc-v595')).toEqual([6, 18, 44]);
    expect(parseKernelVersion('5.4')).toEqual([5, 4, 0]);
    expect(nativeArch('x64')).toBe('amd64');
    expect(nativeArch('ia32')).toBe('x86');
    expect(nativeArch('ppc64', true)).toBe('ppc64le');
    expect(() => parseProfile('{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/x.sock"}')).toThrow(/not supported/);
  });
});
