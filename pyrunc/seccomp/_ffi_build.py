"""Generates ``_seccomp_ffi.py``, the pre-parsed cffi description of the libseccomp API we use.

Same scheme as ``pyrunc/linux/_ffi_build.py``: cffi's out-of-line ABI mode parses CDEF once,
here, and writes a small pure-Python module that needs only ``_cffi_backend`` at run time.
Nothing is compiled and no libseccomp headers are needed: the system's ``libseccomp.so.2`` is
dlopen'ed by ``pyrunc.seccomp`` when (and only when) a config has a seccomp profile.
``tests/unit/test_seccomp_ffi.py`` checks the committed module is up to date with CDEF.

The declarations follow libseccomp 2.5's <seccomp.h> (enums are spelled ``int``: same ABI).

Regenerate after editing CDEF:  python3 -m pyrunc.seccomp._ffi_build
"""

CDEF = r"""
typedef void *scmp_filter_ctx;
typedef uint64_t scmp_datum_t;

struct scmp_version { unsigned int major; unsigned int minor; unsigned int micro; };
struct scmp_arg_cmp { unsigned int arg; int op; scmp_datum_t datum_a; scmp_datum_t datum_b; };

const struct scmp_version *seccomp_version(void);
unsigned int seccomp_api_get(void);

scmp_filter_ctx seccomp_init(uint32_t def_action);
void seccomp_release(scmp_filter_ctx ctx);
int seccomp_attr_set(scmp_filter_ctx ctx, int attr, uint32_t value);

uint32_t seccomp_arch_resolve_name(const char *arch_name);
uint32_t seccomp_arch_native(void);
int seccomp_arch_exist(const scmp_filter_ctx ctx, uint32_t arch_token);
int seccomp_arch_add(scmp_filter_ctx ctx, uint32_t arch_token);

int seccomp_syscall_resolve_name(const char *name);
int seccomp_syscall_resolve_name_arch(uint32_t arch_token, const char *name);

int seccomp_rule_add_array(scmp_filter_ctx ctx, uint32_t action, int syscall,
                           unsigned int arg_cnt, const struct scmp_arg_cmp *arg_array);

int seccomp_export_bpf(const scmp_filter_ctx ctx, int fd);
int seccomp_export_pfc(const scmp_filter_ctx ctx, int fd);

struct sock_filter { uint16_t code; uint8_t jt; uint8_t jf; uint32_t k; };
struct sock_fprog { unsigned short len; struct sock_filter *filter; };
"""


def build(outdir=None):
    import os
    from pyrunc.linux._ffi_build import emit
    return emit(CDEF, "_seccomp_ffi", os.path.dirname(os.path.abspath(__file__)),
                "pyrunc/seccomp/_ffi_build.py", outdir)


if __name__ == "__main__":
    build()
