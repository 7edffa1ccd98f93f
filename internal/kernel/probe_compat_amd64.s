#include "textflag.h"

// System call numbers: asm/unistd_64.h, and for the ia32 call unistd_32.h.
#define SYS_clone 56
#define SYS_rt_sigprocmask 14
#define SYS_rt_sigaction 13
#define SYS_getpid 39
#define SYS_exit_group 231
#define IA32_getpid 20
#define SIGCHLD 17
#define SIGSEGV 11
#define SIG_SETMASK 2

// func compatChild() int64
//
// The frame holds the child's struct sigaction (handler, flags, restorer,
// mask: 32 bytes); the parent never touches it.
TEXT ·compatChild(SB), NOSPLIT, $32-8
	MOVQ $SYS_clone, AX
	MOVQ $SIGCHLD, DI // flags: only the exit signal; a copy of everything
	XORQ SI, SI       // the child runs on (its copy of) this stack
	XORQ DX, DX
	XORQ R10, R10
	XORQ R8, R8
	SYSCALL
	CMPQ AX, $0
	JEQ  child
	MOVQ AX, ret+0(FP) // the pid, or -errno
	RET

child:
	// every signal blocked but SIGSEGV (bit SIGSEGV-1)
	MOVQ $~(1<<(SIGSEGV-1)), BX
	MOVQ BX, 0(SP)
	MOVQ $SYS_rt_sigprocmask, AX
	MOVQ $SIG_SETMASK, DI
	LEAQ 0(SP), SI
	XORQ DX, DX
	MOVQ $8, R10
	SYSCALL

	// SIGSEGV: SIG_DFL, no flags, no restorer, empty mask
	MOVQ $0, 0(SP)
	MOVQ $0, 8(SP)
	MOVQ $0, 16(SP)
	MOVQ $0, 24(SP)
	MOVQ $SYS_rt_sigaction, AX
	MOVQ $SIGSEGV, DI
	LEAQ 0(SP), SI
	XORQ DX, DX
	MOVQ $8, R10
	SYSCALL

	MOVQ $IA32_getpid, AX
	INT  $0x80
	MOVQ AX, R12 // callee-saved across both entries

	MOVQ $SYS_getpid, AX
	SYSCALL
	XORQ DI, DI
	CMPL AX, R12
	JEQ  exit

	// -4095..-1 in 32 bits is an errno; report 1-254, else 255
	MOVL  R12, AX
	NEGL  AX
	MOVQ  $255, DI
	CMPL  AX, $1
	JLT   exit
	CMPL  AX, $254
	JGT   exit
	MOVL  AX, DI

exit:
	MOVQ $SYS_exit_group, AX
	SYSCALL
	JMP  exit
