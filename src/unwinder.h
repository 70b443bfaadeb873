/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unwinder.h - async-signal-safe stack capture: DWARF CFI rules compiled
 * ahead of time (cfi.h) where a module has them, frame pointers where it
 * does not. Design: docs/internals/unwind.md.
 */
#ifndef CP_UNWINDER_H
#define CP_UNWINDER_H

#include <stddef.h>
#include <stdint.h>
#include <ucontext.h>

enum cp_unwind_mode {
    CP_UNWIND_AUTO = 0, /* CFI rules, frame pointers where none */
    CP_UNWIND_FP = 1    /* frame pointers only (gperftools/Go style) */
};

/* Set once at start (CPROF_UNWIND=fp|dwarf); read by the handler. */
extern int cp_unwind_mode;

/* Machine state to start from. */
struct cp_regs {
    uintptr_t pc, sp, fp;
};

/*
 * Unwind from regs, storing at most max PCs into pcs, leaf first. Frames
 * after the first are return addresses minus one (they point into the
 * call instruction, which is what symbolization wants); a frame right
 * after a signal frame is an exact PC again. Memory is read only within
 * [regs->sp, stack_hi), so no read can fault; stack_hi 0 means unknown:
 * then only the leaf PC is returned. *truncated is set when the stack had
 * more than max frames.
 * Returns the number of PCs stored (>= 1 when regs->pc is non-zero).
 * Async-signal-safe: yes. Reentrant: yes.
 */
int cp_unwind(const struct cp_regs *regs, uintptr_t stack_hi, uintptr_t *pcs,
              int max, int *truncated);

/*
 * As cp_unwind, for a stack the caller copied from another thread (a
 * thread stopped in a system call, whose stack is read with
 * process_vm_readv so no read can fault): copy holds len bytes of that
 * thread's memory from regs->sp up, and the walk stays inside them. With
 * fp_known 0, regs->fp is unknown (/proc/self/task/TID/syscall gives SP
 * and PC only): the first frame that needs RBP takes the nearest frame
 * record above SP (saved RBP, then a return address into a loaded module).
 * Async-signal-safe: yes. Reentrant: yes.
 */
int cp_unwind_copy(const struct cp_regs *regs, int fp_known, const void *copy,
                   size_t len, uintptr_t *pcs, int max, int *truncated);

/* Registers of an interrupted context (the handler's ucontext). */
void cp_regs_from_ucontext(struct cp_regs *r, const ucontext_t *uc);

/*
 * Unwind the calling thread from its caller: pcs[0] is the return address
 * into whoever called the function that calls this (skip more with
 * `skip`). Uses the calling thread's stack bounds.
 * Async-signal-safe: yes.
 */
int cp_unwind_here(uintptr_t *pcs, int max, int skip);

/*
 * How many signal frames lie between the caller and the bottom of its
 * stack: > 0 when it runs inside a signal handler (or a function a handler
 * called). Needs compiled CFI (cp_modules_refresh(true)) to see glibc's
 * __restore_rt; returns 0 without it. Async-signal-safe: yes.
 */
int cp_unwind_signal_frames(void);

/*
 * The memory region containing sp, found by reading /proc/self/maps with
 * raw system calls (open/read/close), for threads cprof did not create:
 * returns its upper end and stores its start in *lo; 0 when not found.
 * Async-signal-safe: yes (slow: call once per thread and cache).
 */
uintptr_t cp_stack_region(uintptr_t sp, uintptr_t *lo);

#endif /* CP_UNWINDER_H */
