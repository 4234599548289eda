/* Calls the dangerous syscall named by argv[1] with harmless arguments;
 * the jail must kill the run and name the call. */
#include "hostile.h"
#include <sched.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		long nr;
	} calls[] = {
		{"ptrace", SYS_ptrace}, {"process_vm_readv", SYS_process_vm_readv},
		{"process_vm_writev", SYS_process_vm_writev}, {"bpf", SYS_bpf},
		{"mount", SYS_mount}, {"umount2", SYS_umount2}, {"pivot_root", SYS_pivot_root},
		{"chroot", SYS_chroot}, {"unshare", SYS_unshare}, {"setns", SYS_setns},
		{"keyctl", SYS_keyctl}, {"add_key", SYS_add_key}, {"request_key", SYS_request_key},
		{"perf_event_open", SYS_perf_event_open}, {"userfaultfd", SYS_userfaultfd},
		{"kexec_load", SYS_kexec_load}, {"init_module", SYS_init_module},
		{"finit_module", SYS_finit_module}, {"delete_module", SYS_delete_module},
		{"seccomp", SYS_seccomp}, {"open_tree", SYS_open_tree}, {"fsopen", SYS_fsopen},
		{"pidfd_open", SYS_pidfd_open}, {"kcmp", SYS_kcmp}, {"reboot", SYS_reboot},
		{"swapon", SYS_swapon}, {"iopl", SYS_iopl}, {"ioperm", SYS_ioperm},
		{"modify_ldt", SYS_modify_ldt}, {"name_to_handle_at", SYS_name_to_handle_at},
		{"open_by_handle_at", SYS_open_by_handle_at}, {"tkill", SYS_tkill},
		{"rt_sigqueueinfo", SYS_rt_sigqueueinfo}, {"sethostname", SYS_sethostname},
		{"fork", SYS_fork}, {"vfork", SYS_vfork}, {"execve", SYS_execve},
	};
	for (unsigned i = 0; i < sizeof calls / sizeof calls[0]; i++) {
		if (strcmp(argv[1], calls[i].name) == 0) {
			REPORT(argv[1], syscall(calls[i].nr, 0, 0, 0, 0, 0, 0));
			return 0;
		}
	}
	printf("unknown %s\n", argv[1]);
	return 2;
}
